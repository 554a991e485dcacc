/**
 * The poller: every server's replication state, the read endpoint's view, once a second. Which
 * servers there are is the desired topology table's answer, read on every poll, so a server the lab
 * adds is polled within a second of its row being written, without a new config or container.
 */
import * as http from "node:http";
import { type Conn, close, connect, describeError, rows } from "./db";
import { findSource, mariadbMissing, mysqlMissing, parseHaproxyCsv, serverIndexes, serverTarget } from "./pure";
import type { DemoAppConfig, EndpointState, LabState, ReplicationState, ServerState } from "./types";

type Row = Record<string, unknown>;

/** The first column of `names` the row has (MySQL renamed master/slave columns; MariaDB kept them). */
const pick = (row: Row, ...names: string[]) => names.map((n) => row[n]).find((v) => v !== undefined);
const yes = (v: unknown) => String(v ?? "").toLowerCase() === "yes";

interface Observed {
    state: ServerState;
    gtid: string | null;
    desired: Row[] | null;
}

export class Monitor {
    private readonly conns = new Map<string, Conn>();
    private readonly replicaStatusSql = new Map<string, string>();
    private last: LabState | null = null;
    readonly answered: Record<string, number> = {};

    /** The servers polled, by index: the desired topology's, as last read. */
    private indexes: number[] = [];

    constructor(private readonly config: DemoAppConfig, private readonly connectTo: typeof connect = connect) {}

    get latest(): LabState | null {
        return this.last;
    }

    /** One poll of every server and the endpoint. */
    async poll(writesTo: string | null): Promise<LabState> {
        if (this.indexes.length === 0) this.indexes = await this.discover();
        const [observed, endpoint] = await Promise.all([
            Promise.all(this.indexes.map((i) => this.observe(serverTarget(this.config, i)))),
            this.endpoint(),
        ]);
        const source = findSource(observed.map((o) => o.state));
        const desired = (observed.find((o) => o.state.name === source) ?? observed.find((o) => o.desired))?.desired ?? null;
        if (desired) this.follow(serverIndexes(desired));
        const sourceGtid = observed.find((o) => o.state.name === source)?.gtid ?? null;
        const servers = observed.map((o) => withDesired(withMissing(o, sourceGtid, this.config.flavor), desired));
        this.last = {
            at: new Date().toISOString(), flavor: this.config.flavor, database: this.config.database,
            servers, readEndpoint: endpoint, answered: { ...this.answered }, source, writesTo,
        };
        return this.last;
    }

    /** Before any server is known: the desired topology through the read endpoint (every server holds it). */
    private async discover(): Promise<number[]> {
        let c: Conn | undefined;
        try {
            c = await this.connectTo(this.config.readEndpoint, this.config.monitor);
            return serverIndexes(await rows(c, `SELECT server_index FROM ${this.config.desiredTable}`));
        } catch {
            return [];
        } finally {
            close(c);
        }
    }

    /** The next polls' servers; connections to servers the lab no longer has are closed. */
    private follow(indexes: number[]): void {
        if (indexes.length === 0) return;
        const kept = new Set(indexes.map((i) => serverTarget(this.config, i).name));
        for (const [name, c] of this.conns) {
            if (kept.has(name)) continue;
            close(c);
            this.conns.delete(name);
        }
        this.indexes = indexes;
    }

    private async observe(s: ReturnType<typeof serverTarget>): Promise<Observed> {
        const base = { index: s.index, name: s.name };
        try {
            let c = this.conns.get(s.name);
            if (!c) {
                c = await this.connectTo(s, this.config.monitor);
                this.conns.set(s.name, c);
            }
            return await this.read(c, base);
        } catch (err) {
            close(this.conns.get(s.name));
            this.conns.delete(s.name);
            return { state: unreachable(base, describeError(err)), gtid: null, desired: null };
        }
    }

    private async read(c: Conn, base: { index: number; name: string }): Promise<Observed> {
        const mysqlFlavor = this.config.flavor === "mysql";
        const [v] = await rows(c, mysqlFlavor
            ? "SELECT @@server_id AS id, @@version AS version, @@read_only AS ro, @@super_read_only AS sro, @@global.gtid_executed AS gtid"
            : "SELECT @@server_id AS id, @@version AS version, @@read_only AS ro, NULL AS sro, @@global.gtid_current_pos AS gtid");
        const channel = (await this.replicaStatus(c, base.name))[0];
        const semi = await rows(c, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%_status'");
        const desired = await rows(c, `SELECT server_index, role, delay_seconds, left_out FROM ${this.config.desiredTable}`).catch(() => null);
        const sourceHost = channel ? String(pick(channel, "Source_Host", "Master_Host") ?? "") : "";
        const replication: ReplicationState | null = sourceHost === "" ? null : {
            sourceHost,
            ioRunning: yes(pick(channel!, "Replica_IO_Running", "Slave_IO_Running")),
            sqlRunning: yes(pick(channel!, "Replica_SQL_Running", "Slave_SQL_Running")),
            secondsBehind: numberOrNull(pick(channel!, "Seconds_Behind_Source", "Seconds_Behind_Master")),
            missingTransactions: null,
            delaySeconds: Number(pick(channel!, "SQL_Delay") ?? 0),
            lastError: String(pick(channel!, "Last_IO_Error") || pick(channel!, "Last_SQL_Error") || "") || null,
        };
        const readOnly = Number(v.ro) === 1;
        const status = (suffix: string) => semi.find((r) => String(r.Variable_name).toLowerCase().endsWith(suffix));
        const semiSource = status("master_status") ?? status("source_status");
        const semiReplica = status("slave_status") ?? status("replica_status");
        return {
            gtid: String(v.gtid ?? "").replace(/\s+/g, ""),
            desired,
            state: {
                ...base, reachable: true, error: null, serverId: Number(v.id), version: String(v.version),
                configuredRole: null,
                observedRole: replication ? "replica" : readOnly ? "unknown" : "source",
                readOnly, superReadOnly: v.sro === null || v.sro === undefined ? null : Number(v.sro) === 1,
                replication,
                semiSync: semiSource || semiReplica ? { sourceOn: yes(semiSource?.Value), replicaOn: yes(semiReplica?.Value) } : null,
                leftOut: null,
            },
        };
    }

    /** SHOW REPLICA STATUS, or SHOW SLAVE STATUS on a server too old for it (remembered per server). */
    private async replicaStatus(c: Conn, name: string): Promise<Row[]> {
        const sql = this.replicaStatusSql.get(name) ?? "SHOW REPLICA STATUS";
        try {
            return await rows(c, sql);
        } catch (err) {
            if ((err as { errno?: number }).errno !== 1064 || sql !== "SHOW REPLICA STATUS") throw err;
            this.replicaStatusSql.set(name, "SHOW SLAVE STATUS");
            return rows(c, "SHOW SLAVE STATUS");
        }
    }

    private async endpoint(): Promise<EndpointState> {
        const host = this.config.readEndpoint.host;
        try {
            return { host, backends: parseHaproxyCsv(await getText(this.config.readEndpoint.statsUrl, 1000)), error: null };
        } catch (err) {
            return { host, backends: [], error: `stats unreadable: ${describeError(err)}` };
        }
    }
}

/**
 * GET on a new connection each time: a switchover replaces the proxy's container, and a kept-alive
 * connection to the old one would hang until its timeout.
 */
function getText(url: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on("error", reject);
    });
}

function unreachable(base: { index: number; name: string }, error: string): ServerState {
    return {
        ...base, reachable: false, error, serverId: null, version: null, configuredRole: null, observedRole: "unknown",
        readOnly: null, superReadOnly: null, replication: null, semiSync: null, leftOut: null,
    };
}

function numberOrNull(v: unknown): number | null {
    return v === null || v === undefined || v === "" ? null : Number(v);
}

function withMissing(o: Observed, sourceGtid: string | null, flavor: DemoAppConfig["flavor"]): ServerState {
    const r = o.state.replication;
    if (!r || sourceGtid === null || o.gtid === null) return o.state;
    const missing = flavor === "mysql" ? mysqlMissing(sourceGtid, o.gtid) : mariadbMissing(sourceGtid, o.gtid);
    return { ...o.state, replication: { ...r, missingTransactions: missing } };
}

/** The configured role and left-out reason, from the lab's desired topology table. */
export function withDesired(s: ServerState, desired: Row[] | null): ServerState {
    const row = desired?.find((d) => Number(d.server_index) === s.index);
    if (!row) return s;
    return { ...s, configuredRole: row.role === "source" ? "source" : "replica", leftOut: row.left_out ? String(row.left_out) : null };
}
