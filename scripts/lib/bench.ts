/**
 * `npm run bench`: a bounded load run against the lab's published loopback ports.
 *
 * - Writers: N connections as the app user on the source, each inserting rows into `_lab_bench`.
 * - Readers: M connections as the read-only user through the read endpoint, each doing point selects
 *   (`SELECT @@server_id, (SELECT id FROM _lab_bench WHERE id = ?)`) and counting who answered. The
 *   endpoint balances TCP connections, not queries, so a reader reconnects every `reconnectEvery`
 *   queries; the spread is reported per query and per connection.
 * - Lag: a heartbeat connection inserts a row into `_lab_heartbeat` on the source every 100 ms and notes
 *   when the source acknowledged it (the bench's own monotonic clock, so no server clocks are compared).
 *   Every 250 ms each replica is asked for the newest heartbeat it has and for SHOW REPLICA STATUS.
 *   Heartbeat lag = how long the oldest heartbeat the replica does not have yet had been acknowledged by
 *   the source when the sample was taken (0 when it has them all). It is a lower bound on the replica's
 *   delay, at most one heartbeat interval (plus one round trip) below it. Seconds_Behind_* is recorded
 *   next to it: whole seconds, as the server computes it from event timestamps.
 *
 * Heartbeats are extra writes, not counted in the write throughput. `--rate` caps writes and reads
 * together, spread evenly over the connections.
 */
import { performance } from "node:perf_hooks";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Connection } from "mysql2/promise";
import { sleep } from "../../components/replication/connection";
import * as sql from "../../components/replication/sql";
import { writeLagSvg } from "./chart";
import { writeCsv } from "./csv";
import { close, isLoopbackHost, open, query, serverVersion } from "./db";
import {
    LabOutputs, LabServer, MysqlUrl, UsageError, formatEndpoint, labServers, parseEndpoint, parseMysqlUrl, redact, requireApp,
} from "./outputs";
import { Summary, summarise } from "./stats";
import { Column, formatTable } from "./table";

export const BENCH_TABLE = "_lab_bench";
export const HEARTBEAT_TABLE = "_lab_heartbeat";
/** Longest run the bench accepts, in seconds. */
export const MAX_DURATION_S = 600;

export interface BenchOptions {
    readonly writers: number;
    readonly readers: number;
    /** Seconds. */
    readonly durationS: number;
    /** Cap on writes + reads per second, all connections together; undefined for none. */
    readonly rate?: number;
    /** Reader queries per connection before it reconnects through the endpoint; 0 keeps one connection. */
    readonly reconnectEvery: number;
    readonly outDir: string;
    /** Milliseconds between lag samples on each replica. */
    readonly sampleMs: number;
    /** Milliseconds between heartbeats. */
    readonly heartbeatMs: number;
    /** "bar" (cli-progress, for a TTY), "lines" (a plain line every 5 s) or "none". */
    readonly progress: "bar" | "lines" | "none";
}

export const DEFAULT_OPTIONS: BenchOptions = {
    writers: 4, readers: 4, durationS: 30, reconnectEvery: 20, outDir: "bench-out", sampleMs: 250, heartbeatMs: 100, progress: "lines",
};

/** Where the bench connects. */
export interface BenchTargets {
    readonly app: MysqlUrl;
    /** The read endpoint with the read-only user's credentials; undefined when the lab has no endpoint. */
    readonly reader?: MysqlUrl;
    readonly source: LabServer;
    readonly replicas: LabServer[];
    readonly servers: LabServer[];
}

/**
 * Every endpoint the bench would use, refused unless it is on loopback: the bench loads servers hard
 * and must not be pointed at anything but this machine's lab.
 */
export function assertLoopback(targets: readonly { what: string; host: string; port: number }[]): void {
    const bad = targets.filter((t) => !isLoopbackHost(t.host));
    if (bad.length > 0) {
        throw new UsageError("the bench only runs against the lab's published ports on loopback (127.0.0.1 or ::1); " +
            `refusing: ${bad.map((t) => `${t.what} ${formatEndpoint(t)}`).join(", ")}. ` +
            "Publish the lab on 127.0.0.1 (config bindAddress) to bench it");
    }
}

/** Resolves the bench's endpoints from the outputs and refuses non-loopback ones. */
export function benchTargets(outputs: LabOutputs, readers: number): BenchTargets {
    const servers = labServers(outputs);
    const source = servers.find((s) => s.role === "source")!;
    const replicas = servers.filter((s) => s.role === "replica");
    const app = requireApp(outputs, "the bench");
    const endpoint = outputs.readEndpoint ? parseEndpoint(outputs.readEndpoint, "readEndpoint") : undefined;
    // Refuse a remote lab before anything else is said about it.
    assertLoopback([
        { what: "source (app user)", ...app },
        ...(endpoint ? [{ what: "read endpoint", ...endpoint }] : []),
        ...servers.map((s) => ({ what: `server ${s.index} (${s.name})`, ...s.admin })),
    ]);
    let reader: MysqlUrl | undefined;
    if (endpoint && readers > 0) {
        const creds = outputs.readonlyConnectionStrings[0];
        if (!creds) throw new UsageError("readonlyConnectionStrings is empty: no read-only user to read with (or run with --readers 0)");
        reader = { ...parseMysqlUrl(creds, "readonlyConnectionStrings[0]"), host: endpoint.host, port: endpoint.port };
    } else if (readers > 0) {
        throw new UsageError("the lab has no read endpoint (config readEndpoint is false): enable it, or run with --readers 0");
    }
    return { app, reader, source, replicas, servers };
}

/** One lag sample of one replica. */
export interface LagSample {
    /** Milliseconds since the start of the run. */
    readonly tMs: number;
    readonly index: number;
    readonly name: string;
    readonly serverId: number;
    /** NaN when the sample failed. */
    readonly heartbeatLagMs: number;
    readonly secondsBehind: number | null;
    readonly ioThread: string;
    readonly sqlThread: string;
    readonly error: string;
}

/**
 * Heartbeat lag at `tMs`: how long the heartbeat after the newest one visible on the replica had been
 * acknowledged by the source, 0 when there is none yet (pure).
 */
export function heartbeatLag(ackAtMs: ReadonlyMap<number, number>, visibleSeq: number, tMs: number): number {
    const next = ackAtMs.get(visibleSeq + 1);
    return next !== undefined && next <= tMs ? tMs - next : 0;
}

export interface SpreadRow {
    readonly serverId: number;
    /** The server's name, or "unknown" for an id the outputs do not list. */
    readonly name: string;
    readonly role: string;
    readonly reads: number;
    readonly share: number;
    readonly connections: number;
}

export interface LagRow {
    readonly index: number;
    readonly name: string;
    readonly serverId: number;
    readonly heartbeat: Summary;
    readonly secondsBehindMax: number | null;
    readonly samples: number;
    readonly failedSamples: number;
}

export interface BenchResult {
    readonly options: BenchOptions;
    readonly startedAt: string;
    readonly elapsedS: number;
    readonly writes: { ok: number; errors: number; perSecond: number; latencyMs: Summary };
    readonly reads: { ok: number; errors: number; perSecond: number; found: number; latencyMs: Summary };
    readonly heartbeats: number;
    readonly spread: SpreadRow[];
    readonly lag: LagRow[];
    /** Distinct error messages (secrets removed) and how often each happened. */
    readonly errors: { message: string; count: number }[];
    readonly files: string[];
}

class Stats {
    writes = 0;
    writeErrors = 0;
    reads = 0;
    readErrors = 0;
    found = 0;
    heartbeats = 0;
    readonly writeLatency: number[] = [];
    readonly readLatency: number[] = [];
    readonly readsBySid = new Map<number, number>();
    readonly connsBySid = new Map<number, number>();
    readonly perSecond: { writes: number; reads: number; writeErrors: number; readErrors: number; bySid: Map<number, number> }[] = [];
    readonly errors = new Map<string, number>();

    second(tMs: number) {
        const i = Math.max(0, Math.floor(tMs / 1000));
        while (this.perSecond.length <= i) this.perSecond.push({ writes: 0, reads: 0, writeErrors: 0, readErrors: 0, bySid: new Map() });
        return this.perSecond[i];
    }

    error(err: unknown) {
        const message = redact(String((err as Error)?.message ?? err)).replace(/\s+/g, " ").slice(0, 200);
        this.errors.set(message, (this.errors.get(message) ?? 0) + 1);
    }
}

const bump = <K>(m: Map<K, number>, k: K, by = 1) => m.set(k, (m.get(k) ?? 0) + by);

/** Runs a query with a timeout, so that a hung server cannot keep the bench from ending. */
async function timed<T>(conn: Connection, stmt: string, values: unknown[] = []): Promise<T> {
    const [rows] = await conn.query({ sql: stmt, values, timeout: 5000 });
    return rows as T;
}

/** Runs the bench. `onProgress` is called about every 250 ms with what has happened so far. */
export async function runBench(outputs: LabOutputs, options: BenchOptions,
    onProgress?: (p: { elapsedS: number; writesPerS: number; readsPerS: number; maxLagMs: number; errors: number }) => void,
    signal?: { stopped: boolean }): Promise<BenchResult> {
    if (!(options.durationS > 0 && options.durationS <= MAX_DURATION_S)) {
        throw new UsageError(`the duration must be more than 0 and at most ${MAX_DURATION_S} s, got ${options.durationS}`);
    }
    const targets = benchTargets(outputs, options.readers);
    const db = sql.ident(outputs.database);
    const benchTable = `${db}.${sql.ident(BENCH_TABLE)}`;
    const hbTable = `${db}.${sql.ident(HEARTBEAT_TABLE)}`;
    const run = Math.random().toString(36).slice(2, 10);
    const stats = new Stats();
    const conns = new Set<Connection>();
    const track = (c: Connection) => (conns.add(c), c);
    const release = async (c: Connection | undefined) => {
        if (!c) return;
        conns.delete(c);
        await close(c);
    };

    try {
        // Set up on the source, then wait until every replica has the tables (bounded).
        const setup = track(await open(targets.app, 10, "the source (app user)"));
        await query(setup, {
            sql: `CREATE TABLE IF NOT EXISTS ${benchTable} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, ` +
                "writer SMALLINT UNSIGNED NOT NULL, payload VARCHAR(64) NOT NULL, " +
                "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
        });
        await query(setup, {
            sql: `CREATE TABLE IF NOT EXISTS ${hbTable} (run CHAR(8) NOT NULL, seq INT UNSIGNED NOT NULL, ` +
                "written_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), PRIMARY KEY (run, seq)) ENGINE=InnoDB",
        });
        // Each run starts from empty tables, so they do not grow from run to run.
        await query(setup, { sql: `TRUNCATE TABLE ${benchTable}` });
        await query(setup, { sql: `TRUNCATE TABLE ${hbTable}` });
        await release(setup);
        const sourceAdmin = track(await open(targets.source.admin, 10, "the source (root)"));
        const sourceDialect = sql.replicationDialect(await serverVersion(sourceAdmin));
        const [{ gtids }] = await query<{ gtids: string }>(sourceAdmin, sourceDialect.executedGtids);
        await release(sourceAdmin);
        const samplers = await Promise.all(targets.replicas.map(async (r) => {
            try {
                const c = track(await open(r.admin, 10, `server ${r.index} (${r.name})`));
                const d = sql.replicationDialect(await serverVersion(c));
                await query(c, d.waitForGtids(String(gtids ?? ""), 10));
                return { server: r, conn: c as Connection | undefined, dialect: d };
            } catch (err) {
                stats.error(err);
                return { server: r, conn: undefined as Connection | undefined, dialect: undefined as sql.ReplicationDialect | undefined };
            }
        }));

        // The run.
        const t0 = performance.now();
        const now = () => performance.now() - t0;
        const endMs = options.durationS * 1000;
        const stopped = () => now() >= endMs || Boolean(signal?.stopped);
        const startedAt = new Date().toISOString();
        const workers = options.writers + options.readers;
        const intervalMs = options.rate && options.rate > 0 ? (1000 * workers) / options.rate : 0;
        let minId = 0;
        let maxId = 0;

        /** Calls `op` until the end, paced to `intervalMs` when there is a rate cap. */
        const loop = async (op: () => Promise<void>, pace = intervalMs) => {
            let next = now();
            while (!stopped()) {
                if (pace > 0) {
                    const wait = next - now();
                    if (wait > 0) await sleep(Math.min(wait, Math.max(0, endMs - now())));
                    if (stopped()) break;
                    next = Math.max(next + pace, now() - pace);
                }
                await op();
            }
        };

        const writer = async (w: number) => {
            let conn: Connection | undefined;
            await loop(async () => {
                try {
                    conn ??= track(await open(targets.app, 5, "the source (app user)"));
                    const started = now();
                    const res = await timed<{ insertId: number }>(conn, `INSERT INTO ${benchTable} (writer, payload) VALUES (?, ?)`,
                        [w, `writer ${w} at ${started.toFixed(1)} ms`]);
                    const done = now();
                    if (done > endMs) return;
                    stats.writes++;
                    stats.second(done).writes++;
                    stats.writeLatency.push(done - started);
                    const id = Number(res.insertId);
                    if (minId === 0 || id < minId) minId = id;
                    if (id > maxId) maxId = id;
                } catch (err) {
                    stats.writeErrors++;
                    stats.second(now()).writeErrors++;
                    stats.error(err);
                    await release(conn);
                    conn = undefined;
                    await sleep(200);
                }
            });
            await release(conn);
        };

        const reader = async () => {
            let conn: Connection | undefined;
            let used = 0;
            await loop(async () => {
                try {
                    if (!conn || (options.reconnectEvery > 0 && used >= options.reconnectEvery)) {
                        await release(conn);
                        conn = undefined;
                        conn = track(await open(targets.reader!, 5, "the read endpoint"));
                        used = 0;
                    }
                    const id = maxId > 0 ? minId + Math.floor(Math.random() * (maxId - minId + 1)) : 0;
                    const started = now();
                    const rows = await timed<{ sid: string | number; hit: unknown }[]>(conn,
                        `SELECT @@server_id AS sid, (SELECT id FROM ${benchTable} WHERE id = ?) AS hit`, [id]);
                    const done = now();
                    if (done > endMs) return;
                    const sid = Number(rows[0].sid);
                    if (used === 0) bump(stats.connsBySid, sid);
                    used++;
                    stats.reads++;
                    if (rows[0].hit !== null && rows[0].hit !== undefined) stats.found++;
                    stats.readLatency.push(done - started);
                    bump(stats.readsBySid, sid);
                    const sec = stats.second(done);
                    sec.reads++;
                    bump(sec.bySid, sid);
                } catch (err) {
                    stats.readErrors++;
                    stats.second(now()).readErrors++;
                    stats.error(err);
                    await release(conn);
                    conn = undefined;
                    await sleep(200);
                }
            });
            await release(conn);
        };

        const ackAt = new Map<number, number>();
        const heartbeat = async () => {
            let conn: Connection | undefined;
            let seq = 0;
            await loop(async () => {
                try {
                    conn ??= track(await open(targets.app, 5, "the source (heartbeat)"));
                    await timed(conn, `INSERT INTO ${hbTable} (run, seq) VALUES (?, ?)`, [run, seq + 1]);
                    seq++;
                    ackAt.set(seq, now());
                    stats.heartbeats++;
                } catch (err) {
                    stats.error(err);
                    await release(conn);
                    conn = undefined;
                }
            }, options.heartbeatMs);
            await release(conn);
        };

        const samples: LagSample[] = [];
        const sampler = async (s: (typeof samplers)[number]) => {
            await loop(async () => {
                const tMs = now();
                try {
                    if (!s.conn) {
                        s.conn = track(await open(s.server.admin, 2, `server ${s.server.index} (${s.server.name})`));
                        s.dialect = sql.replicationDialect(await serverVersion(s.conn));
                    }
                    const [hb] = await timed<{ seq: string | number }[]>(s.conn,
                        `SELECT COALESCE(MAX(seq), 0) AS seq FROM ${hbTable} WHERE run = ?`, [run]);
                    const status = sql.normaliseStatus((await timed<Record<string, unknown>[]>(s.conn, s.dialect!.showStatus.sql))[0]);
                    samples.push({
                        tMs, index: s.server.index, name: s.server.name, serverId: s.server.serverId,
                        heartbeatLagMs: heartbeatLag(ackAt, Number(hb.seq), tMs), secondsBehind: status.secondsBehind,
                        ioThread: status.ioRunning, sqlThread: status.sqlRunning, error: "",
                    });
                } catch (err) {
                    stats.error(err);
                    samples.push({
                        tMs, index: s.server.index, name: s.server.name, serverId: s.server.serverId, heartbeatLagMs: NaN,
                        secondsBehind: null, ioThread: "unreachable", sqlThread: "unreachable", error: redact((err as Error).message),
                    });
                    await release(s.conn);
                    s.conn = undefined;
                }
            }, options.sampleMs);
        };

        let progressTimer: NodeJS.Timeout | undefined;
        if (onProgress) {
            progressTimer = setInterval(() => {
                const t = now();
                // Rates over the last whole second, so the figure moves with the load.
                const last = stats.perSecond[Math.floor(t / 1000) - 1];
                const recent = samples.slice(-Math.max(1, targets.replicas.length * 4));
                onProgress({
                    elapsedS: Math.min(t, endMs) / 1000,
                    writesPerS: last?.writes ?? 0,
                    readsPerS: last?.reads ?? 0,
                    maxLagMs: recent.reduce((m, x) => (Number.isFinite(x.heartbeatLagMs) ? Math.max(m, x.heartbeatLagMs) : m), 0),
                    errors: stats.writeErrors + stats.readErrors,
                });
            }, 250);
        }
        try {
            await Promise.all([
                ...Array.from({ length: options.writers }, (_, w) => writer(w + 1)),
                ...Array.from({ length: options.readers }, () => reader()),
                heartbeat(),
                ...samplers.map(sampler),
            ]);
        } finally {
            if (progressTimer) clearInterval(progressTimer);
        }
        const elapsedS = Math.min(now(), endMs) / 1000;
        for (const s of samplers) await release(s.conn);

        const result = summariseRun(outputs, options, stats, samples, startedAt, elapsedS);
        const files = writeFiles(options.outDir, result, stats, samples, targets);
        const svg = await writeLagSvg(path.join(options.outDir, "lag.svg"), samples.map((s) => ({
            t: s.tMs / 1000, replica: `server ${s.index} (id ${s.serverId})`, lagMs: s.heartbeatLagMs,
        })), `Replica lag: ${options.writers} writers, ${options.readers} readers, ${options.durationS} s`);
        const final = { ...result, files: [...files, svg] };
        fs.writeFileSync(path.join(options.outDir, "summary.json"), JSON.stringify(final, null, 2) + "\n");
        return { ...final, files: [...final.files, path.join(options.outDir, "summary.json")] };
    } finally {
        await Promise.all([...conns].map((c) => close(c)));
    }
}

function summariseRun(outputs: LabOutputs, options: BenchOptions, stats: Stats, samples: LagSample[],
    startedAt: string, elapsedS: number): BenchResult {
    const servers = labServers(outputs);
    const byId = new Map(servers.map((s) => [s.serverId, s]));
    const spreadIds = [...new Set([...stats.readsBySid.keys(), ...servers.filter((s) => s.role === "replica").map((s) => s.serverId)])]
        .sort((a, b) => a - b);
    const spread = spreadIds.map((id): SpreadRow => ({
        serverId: id,
        name: byId.get(id)?.name ?? "unknown",
        role: byId.get(id)?.role ?? "unknown",
        reads: stats.readsBySid.get(id) ?? 0,
        share: stats.reads === 0 ? 0 : (stats.readsBySid.get(id) ?? 0) / stats.reads,
        connections: stats.connsBySid.get(id) ?? 0,
    }));
    const lag = servers.filter((s) => s.role === "replica").map((s): LagRow => {
        const mine = samples.filter((x) => x.index === s.index);
        const behind = mine.map((x) => x.secondsBehind).filter((x): x is number => x !== null && Number.isFinite(x));
        return {
            index: s.index, name: s.name, serverId: s.serverId,
            heartbeat: summarise(mine.map((x) => x.heartbeatLagMs)),
            secondsBehindMax: behind.length === 0 ? null : Math.max(...behind),
            samples: mine.length,
            failedSamples: mine.filter((x) => !Number.isFinite(x.heartbeatLagMs)).length,
        };
    });
    const per = (n: number) => (elapsedS > 0 ? n / elapsedS : 0);
    return {
        options, startedAt, elapsedS,
        writes: { ok: stats.writes, errors: stats.writeErrors, perSecond: per(stats.writes), latencyMs: summarise(stats.writeLatency) },
        reads: {
            ok: stats.reads, errors: stats.readErrors, perSecond: per(stats.reads), found: stats.found,
            latencyMs: summarise(stats.readLatency),
        },
        heartbeats: stats.heartbeats,
        spread,
        lag,
        errors: [...stats.errors].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
        files: [],
    };
}

/** lag.csv (every sample) and throughput.csv (per second); returns the files written. */
function writeFiles(outDir: string, result: BenchResult, stats: Stats, samples: LagSample[], targets: BenchTargets): string[] {
    fs.mkdirSync(outDir, { recursive: true });
    const lagFile = path.join(outDir, "lag.csv");
    writeCsv(lagFile,
        ["t_s", "replica", "index", "server_id", "heartbeat_lag_ms", "seconds_behind", "io_thread", "sql_thread", "error"],
        samples.map((s) => [
            (s.tMs / 1000).toFixed(3), `server ${s.index} (${s.name}, id ${s.serverId})`, s.index, s.serverId,
            Number.isFinite(s.heartbeatLagMs) ? s.heartbeatLagMs.toFixed(1) : "", s.secondsBehind, s.ioThread, s.sqlThread, s.error,
        ]));
    const ids = [...new Set([...result.spread.map((s) => s.serverId), ...targets.replicas.map((r) => r.serverId)])].sort((a, b) => a - b);
    const seconds = Math.ceil(result.elapsedS);
    const tpFile = path.join(outDir, "throughput.csv");
    writeCsv(tpFile,
        ["second", "writes", "reads", "write_errors", "read_errors", ...ids.map((id) => `reads_server_id_${id}`)],
        Array.from({ length: seconds }, (_, i) => {
            const s = stats.perSecond[i];
            return [i + 1, s?.writes ?? 0, s?.reads ?? 0, s?.writeErrors ?? 0, s?.readErrors ?? 0, ...ids.map((id) => s?.bySid.get(id) ?? 0)];
        }));
    return [lagFile, tpFile];
}

const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : "-");

/** The result as text. */
export function benchText(r: BenchResult): string {
    const o = r.options;
    const lines: string[] = [];
    lines.push(`bench: ${r.elapsedS.toFixed(1)} s, ${o.writers} writers, ${o.readers} readers` +
        (o.readers > 0 ? ` (reconnecting every ${o.reconnectEvery || "∞"} reads)` : "") +
        `, ${o.rate ? `rate cap ${o.rate} ops/s` : "no rate cap"}`);
    lines.push(`writes  ${r.writes.ok} (${r.writes.perSecond.toFixed(1)}/s), ${r.writes.errors} errors, ` +
        `latency p50 ${ms(r.writes.latencyMs.p50)}, p95 ${ms(r.writes.latencyMs.p95)}`);
    lines.push(`reads   ${r.reads.ok} (${r.reads.perSecond.toFixed(1)}/s), ${r.reads.errors} errors, ` +
        `latency p50 ${ms(r.reads.latencyMs.p50)}, p95 ${ms(r.reads.latencyMs.p95)}, ` +
        `row found ${r.reads.ok === 0 ? "-" : `${((100 * r.reads.found) / r.reads.ok).toFixed(1)}%`}`);
    lines.push(`heartbeats ${r.heartbeats} (every ${o.heartbeatMs} ms, not counted as writes)`);
    if (o.readers > 0) {
        lines.push("", "reads by server (through the read endpoint):");
        const cols: Column[] = [{ header: "SERVER ID", align: "right" }, { header: "NAME" }, { header: "ROLE" },
            { header: "READS", align: "right" }, { header: "SHARE", align: "right" }, { header: "CONNECTIONS", align: "right" }];
        lines.push(formatTable(cols, r.spread.map((s) => [String(s.serverId), s.name, s.role, String(s.reads),
            `${(100 * s.share).toFixed(1)}%`, String(s.connections)])).replace(/\n$/, ""));
    }
    lines.push("", `replica lag (sampled every ${o.sampleMs} ms; heartbeat lag is a lower bound, within ${o.heartbeatMs} ms):`);
    const lagCols: Column[] = [{ header: "REPLICA" }, { header: "SERVER ID", align: "right" }, { header: "P50", align: "right" },
        { header: "P95", align: "right" }, { header: "MAX", align: "right" }, { header: "SECONDS_BEHIND MAX", align: "right" },
        { header: "SAMPLES", align: "right" }, { header: "FAILED", align: "right" }];
    lines.push(formatTable(lagCols, r.lag.map((l) => [`server ${l.index} (${l.name})`, String(l.serverId), ms(l.heartbeat.p50),
        ms(l.heartbeat.p95), ms(l.heartbeat.max), l.secondsBehindMax === null ? "-" : `${l.secondsBehindMax} s`,
        String(l.samples), String(l.failedSamples)])).replace(/\n$/, ""));
    if (r.errors.length > 0) {
        lines.push("", "errors:");
        for (const e of r.errors.slice(0, 5)) lines.push(`  ${e.count} × ${e.message}`);
        if (r.errors.length > 5) lines.push(`  … and ${r.errors.length - 5} more kinds`);
    }
    lines.push("", `files: ${r.files.join(", ")}`);
    return lines.join("\n") + "\n";
}
