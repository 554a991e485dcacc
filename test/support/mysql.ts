/**
 * MySQL client helpers for the tests and benchmarks: connections from mysql:// URLs or endpoints,
 * rows, bounded waits, bulk rows, replica status, and drift made on purpose.
 */
import type { Connection } from "mysql2/promise";
import { readServerVersion } from "../../components/replication/connection";
import * as sql from "../../components/replication/sql";
import { type ServerVersion, type Statement } from "../../components/replication/sql";
import { type MysqlUrl, parseMysqlUrl } from "../../scripts/lib/outputs";

/** Where a test logs in, and as whom: a parsed mysql:// URL (scripts/lib/outputs.ts), the database optional. */
export type ServerLogin = Omit<MysqlUrl, "database"> & { readonly database?: string };

/** The same account on another port (e.g. the app user against a replica). */
export function onPort(e: ServerLogin, port: number): ServerLogin {
    return { ...e, port };
}

/** Opens a connection, retrying (bounded) while the server does not answer yet; wrong credentials fail at once. */
export async function openConnection(e: ServerLogin | string, timeoutMs = 30_000): Promise<Connection> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const endpoint = typeof e === "string" ? parseMysqlUrl(e) : e;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            const { host, port, user, password, database } = endpoint;
            return await mysql.createConnection({ host, port, user, password, database: database || undefined, connectTimeout: 5000, multipleStatements: false, supportBigNumbers: true, bigNumberStrings: true });
        } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === "ER_ACCESS_DENIED_ERROR" || Date.now() > deadline) throw err;
            await sleep(250);
        }
    }
}

/** Runs `fn` on a connection that is always closed. */
export async function withConn<T>(e: ServerLogin | string, fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await openConnection(e);
    try {
        return await fn(c);
    } finally {
        await c.end().catch(() => c.destroy());
    }
}

export async function rows<T = Record<string, any>>(c: Connection, sql: string, params?: unknown[]): Promise<T[]> {
    const [r] = await c.query(sql, params);
    return r as T[];
}

/** SHOW REPLICA STATUS, MariaDB and MySQL column names folded to one shape; undefined when not a replica. */
/**
 * The replica status of the server behind `c`, in the program's flavor-neutral shape (sql.ts), with
 * its relay log file (a new one means replication was re-pointed); undefined when it is no replica.
 */
export async function replicaStatus(c: Connection): Promise<(sql.ReplicaStatus & { relayLogFile: string }) | undefined> {
    const dialect = sql.replicationDialect(await readServerVersion(c));
    const [row] = await rows(c, dialect.showStatus.sql);
    return row ? { ...sql.normaliseStatus(row), relayLogFile: String(row.Relay_Log_File ?? "") } : undefined;
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await probe().catch(() => false)) return true;
        if (Date.now() >= deadline) return false;
        await sleep(intervalMs);
    }
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value other than undefined; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (v !== undefined) return v;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
        await sleep(everyMs);
    }
}

/**
 * Waits until a round of `tries` connections through a read endpoint (as `reader`) reaches exactly the
 * servers `expected`, by index (a lab server's server_id is its index + 1); the error says what the
 * last round reached.
 */
export async function waitForReaders(reader: ServerLogin, expected: readonly number[], timeoutMs = 30_000, tries = 20): Promise<void> {
    const want = [...expected].sort().join(", ");
    let seen = "";
    await waitFor(`the read endpoint to serve exactly servers ${want}`, timeoutMs, async () => {
        const found = new Set<number>();
        for (let k = 0; k < tries; k++) {
            const [r] = await withConn(reader, (c) => rows(c, "SELECT @@GLOBAL.server_id AS id"));
            found.add(Number(r.id) - 1);
        }
        seen = [...found].sort().join(", ");
        return seen === want ? true : undefined;
    }, 500).catch((err: Error) => { throw new Error(`${err.message}; the last round reached servers ${seen || "none"}`); });
}

/**
 * Purges every binary log but the newest, after a flush, through `run` (a root session on the server).
 * MariaDB keeps a log until its binlog checkpoint has passed it, so this tries again for a while.
 */
export async function purgeOlderBinlogs(run: (sql: string) => Promise<Record<string, any>[]>): Promise<void> {
    await run("FLUSH BINARY LOGS");
    await waitFor("the server to purge every binary log but the newest", 30_000, async () => {
        const logs = await run("SHOW BINARY LOGS");
        if (logs.length === 1) return true;
        await run(`PURGE BINARY LOGS TO '${logs[logs.length - 1].Log_name}'`);
        return undefined;
    }, 250);
}

/** Inserts `count` rows (id, payload) into `table` in batches, through `c`. */
export async function insertRows(c: Connection, table: string, count: number, firstId = 1, batch = 1000): Promise<void> {
    for (let start = 0; start < count; start += batch) {
        const values: unknown[][] = [];
        for (let i = start; i < Math.min(count, start + batch); i++) {
            const id = firstId + i;
            values.push([id, `row-${id}-${"x".repeat(40)}`]);
        }
        await c.query(`INSERT INTO ${table} (id, payload) VALUES ?`, [values]);
    }
}

/**
 * Changing data on a replica behind replication's back, as tests do to make drift on purpose: the
 * change is kept out of the binary log, and on MySQL super_read_only is lifted for the moment (root
 * may write despite read_only, never despite super_read_only) and put back after.
 */
export function behindReplicationsBack(v: ServerVersion, statements: readonly Statement[]): Statement[] {
    const hasSuper = v.flavor === "mysql";
    return [
        ...(hasSuper ? [{ sql: "SET GLOBAL super_read_only = OFF" }] : []),
        { sql: "SET SESSION sql_log_bin = 0" },
        ...statements,
        ...(hasSuper ? [{ sql: "SET GLOBAL super_read_only = ON" }] : []),
    ];
}
