/** Reading a server's state: its replica status in one shape for every flavor, and its read-only settings. */
import type { ServerVersion, Statement } from "./vocabulary";

/** Reads the read-only settings back; one row with `read_only` and `super_read_only` (null where absent). */
export function readOnlyQuery(v: ServerVersion): Statement {
    return v.flavor === "mysql"
        ? { sql: "SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only" }
        : { sql: "SELECT @@GLOBAL.read_only AS read_only, NULL AS super_read_only" };
}

/** Replication status, the same shape whatever the flavor calls its columns. */
export interface ReplicaStatus {
    readonly configured: boolean;
    readonly ioRunning: "Yes" | "No" | "Connecting" | string;
    readonly sqlRunning: "Yes" | "No" | string;
    readonly sourceHost: string;
    readonly sourcePort: number;
    readonly sourceUser: string;
    readonly secondsBehind: number | null;
    readonly lastIoErrno: number;
    readonly lastIoError: string;
    readonly lastSqlErrno: number;
    readonly lastSqlError: string;
    readonly autoPosition: boolean;
    readonly connectRetry: number;
    readonly retrievedGtids: string;
    readonly executedGtids: string;
    /** Seconds the replica stays behind on purpose (SOURCE_DELAY / MASTER_DELAY). */
    readonly sqlDelay: number;
    /** The source's binary log file and position the IO thread has read up to. */
    readonly readFile: string;
    readonly readPos: number;
    /** The source's binary log file and position the SQL thread has applied up to. */
    readonly execFile: string;
    readonly execPos: number;
}

/** Normalises a SHOW REPLICA/SLAVE STATUS row (or no row) across MySQL 5.7..9.x and MariaDB. */
export function normaliseStatus(row: Record<string, unknown> | undefined): ReplicaStatus {
    const pick = (...names: string[]): unknown => {
        for (const name of names) if (row && row[name] !== undefined) return row[name];
        return undefined;
    };
    const text = (...names: string[]) => String(pick(...names) ?? "");
    const num = (...names: string[]) => Number(pick(...names) ?? 0);
    const behind = pick("Seconds_Behind_Source", "Seconds_Behind_Master");
    const usingGtid = text("Using_Gtid");
    return {
        configured: row !== undefined && text("Source_Host", "Master_Host") !== "",
        ioRunning: text("Replica_IO_Running", "Slave_IO_Running") || "No",
        sqlRunning: text("Replica_SQL_Running", "Slave_SQL_Running") || "No",
        sourceHost: text("Source_Host", "Master_Host"),
        sourcePort: num("Source_Port", "Master_Port"),
        sourceUser: text("Source_User", "Master_User"),
        secondsBehind: behind === null || behind === undefined ? null : Number(behind),
        lastIoErrno: num("Last_IO_Errno"),
        lastIoError: text("Last_IO_Error"),
        lastSqlErrno: num("Last_SQL_Errno"),
        lastSqlError: text("Last_SQL_Error"),
        autoPosition: usingGtid !== "" ? usingGtid !== "No" : num("Auto_Position") === 1,
        connectRetry: num("Connect_Retry"),
        retrievedGtids: text("Retrieved_Gtid_Set", "Gtid_IO_Pos"),
        executedGtids: text("Executed_Gtid_Set", "Gtid_Slave_Pos"),
        sqlDelay: num("SQL_Delay"),
        readFile: text("Source_Log_File", "Master_Log_File"),
        readPos: num("Read_Source_Log_Pos", "Read_Master_Log_Pos"),
        execFile: text("Relay_Source_Log_File", "Relay_Master_Log_File"),
        execPos: num("Exec_Source_Log_Pos", "Exec_Master_Log_Pos"),
    };
}

/** True when the SQL thread has applied everything the IO thread received (the relay log is used up). */
export function relayLogApplied(st: Pick<ReplicaStatus, "readFile" | "readPos" | "execFile" | "execPos">): boolean {
    return st.readFile === st.execFile && st.readPos === st.execPos;
}

/** IO errors that retrying will not cure: bad credentials, auth needing TLS, missing binlogs, unknown host. */
export const PERMANENT_IO_ERRORS: readonly number[] = [1045, 1236, 2005, 2061];

/** One row: `v`, the server's version string. */
export const versionQuery: Statement = { sql: "SELECT VERSION() AS v" };

/** One row: `id`, the server's server_id now. */
export const serverIdQuery: Statement = { sql: "SELECT @@GLOBAL.server_id AS id" };

/** Every schema, as `name`. */
export const schemasQuery: Statement = { sql: "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME" };

/** Every account, as `user` and `host`. */
export const accountsQuery: Statement = { sql: "SELECT User AS user, Host AS host FROM mysql.user" };

/** One row (`Value`) of SHOW GLOBAL STATUS. */
export function globalStatus(name: string): Statement {
    return { sql: "SHOW GLOBAL STATUS LIKE ?", params: [name] };
}

/** The sessions sending a binary log to a replica, as `id`. */
export const binlogDumpsQuery: Statement = {
    sql: "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')",
};
