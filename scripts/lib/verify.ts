/**
 * `npm run verify`: a marker row written on the source must reach every replica (bounded), then the
 * checksum of every base table of the app database must be the same on the source and on each replica.
 *
 * Checksums are compared at one replication position: the source's executed GTIDs are read before and
 * after its checksums, each replica waits for that position, checksums, and reads its own position
 * after. A difference found while the position moved (writes going on) is checked again; one found at
 * a still position is a real difference.
 */
import { randomBytes } from "node:crypto";
import type { Connection } from "mysql2/promise";
import { sleep } from "../../components/replication/connection";
import * as sql from "../../components/replication/sql";
import { close, open, query, serverVersion } from "./db";
import { LabOutputs, LabServer, labServers, redact, requireApp } from "./outputs";
import { Cell, Column, formatTable } from "./table";

/** The marker table, created in the app database when missing. */
export const MARKER_TABLE = "_lab_verify";
/** Marker rows kept; older ones are deleted so the table stays small. */
const MARKERS_KEPT = 100;
/** Rounds of checksums while writes keep moving the position. */
const MAX_ROUNDS = 5;

export interface MarkerResult {
    readonly index: number;
    readonly name: string;
    /** Milliseconds from the marker's commit on the source to seeing it here; null when it never came. */
    readonly arrivedAfterMs: number | null;
    readonly error?: string;
}

export interface TableDifference {
    readonly table: string;
    readonly index: number;
    readonly replica: string;
    /** null when the table is missing on that side. */
    readonly sourceChecksum: string | null;
    readonly replicaChecksum: string | null;
    /** False when writes kept moving the source while checking: the difference may be in flight. */
    readonly settled: boolean;
}

export interface TableChecksums {
    source: string | null;
    readonly replicas: Record<number, { readonly checksum: string | null; readonly comparedWith: string | null }>;
}

export interface VerifyReport {
    readonly database: string;
    readonly marker: string;
    readonly markers: MarkerResult[];
    /** Base tables of the source, sorted. */
    readonly tables: string[];
    /**
     * table -> the source's checksum (from the last round that looked at the table) and, per replica that
     * got the marker, its checksum and the source checksum it was compared with. null: table missing.
     */
    readonly checksums: Record<string, TableChecksums>;
    readonly differences: TableDifference[];
    /** Replicas whose checksums were not compared, with why. */
    readonly skipped: { index: number; name: string; reason: string }[];
    readonly ok: boolean;
}

/** Which tables differ between the source's checksums and a replica's (pure). */
export function compareChecksums(source: Record<string, string | null>, replica: Record<string, string | null>): string[] {
    const tables = new Set([...Object.keys(source), ...Object.keys(replica)]);
    return [...tables].sort().filter((t) => (source[t] ?? null) !== (replica[t] ?? null));
}

async function baseTables(conn: Connection, database: string): Promise<string[]> {
    const rows = await query<{ t: string }>(conn, {
        sql: "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        params: [database],
    });
    return rows.map((r) => r.t);
}

/** CHECKSUM TABLE … EXTENDED for `tables`: table -> checksum, null for a table that does not exist there. */
export async function checksums(conn: Connection, database: string, tables: readonly string[]): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    if (tables.length === 0) return out;
    const rows = await query<{ Table: string; Checksum: string | number | null }>(conn, {
        sql: `CHECKSUM TABLE ${tables.map((t) => `${sql.ident(database)}.${sql.ident(t)}`).join(", ")} EXTENDED`,
    });
    for (const t of tables) out[t] = null;
    for (const r of rows) {
        const name = r.Table.slice(r.Table.indexOf(".") + 1);
        if (name in out) out[name] = r.Checksum === null ? null : String(r.Checksum);
    }
    return out;
}

async function executedGtids(conn: Connection, d: sql.ReplicationDialect): Promise<string> {
    const [row] = await query<{ gtids: string | null }>(conn, d.executedGtids);
    return String(row?.gtids ?? "").replace(/\s+/g, "");
}

/** Writes the marker through the app user; returns its token and when it was committed. */
async function writeMarker(outputs: LabOutputs): Promise<{ token: string; committedAt: number }> {
    const app = requireApp(outputs, "verify");
    const conn = await open(app, 10, "the source (app user)");
    try {
        const table = `${sql.ident(outputs.database)}.${sql.ident(MARKER_TABLE)}`;
        await query(conn, {
            sql: `CREATE TABLE IF NOT EXISTS ${table} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, ` +
                "token CHAR(32) NOT NULL, written_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (token)) ENGINE=InnoDB",
        });
        const token = randomBytes(16).toString("hex");
        await query(conn, { sql: `INSERT INTO ${table} (token) VALUES (?)`, params: [token] });
        const committedAt = Date.now();
        await query(conn, { sql: `DELETE FROM ${table} WHERE id + ${MARKERS_KEPT} <= LAST_INSERT_ID()` });
        return { token, committedAt };
    } finally {
        await close(conn);
    }
}

/** Polls a replica until the marker is there or the deadline passes. */
async function waitForMarker(conn: Connection, d: sql.ReplicationDialect, database: string, token: string,
    committedAt: number, deadline: number): Promise<{ arrivedAfterMs: number | null; error?: string }> {
    const table = `${sql.ident(database)}.${sql.ident(MARKER_TABLE)}`;
    for (;;) {
        const rows = await query<{ n: string | number }>(conn, { sql: `SELECT COUNT(*) AS n FROM ${table} WHERE token = ?`, params: [token] })
            .catch(() => [{ n: 0 }]); // the table itself may not have arrived yet
        if (Number(rows[0].n) > 0) return { arrivedAfterMs: Date.now() - committedAt };
        if (Date.now() >= deadline) {
            const status = sql.normaliseStatus((await query(conn, d.showStatus))[0]);
            const error = [
                status.lastIoErrno ? `IO error ${status.lastIoErrno}: ${status.lastIoError}` : "",
                status.lastSqlErrno ? `SQL error ${status.lastSqlErrno}: ${status.lastSqlError}` : "",
            ].filter(Boolean).join("; ");
            return {
                arrivedAfterMs: null,
                error: `the marker did not arrive (IO thread: ${status.ioRunning}, SQL thread: ${status.sqlRunning}` +
                    `${error ? `; ${error}` : ""})`,
            };
        }
        await sleep(100);
    }
}

interface Open {
    readonly server: LabServer;
    readonly conn: Connection;
    readonly dialect: sql.ReplicationDialect;
}

/** Runs the whole check. `timeoutSeconds` bounds the marker wait and every later wait together. */
export async function verify(outputs: LabOutputs, timeoutSeconds: number): Promise<VerifyReport> {
    requireApp(outputs, "verify");
    const deadline = Date.now() + timeoutSeconds * 1000;
    const remaining = () => Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const database = outputs.database;
    const servers = labServers(outputs);
    const sourceServer = servers.find((s) => s.role === "source")!;
    const replicas = servers.filter((s) => s.role === "replica");
    const opened: Open[] = [];
    const skipped: VerifyReport["skipped"] = [];
    const markers: MarkerResult[] = [];
    try {
        const openOne = async (server: LabServer): Promise<Open | undefined> => {
            try {
                const conn = await open(server.admin, Math.min(5, remaining()), `server ${server.index} (${server.name})`);
                const o = { server, conn, dialect: sql.replicationDialect(await serverVersion(conn)) };
                opened.push(o);
                return o;
            } catch (err) {
                const reason = redact((err as Error).message);
                if (server.role === "replica") {
                    skipped.push({ index: server.index, name: server.name, reason });
                    markers.push({ index: server.index, name: server.name, arrivedAfterMs: null, error: reason });
                    return undefined;
                }
                throw err;
            }
        };
        const source = (await openOne(sourceServer))!;
        const marker = await writeMarker(outputs);
        const live = (await Promise.all(replicas.map(async (r) => {
            const o = await openOne(r);
            if (!o) return undefined;
            const m = await waitForMarker(o.conn, o.dialect, database, marker.token, marker.committedAt, deadline);
            markers.push({ index: r.index, name: r.name, ...m });
            if (m.arrivedAfterMs === null) {
                skipped.push({ index: r.index, name: r.name, reason: m.error ?? "the marker did not arrive" });
                return undefined;
            }
            return o;
        }))).filter((o): o is Open => o !== undefined);
        markers.sort((a, b) => a.index - b.index);

        const tables = await baseTables(source.conn, database);
        const table: Record<string, TableChecksums> = {};
        const differences: TableDifference[] = [];
        // What is left to compare, per replica: at first every table on either side.
        const pending = new Map<number, Set<string>>();
        for (const o of live) pending.set(o.server.index, new Set([...tables, ...(await baseTables(o.conn, database))]));

        for (let round = 1; pending.size > 0; round++) {
            const before = await executedGtids(source.conn, source.dialect);
            const allPending = [...new Set([...pending.values()].flatMap((s) => [...s]))].sort();
            const sourceSums = await checksums(source.conn, database, allPending);
            const position = await executedGtids(source.conn, source.dialect);
            const sourceStill = before === position;
            const lastRound = round >= MAX_ROUNDS || Date.now() >= deadline;
            for (const o of live) {
                const names = pending.get(o.server.index);
                if (!names) continue;
                const [reached] = await query<{ reached: string | number | null }>(o.conn, o.dialect.waitForGtids(position, remaining()));
                const sums = await checksums(o.conn, database, [...names]);
                const after = await executedGtids(o.conn, o.dialect);
                const settled = sourceStill && Number(reached?.reached) === 1 && after === position;
                for (const t of names) {
                    const entry = (table[t] ??= { source: null, replicas: {} });
                    entry.source = sourceSums[t] ?? null;
                    entry.replicas[o.server.index] = { checksum: sums[t], comparedWith: sourceSums[t] ?? null };
                }
                const different = compareChecksums(
                    Object.fromEntries([...names].map((t) => [t, sourceSums[t] ?? null])), sums);
                if (different.length === 0 || settled || lastRound) {
                    for (const t of different) {
                        differences.push({
                            table: t, index: o.server.index, replica: o.server.name,
                            sourceChecksum: sourceSums[t] ?? null, replicaChecksum: sums[t], settled,
                        });
                    }
                    pending.delete(o.server.index);
                } else {
                    // Writes moved the position while checking: look at these tables again.
                    pending.set(o.server.index, new Set(different));
                }
            }
            if (!lastRound && pending.size > 0) await sleep(200);
        }
        differences.sort((a, b) => a.table.localeCompare(b.table) || a.index - b.index);
        skipped.sort((a, b) => a.index - b.index);
        return {
            database, marker: marker.token, markers, tables, checksums: table, differences, skipped,
            ok: differences.length === 0 && skipped.length === 0,
        };
    } finally {
        await Promise.all(opened.map((o) => close(o.conn)));
    }
}

/** The report as text: the marker, a checksum table (source and each replica) and a verdict. */
export function verifyText(report: VerifyReport, outputs: LabOutputs, colour = false): string {
    const lines: string[] = [];
    lines.push(`marker ${report.marker} written on the source in ${report.database}.${MARKER_TABLE}`);
    for (const m of report.markers) {
        lines.push(m.arrivedAfterMs !== null
            ? `  server ${m.index} (${m.name}): marker arrived after ${(m.arrivedAfterMs / 1000).toFixed(2)} s`
            : `  server ${m.index} (${m.name}): ${m.error ?? "the marker did not arrive"}`);
    }
    const replicas = outputs.roles.map((_, i) => i)
        .filter((i) => outputs.roles[i] === "replica" && report.markers.some((m) => m.index === i && m.arrivedAfterMs !== null));
    const tables = Object.keys(report.checksums).sort();
    let moved = false;
    if (tables.length > 0) {
        lines.push("", `CHECKSUM TABLE … EXTENDED of ${tables.length} base tables in ${report.database}:`);
        const columns: Column[] = [{ header: "TABLE" }, { header: "SOURCE", align: "right" },
            ...replicas.map((i): Column => ({ header: `REPLICA ${i}`, align: "right" }))];
        const bad = new Set(report.differences.map((d) => `${d.table}\0${d.index}`));
        const show = (v: string | null | undefined) => (v === undefined ? "" : v === null ? "(missing)" : v);
        const rows = tables.map((t): Cell[] => {
            const entry = report.checksums[t];
            return [{ text: t }, { text: show(entry.source) }, ...replicas.map((i): Cell => {
                const r = entry.replicas[i];
                const wrong = bad.has(`${t}\0${i}`);
                // Compared with the source at another moment (writes were going on): say so.
                const other = r !== undefined && r.comparedWith !== entry.source;
                moved ||= other;
                return { text: `${show(r?.checksum)}${wrong ? " ≠" : ""}${other ? " *" : ""}`, colour: wrong ? "red" : undefined };
            })];
        });
        lines.push(formatTable(columns, rows, colour).replace(/\n$/, ""));
        if (moved) lines.push("* compared with the source's checksum at an earlier position (writes were going on)");
    }
    lines.push("");
    for (const s of report.skipped) lines.push(`NOT CHECKED: server ${s.index} (${s.name}): ${s.reason}`);
    for (const d of report.differences) {
        const what = d.replicaChecksum === null ? "missing on the replica"
            : d.sourceChecksum === null ? "exists only on the replica"
            : `checksum ${d.replicaChecksum} on the replica, ${d.sourceChecksum} on the source`;
        lines.push(`DIFFERENT: ${report.database}.${d.table} on server ${d.index} (${d.replica}): ${what}` +
            (d.settled ? "" : " (writes were going on: it may still have been in flight)"));
    }
    const replicaCount = outputs.roles.filter((r) => r === "replica").length;
    const unsettled = report.differences.filter((d) => !d.settled).length;
    lines.push(report.ok
        ? `OK: ${report.tables.length} tables identical on the source and ${replicaCount} of ${replicaCount} replicas`
        : `PROBLEM: ${report.differences.length} table difference(s), ${report.skipped.length} replica(s) not checked` +
            (unsettled > 0 ? `; ${unsettled} difference(s) seen while writes were going on: run verify again when the lab is quiet` : ""));
    return lines.join("\n") + "\n";
}
