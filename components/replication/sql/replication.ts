/** Replication statements by flavor and version: pointing a replica, starting and stopping it, waiting for GTIDs. */
import { type ServerVersion, type Statement, atLeast, int } from "./vocabulary";

/** Replication options a replica is pointed with. */
export interface SourceOptions {
    readonly host: string;
    readonly port: number;
    readonly user: string;
    readonly password: string;
    /** Seconds between reconnect attempts. Servers default to 60; a lab wants a few. */
    readonly connectRetry: number;
    /** Reconnect attempts before the IO thread gives up (MySQL only; MariaDB has a server-wide setting). */
    readonly retryCount: number;
    /** Seconds the replica applies each transaction after its source committed it; left as it is when undefined. */
    readonly delaySeconds?: number;
}

/** The statements a flavor and version use for each replication step. */
export interface ReplicationDialect {
    /** Points the replica at its source, positioned by GTID. */
    changeSource(o: SourceOptions): Statement;
    start: Statement;
    stop: Statement;
    /** Stops only the receiving (IO) thread: what has arrived is still applied. */
    stopIo: Statement;
    startIo: Statement;
    /** Forgets the source configuration entirely. */
    resetReplica: Statement;
    /** Clears the server's own binary logs and executed GTIDs (used only on a fresh replica). */
    resetOwnGtids: Statement[];
    showStatus: Statement;
    /** One row, one column `gtids`: what this server has executed. */
    executedGtids: Statement;
    /**
     * Waits up to `seconds` for `gtids` (from executedGtids on the source) to be applied here.
     * One row, column `reached`: 1 when reached.
     */
    waitForGtids(gtids: string, seconds: number): Statement;
}

/** Starting, stopping, resetting and showing a replica's threads, in the verb the version speaks (REPLICA or SLAVE). */
function threadStatements(word: "REPLICA" | "SLAVE"): Pick<ReplicationDialect, "start" | "stop" | "stopIo" | "startIo" | "resetReplica" | "showStatus"> {
    return {
        start: { sql: `START ${word}` },
        stop: { sql: `STOP ${word}` },
        stopIo: { sql: `STOP ${word} IO_THREAD` },
        startIo: { sql: `START ${word} IO_THREAD` },
        resetReplica: { sql: `RESET ${word} ALL` },
        showStatus: { sql: `SHOW ${word} STATUS` },
    };
}

/** Picks statement forms by version: MySQL renamed them in 8.0.22/8.0.23 and removed the old ones in 8.4. */
export function replicationDialect(v: ServerVersion): ReplicationDialect {
    if (v.flavor === "mariadb") {
        // REPLICA synonyms exist since 10.5.1; CHANGE REPLICATION SOURCE does not exist at all.
        const word = atLeast(v, 10, 5, 1) ? "REPLICA" : "SLAVE";
        return {
            changeSource: (o) => ({
                sql: "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
                    `MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = ${int(o.connectRetry)}` +
                    (o.delaySeconds === undefined ? "" : `, MASTER_DELAY = ${int(o.delaySeconds)}`),
                params: [o.host, o.port, o.user, o.password],
            }),
            ...threadStatements(word),
            resetOwnGtids: [{ sql: "RESET MASTER" }, { sql: "SET GLOBAL gtid_slave_pos = ''" }],
            // gtid_binlog_pos lists the last GTID per domain, which is what a replica resumes from.
            executedGtids: { sql: "SELECT @@GLOBAL.gtid_binlog_pos AS gtids" },
            waitForGtids: (gtids, seconds) => ({
                sql: `SELECT MASTER_GTID_WAIT(?, ${int(seconds)}) = 0 AS reached`,
                params: [gtids],
            }),
        };
    }
    const modernChange = atLeast(v, 8, 0, 23);
    const modernVerbs = atLeast(v, 8, 0, 22);
    const word = modernVerbs ? "REPLICA" : "SLAVE";
    return {
        changeSource: (o) => {
            const prefix = modernChange ? "SOURCE" : "MASTER";
            const options = [
                `${prefix}_HOST = ?`, `${prefix}_PORT = ?`, `${prefix}_USER = ?`, `${prefix}_PASSWORD = ?`,
                `${prefix}_AUTO_POSITION = 1`,
            ];
            // caching_sha2_password (the default since 8.0) needs the source's RSA key without TLS.
            if (atLeast(v, 8)) options.push(`GET_${prefix}_PUBLIC_KEY = 1`);
            options.push(`${prefix}_CONNECT_RETRY = ${int(o.connectRetry)}`, `${prefix}_RETRY_COUNT = ${int(o.retryCount)}`);
            if (o.delaySeconds !== undefined) options.push(`${prefix}_DELAY = ${int(o.delaySeconds)}`);
            return {
                sql: `${modernChange ? "CHANGE REPLICATION SOURCE TO" : "CHANGE MASTER TO"} ${options.join(", ")}`,
                params: [o.host, o.port, o.user, o.password],
            };
        },
        ...threadStatements(word),
        resetOwnGtids: [{ sql: atLeast(v, 8, 2) ? "RESET BINARY LOGS AND GTIDS" : "RESET MASTER" }],
        executedGtids: { sql: "SELECT @@GLOBAL.gtid_executed AS gtids" },
        waitForGtids: (gtids, seconds) => ({
            sql: `SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ${int(seconds)}) = 0 AS reached`,
            params: [gtids],
        }),
    };
}

/**
 * The server_id a fresh replica replicates under until it has caught up: one no lab server has
 * (lab ids are small), derived from its own so that two fresh replicas never share one.
 */
export function seedingServerId(serverId: number): number {
    if (!Number.isInteger(serverId) || serverId < 1 || serverId >= 2147483647) throw new Error(`server id ${serverId} is not a lab server id`);
    return 4294967295 - serverId;
}

/** A server's own id: itself, or the id a seeding id stands for (see seedingServerId). */
export function ownServerId(serverId: number): number {
    return serverId >= 2147483648 ? 4294967295 - serverId : serverId;
}

/** Sets the server's server_id (only while replication is stopped). */
export function setServerId(id: number): Statement {
    return { sql: `SET GLOBAL server_id = ${int(id)}` };
}

/** Ends a session (a binary log dump, say). */
export function killSession(id: number): Statement {
    return { sql: `KILL ${int(id)}` };
}

/** Stops the statement a session is running. */
export function killQuery(id: number): Statement {
    return { sql: `KILL QUERY ${int(id)}` };
}

/** This session's own statements are (on) or are not (off) written to the binary log. */
export function sessionBinlog(on: boolean): Statement {
    return { sql: `SET SESSION sql_log_bin = ${on ? 1 : 0}` };
}
