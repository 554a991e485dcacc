/** Connections to the lab's servers, as the app's accounts. */
import * as mysql from "mysql2/promise";
import type { Account } from "./types";

export type Conn = mysql.Connection;

export interface Target {
    readonly host: string;
    readonly port: number;
}

/** A new connection; fails within `timeoutMs` when the server does not answer. */
export function connect(t: Target, account: Account, timeoutMs = 1000, database?: string): Promise<Conn> {
    return mysql.createConnection({
        host: t.host, port: t.port, user: account.user, password: account.password, database,
        connectTimeout: timeoutMs, dateStrings: true, supportBigNumbers: true, bigNumberStrings: false,
    });
}

export async function rows<T = Record<string, unknown>>(c: Conn, sql: string, params: unknown[] = []): Promise<T[]> {
    const [r] = await c.query(sql, params);
    return Array.isArray(r) ? (r as T[]) : [];
}

/** Closes a connection, whatever state it is in. */
export function close(c: Conn | undefined): void {
    if (c) c.end().catch(() => c.destroy());
}

/** A message fit for a log line or a reply: never the SQL or its parameters. */
export function describeError(err: unknown): string {
    const e = err as { code?: string; errno?: number; sqlMessage?: string; message?: string };
    if (e.sqlMessage) return `${e.code ?? "error"} (${e.errno}): ${e.sqlMessage}`;
    return e.code ? `${e.code}: ${e.message ?? ""}`.trim() : String(e.message ?? err);
}
