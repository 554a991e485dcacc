/** SQL against a running lab, for live tests and the benchmark: connections from the stack's mysql:// outputs. */
import type { Connection } from "mysql2/promise";
import { randomBytes } from "node:crypto";
import { PROXY_TEST_IMAGE, TEST_IMAGE } from "../images";

export interface Endpoint {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    readonly database?: string;
}

/** Parses a mysql://user:password@host:port/db URL (as the stack exports them). */
export function parseUrl(url: string): Endpoint {
    const u = new URL(url);
    if (u.protocol !== "mysql:") throw new Error(`not a mysql:// URL: ${u.protocol}`);
    return {
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: Number(u.port || 3306),
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: u.pathname.replace(/^\//, "") || undefined,
    };
}

/** The same account on another port (e.g. the app user against a replica). */
export function onPort(e: Endpoint, port: number): Endpoint {
    return { ...e, port };
}

export async function connect(e: Endpoint | string, timeoutMs = 30_000): Promise<Connection> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const endpoint = typeof e === "string" ? parseUrl(e) : e;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            return await mysql.createConnection({ ...endpoint, connectTimeout: 5000, multipleStatements: false, supportBigNumbers: true, bigNumberStrings: true });
        } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === "ER_ACCESS_DENIED_ERROR" || Date.now() > deadline) throw err;
            await sleep(250);
        }
    }
}

/** Runs `fn` on a connection that is always closed. */
export async function withConn<T>(e: Endpoint | string, fn: (c: Connection) => Promise<T>): Promise<T> {
    const c = await connect(e);
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
export async function replicaStatus(c: Connection): Promise<{ io: string; sql: string; source: string; relayLogFile: string; lastError: string } | undefined> {
    const [row] = await rows(c, "SHOW REPLICA STATUS");
    if (!row) return undefined;
    const pick = (...names: string[]) => String(names.map((n) => row[n]).find((v) => v !== undefined) ?? "");
    return {
        io: pick("Slave_IO_Running", "Replica_IO_Running"),
        sql: pick("Slave_SQL_Running", "Replica_SQL_Running"),
        source: pick("Master_Host", "Source_Host"),
        relayLogFile: pick("Relay_Log_File"),
        lastError: [pick("Last_IO_Error"), pick("Last_SQL_Error")].filter(Boolean).join("; "),
    };
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
 * Stack config for a lab on the test bed's images (MariaDB, nothing pulled) with a random root
 * password, which the tests use to reach the servers as root.
 */
export function testLabConfig(o: { basePort: number; readEndpointPort: number; readEndpoint?: boolean }):
    { config: Record<string, string | number | boolean | { value: string; secret: boolean }>; rootPassword: string } {
    const rootPassword = `Root${randomBytes(12).toString("hex")}`;
    return {
        rootPassword,
        config: {
            image: TEST_IMAGE, flavor: "auto", pullImage: false,
            readEndpoint: o.readEndpoint ?? true, proxyImage: PROXY_TEST_IMAGE,
            basePort: o.basePort, readEndpointPort: o.readEndpointPort,
            rootPassword: { value: rootPassword, secret: true },
        },
    };
}

