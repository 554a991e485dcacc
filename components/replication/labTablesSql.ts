/**
 * The SQL of the tables the lab itself writes for the demo app: the app's table (its DDL comes from
 * app/schema.ts) and the desired topology, which tells the app's page each server's configured role.
 * Pure: statements out, no I/O.
 */
import { type Statement, ident } from "./sql/vocabulary";

/** The lab's own schema, beside the app's database. */
export const LAB_SCHEMA = "mysql_replicas";
export const DESIRED_TABLE = "desired_topology";
/** Where the app reads the desired topology (its monitor account may SELECT there). */
export const DESIRED_TABLE_NAME = `${LAB_SCHEMA}.${DESIRED_TABLE}`;

/** One server as the lab's config declares it. */
export interface DesiredServer {
    readonly serverIndex: number;
    readonly role: "source" | "replica";
    readonly delaySeconds: number;
    /** Why a forced failover left it out ("" when it is not). */
    readonly leftOut: string;
}

export function tableExists(database: string, table: string): Statement {
    return { sql: "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", params: [database, table] };
}

export function dropTable(database: string, table: string): Statement {
    return { sql: `DROP TABLE IF EXISTS ${ident(database)}.${ident(table)}` };
}

/** Creates the schema and table if missing, and replaces every row: one transaction after the DDL. */
export function writeDesired(servers: readonly DesiredServer[]): Statement[] {
    const table = `${ident(LAB_SCHEMA)}.${ident(DESIRED_TABLE)}`;
    const statements: Statement[] = [
        { sql: `CREATE DATABASE IF NOT EXISTS ${ident(LAB_SCHEMA)}` },
        {
            sql: `CREATE TABLE IF NOT EXISTS ${table} (server_index INT NOT NULL PRIMARY KEY, role VARCHAR(16) NOT NULL, ` +
                "delay_seconds INT NOT NULL DEFAULT 0, left_out VARCHAR(255) NULL)",
        },
        { sql: "START TRANSACTION" },
        { sql: `DELETE FROM ${table}` },
    ];
    if (servers.length > 0) {
        statements.push({
            sql: `INSERT INTO ${table} (server_index, role, delay_seconds, left_out) VALUES ${servers.map(() => "(?, ?, ?, ?)").join(", ")}`,
            params: servers.flatMap((s) => [s.serverIndex, s.role, s.delaySeconds, s.leftOut === "" ? null : s.leftOut]),
        });
    }
    statements.push({ sql: "COMMIT" });
    return statements;
}

export function readDesired(): Statement {
    return { sql: `SELECT server_index, role, delay_seconds, left_out FROM ${ident(LAB_SCHEMA)}.${ident(DESIRED_TABLE)} ORDER BY server_index` };
}

/** Rows as readDesired returns them, back to DesiredServer. */
export function parseDesired(rows: readonly Record<string, unknown>[]): DesiredServer[] {
    return rows.map((r) => ({
        serverIndex: Number(r.server_index),
        role: r.role === "source" ? "source" : "replica",
        delaySeconds: Number(r.delay_seconds),
        leftOut: r.left_out == null ? "" : String(r.left_out),
    }));
}

export function dropLabSchema(): Statement {
    return { sql: `DROP DATABASE IF EXISTS ${ident(LAB_SCHEMA)}` };
}
