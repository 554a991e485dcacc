/**
 * Connections for the tools, on top of the providers' helpers in components/replication/connection.ts
 * (bounded retries, errors without passwords) and the version-aware SQL in sql.ts.
 */
import type { Connection } from "mysql2/promise";
import { connect, query, readServerVersion } from "../../components/replication/connection";
import * as sql from "../../components/replication/sql";
import { MysqlUrl, formatEndpoint, redact } from "./outputs";

export { query };

/** Opens a connection for a parsed URL, retrying for up to `timeoutSeconds` while the server does not answer. */
export async function open(url: MysqlUrl, timeoutSeconds: number, what: string): Promise<Connection> {
    try {
        return await connect({ host: url.host, port: url.port, user: url.user, password: url.password }, timeoutSeconds, what);
    } catch (err) {
        throw new Error(redact((err as Error).message));
    }
}

/** Ends a connection, destroying it when a polite end fails or hangs. */
export async function close(conn: Connection | undefined): Promise<void> {
    if (!conn) return;
    let timer: NodeJS.Timeout | undefined;
    try {
        await Promise.race([
            conn.end(),
            new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error("end timed out")), 2000);
            }),
        ]);
    } catch {
        conn.destroy();
    } finally {
        if (timer) clearTimeout(timer);
    }
}

/** The flavor and version the server reports. */
export const serverVersion: (conn: Connection) => Promise<sql.ServerVersion> = readServerVersion;

/** host:port of a URL, for messages. */
export function where(url: MysqlUrl): string {
    return formatEndpoint(url);
}

/** Whether the connection to `host` stays on this machine: 127.0.0.0/8, ::1 (also v4-mapped) or localhost. */
export function isLoopbackHost(host: string): boolean {
    const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
    if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
    const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
    return v4 !== null && Number(v4[1]) === 127 && v4.slice(2).every((x) => Number(x) <= 255);
}
