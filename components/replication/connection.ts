/**
 * Connections for the dynamic providers. This module travels inside each serialized provider, so it
 * loads mysql2 inside the functions that use it (a module captured at top level breaks serialization).
 */
import type { Connection } from "mysql2/promise";
import { superReadOnly } from "./sql/roles";
import { versionQuery } from "./sql/status";
import { type ServerVersion, type Statement, parseServerVersion } from "./sql/vocabulary";

/** Where a provider reaches a server, and as whom. */
export interface Endpoint {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
}

/**
 * How every provider of the lab takes the server it works on: where Pulumi reaches it, and as whom.
 * (Replication's replica, ServerRole's server, the SQL resources' server.)
 */
export interface AdminInputs {
    readonly adminHost: string;
    readonly adminPort: number;
    readonly adminUser: string;
    readonly adminPassword: string;
}

/** The host and port names of state written before AdminInputs (Replication, SQL resources, ServerRole). */
const LEGACY_ADMIN_KEYS = [["replicaHost", "replicaPort"], ["serverHost", "serverPort"], ["host", "port"]] as const;

/**
 * Props with the admin endpoint under AdminInputs' names, also when they come from state an earlier
 * version of the provider wrote; a diff compares those, so the rename alone changes nothing.
 */
export function withAdminKeys<T extends object>(props: T): T & AdminInputs {
    const p = props as Record<string, unknown>;
    if (p.adminHost !== undefined) return props as T & AdminInputs;
    for (const [host, port] of LEGACY_ADMIN_KEYS) {
        if (p[host] !== undefined) {
            const rest = { ...p };
            delete rest[host];
            delete rest[port];
            return { ...rest, adminHost: p[host], adminPort: p[port] } as T & AdminInputs;
        }
    }
    return props as T & AdminInputs;
}

/** The endpoint AdminInputs (or older state) describe. */
export function adminEndpoint(props: object): Endpoint {
    const a = withAdminKeys(props);
    return { host: a.adminHost, port: Number(a.adminPort), user: a.adminUser, password: a.adminPassword };
}

/** MySQL error codes that waiting will not cure. */
const FATAL_CONNECT_ERRORS: readonly string[] = ["ER_ACCESS_DENIED_ERROR", "ER_DBACCESS_DENIED_ERROR", "ER_NOT_SUPPORTED_AUTH_MODE"];

/** host:port, with an IPv6 address in brackets. */
export function describeEndpoint(e: Pick<Endpoint, "host" | "port">): string {
    return hostPort(e.host, e.port);
}

/** host:port, with an IPv6 address in brackets: the one place the lab writes an endpoint. */
export function hostPort(host: string, port: number | string): string {
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Opens a connection, retrying until `timeoutSeconds` while the server is not up yet. Wrong credentials
 * fail at once. The error never carries the password.
 */
export async function connect(endpoint: Endpoint, timeoutSeconds: number, what = "server"): Promise<Connection> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    for (;;) {
        try {
            return await mysql.createConnection({
                host: endpoint.host,
                port: endpoint.port,
                user: endpoint.user,
                password: endpoint.password,
                connectTimeout: Math.max(1000, Math.min(10_000, deadline - Date.now())),
                // The lab's servers use caching_sha2 without TLS; mysql2 fetches the RSA key itself.
                ssl: undefined,
                supportBigNumbers: true,
                bigNumberStrings: true,
                dateStrings: true,
            });
        } catch (err) {
            const e = err as { code?: string; message?: string };
            last = e.message ?? String(err);
            if (e.code && FATAL_CONNECT_ERRORS.includes(e.code)) {
                throw new Error(`cannot log in to ${what} ${describeEndpoint(endpoint)} as ${endpoint.user}: ${last}`);
            }
            if (Date.now() >= deadline) {
                throw new Error(`timed out after ${timeoutSeconds} s waiting for ${what} ${describeEndpoint(endpoint)} ` +
                    `to accept connections; last error: ${last}`);
            }
            await sleep(500);
        }
    }
}

/** Runs `fn` with a connection that is always closed afterwards. */
export async function withConnection<T>(endpoint: Endpoint, timeoutSeconds: number, what: string,
    fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await connect(endpoint, timeoutSeconds, what);
    try {
        return await fn(conn);
    } finally {
        await conn.end().catch(() => conn.destroy());
    }
}

/** Runs a statement and returns its rows. Errors name the statement's first words, never its parameters. */
export async function query<T = Record<string, unknown>>(conn: Connection, stmt: Statement): Promise<T[]> {
    try {
        const [rows] = await conn.query({ sql: stmt.sql, values: stmt.params as unknown[] | undefined });
        return Array.isArray(rows) ? (rows as T[]) : [];
    } catch (err) {
        const e = err as { message?: string; errno?: number; code?: string };
        // mysql2 attaches the formatted SQL (with passwords) to its errors: build a new one without it,
        // and without any parameter the server's message quotes back (a syntax error shows the text near it).
        let message = e.message ?? String(err);
        for (const p of stmt.params ?? []) if (typeof p === "string" && p.length > 0) message = message.split(p).join("<hidden>");
        // The server's error number stays: callers tell expected errors apart by it.
        throw Object.assign(new Error(`${stmt.sql.split(" ").slice(0, 4).join(" ")} failed: ${message}`), { errno: e.errno, code: e.code });
    }
}

export async function execAll(conn: Connection, stmts: readonly Statement[]): Promise<void> {
    for (const stmt of stmts) await query(conn, stmt);
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * `work`'s outcome, or `late()`'s once `ms` have passed without one; the timer is cleared either way.
 * `work` itself goes on: ending what it started (a container, a session) is the caller's.
 */
export function within<T, L>(work: Promise<T>, ms: number, late: () => L): Promise<T | L> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lateOutcome = new Promise<L>((resolve, reject) => {
        timer = setTimeout(() => {
            try {
                resolve(late());
            } catch (err) {
                reject(err);
            }
        }, ms);
    });
    return Promise.race([work, lateOutcome]).finally(() => clearTimeout(timer));
}

/** True for errors that mean the server is not there at all (container gone, port closed). */
export function isGone(err: unknown): boolean {
    const message = String((err as { message?: string })?.message ?? err);
    return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|timed out after|connect ETIMEDOUT/.test(message);
}

/** The flavor and version the server reports (SELECT VERSION()). */
export async function readServerVersion(conn: Connection): Promise<ServerVersion> {
    const [row] = await query<{ v: string }>(conn, versionQuery);
    return parseServerVersion(row.v);
}

/** Whole seconds left until `deadline` (ms since the epoch), at least 1: a bound for the next wait. */
export function secondsUntil(deadline: number): number {
    return Math.max(1, Math.round((deadline - Date.now()) / 1000));
}

/**
 * MySQL's super_read_only blocks some replication and account statements; lift it while `fn` runs and
 * put it back after. read_only stays on, so ordinary users still cannot write. A failure to put it
 * back is reported, after `fn`'s own error if it had one.
 */
export async function withSuperReadOnlyLifted<T>(conn: Connection, v: Pick<ServerVersion, "flavor">, fn: () => Promise<T>): Promise<T> {
    const sro = superReadOnly(v);
    if (!sro) return fn();
    const [row] = await query<{ on: number | string }>(conn, sro.query);
    if (Number(row.on) !== 1) return fn();
    await query(conn, sro.set(false));
    let result: T;
    try {
        result = await fn();
    } catch (err) {
        await query(conn, sro.set(true)).catch((e) => {
            throw new Error(`${(err as Error).message}; putting super_read_only back failed too: ${(e as Error).message}`);
        });
        throw err;
    }
    await query(conn, sro.set(true));
    return result;
}
