/**
 * Reads through the read endpoint and writes on the source, as the app account. The source is never
 * taken from config: it is whichever server the monitor finds writable, found again when a write fails.
 */
import { type Conn, close, connect, describeError, rows } from "./db";
import type { Monitor } from "./monitor";
import type { DemoAppConfig, InformationRow, ServedBy } from "./types";

/** How long a write keeps looking for a source before it gives up (a switchover fences for about a second). */
export const WRITE_RETRY_MS = 3000;
/** How long a read-your-writes read waits for the answering replica to apply the write. */
export const WAIT_SECONDS = 5;
const NEWEST = 20;

/** Errors after which another server may be the source: read-only (1290, 1836), or the server gone. */
export function sourceMayHaveMoved(err: unknown): boolean {
    const e = err as { errno?: number; code?: string; fatal?: boolean };
    return e.errno === 1290 || e.errno === 1836 || e.fatal === true ||
        ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "PROTOCOL_CONNECTION_LOST"].includes(e.code ?? "");
}

export class HttpError extends Error {
    constructor(readonly status: number, message: string) {
        super(message);
    }
}

export class Data {
    /** The pooled read connection: HAProxy balances connections, so its answers stick to one replica. */
    private pooled: Promise<Conn> | undefined;

    constructor(private readonly config: DemoAppConfig, private readonly monitor: Monitor, private readonly findSource: (again: boolean) => Promise<string | null>,
        private readonly sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))) {}

    private get table(): string {
        return `\`${this.config.database}\`.\`${this.config.table}\``;
    }

    /** The newest rows, through the read endpoint, and who answered. */
    async information(fresh: boolean): Promise<{ servedBy: ServedBy; rows: InformationRow[] }> {
        const c = fresh ? await this.readConnection() : await this.pooledConnection();
        try {
            const found = await rows(c, `SELECT id, name, address, created_at FROM ${this.table} ORDER BY id DESC LIMIT ${NEWEST}`);
            return { servedBy: await this.servedBy(c), rows: found.map(toRow) };
        } catch (err) {
            if (!fresh) this.pooled = undefined;
            close(c);
            throw err;
        } finally {
            if (fresh) close(c);
        }
    }

    /** Inserts on the current source; the id and the transaction's GTID. */
    async add(fields: { name: string; address: string }): Promise<{ id: number; gtid: string; source: string }> {
        const deadline = Date.now() + WRITE_RETRY_MS;
        let why = "no server is writable";
        for (let attempt = 0; ; attempt++) {
            // After a failure, look again at once rather than at the next poll.
            const source = await this.findSource(attempt > 0);
            if (source !== null) {
                try {
                    return { ...(await this.insertOn(source, fields)), source };
                } catch (err) {
                    if (!sourceMayHaveMoved(err)) throw err;
                    why = `${source}: ${describeError(err)}`;
                }
            }
            if (Date.now() >= deadline) throw new HttpError(503, `no writable source within ${WRITE_RETRY_MS} ms (${why})`);
            await this.sleep(100);
        }
    }

    /** Reads a row back on a new connection through the endpoint, once that server has applied `gtid`. */
    async readBack(id: number, gtid: string): Promise<{ servedBy: ServedBy; waitedMs: number; row: InformationRow }> {
        const c = await this.readConnection();
        try {
            const started = Date.now();
            const wait = this.config.flavor === "mysql"
                ? "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r" // 0 applied, 1 timed out
                : "SELECT MASTER_GTID_WAIT(?, ?) AS r"; // 0 applied, -1 timed out
            const [{ r }] = await rows<{ r: number }>(c, wait, [gtid, WAIT_SECONDS]);
            const servedBy = await this.servedBy(c);
            if (Number(r) !== 0) throw new HttpError(504, `${servedBy.name} had not applied ${gtid} within ${WAIT_SECONDS} s`);
            const waitedMs = Date.now() - started;
            const [row] = await rows(c, `SELECT id, name, address, created_at FROM ${this.table} WHERE id = ?`, [id]);
            if (!row) throw new HttpError(500, `${servedBy.name} applied ${gtid} but has no row ${id}`);
            return { servedBy, waitedMs, row: toRow(row) };
        } finally {
            close(c);
        }
    }

    private async insertOn(source: string, f: { name: string; address: string }): Promise<{ id: number; gtid: string }> {
        // A server's name is its container's, which is how the lab's network reaches it.
        const c = await connect({ host: source, port: this.config.serverPort }, this.config.app, 1000);
        try {
            if (this.config.flavor === "mysql") {
                // The server sends the transaction's GTID back with the OK packet.
                await c.query("SET SESSION session_track_gtids = OWN_GTID");
                const [res] = await c.query(`INSERT INTO ${this.table} (name, address) VALUES (?, ?)`, [f.name, f.address]);
                const r = res as { insertId: number; stateChanges?: { gtids?: string[] } };
                return { id: r.insertId, gtid: r.stateChanges?.gtids?.[0] ?? "" };
            }
            const [res] = await c.query(`INSERT INTO ${this.table} (name, address) VALUES (?, ?)`, [f.name, f.address]);
            const [{ g }] = await rows<{ g: string }>(c, "SELECT @@last_gtid AS g");
            return { id: (res as { insertId: number }).insertId, gtid: g };
        } finally {
            close(c);
        }
    }

    /** One promise, so concurrent first reads share one connection; a failed connect is tried again next time. */
    private pooledConnection(): Promise<Conn> {
        this.pooled ??= this.readConnection().catch((err) => {
            this.pooled = undefined;
            throw err;
        });
        return this.pooled;
    }

    private readConnection(): Promise<Conn> {
        return connect(this.config.readEndpoint, this.config.app, 2000, this.config.database);
    }

    /** Who answered on `c`: from the server itself, with its role and lag as last polled. */
    private async servedBy(c: Conn): Promise<ServedBy> {
        const [me] = await rows(c, "SELECT @@hostname AS host, @@server_id AS id, @@read_only AS ro");
        const known = this.monitor.latest?.servers.find((s) => s.serverId === Number(me.id) || s.name === me.host);
        const name = known?.name ?? String(me.host);
        this.monitor.answered[name] = (this.monitor.answered[name] ?? 0) + 1;
        return {
            name, serverId: Number(me.id), role: known?.observedRole ?? "unknown", readOnly: Number(me.ro) === 1,
            secondsBehind: known?.replication?.secondsBehind ?? null,
        };
    }
}

function toRow(r: Record<string, unknown>): InformationRow {
    return { id: Number(r.id), name: String(r.name), address: String(r.address), createdAt: String(r.created_at) };
}
