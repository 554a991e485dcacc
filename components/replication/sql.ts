/**
 * Pure SQL builders: flavor + version + options in, statements out. No runtime imports, so the
 * dynamic providers can carry this module and every dialect is unit-tested statement by statement.
 * Values that come from users (hosts, names, passwords) travel as `?` parameters, never in the text.
 */

/** The server family: it decides server options and SQL dialect. */
export type Flavor = "mysql" | "mariadb";

/** What a server does in the lab. Roles are data, never part of a container. */
export type Role = "source" | "replica";

/** A statement and its parameters, as mysql2's `query(sql, params)` takes them. */
export interface Statement {
    readonly sql: string;
    readonly params?: readonly unknown[];
}

/** A server's family and numeric version, e.g. mysql 8.4.3 or mariadb 10.11.6. */
export interface ServerVersion {
    readonly flavor: Flavor;
    readonly major: number;
    readonly minor: number;
    readonly patch: number;
}

/** Reads `SELECT VERSION()` output such as "8.4.3" or "10.11.6-MariaDB-0+deb12u1-log". */
export function parseServerVersion(version: string): ServerVersion {
    const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
    if (!match) throw new Error(`cannot read the server version from ${JSON.stringify(version)}`);
    return {
        flavor: /mariadb/i.test(version) ? "mariadb" : "mysql",
        major: Number(match[1]),
        minor: Number(match[2]),
        patch: Number(match[3]),
    };
}

/** A version as the lab writes it in outputs and messages, e.g. "mysql 8.4.3". */
export function describeVersion(v: ServerVersion): string {
    return `${v.flavor} ${v.major}.${v.minor}.${v.patch}`;
}

/** True when `v` is at least major.minor.patch. */
export function atLeast(v: Pick<ServerVersion, "major" | "minor" | "patch">, major: number, minor = 0, patch = 0): boolean {
    if (v.major !== major) return v.major > major;
    if (v.minor !== minor) return v.minor > minor;
    return v.patch >= patch;
}

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
            start: { sql: `START ${word}` },
            stop: { sql: `STOP ${word}` },
            stopIo: { sql: `STOP ${word} IO_THREAD` },
            startIo: { sql: `START ${word} IO_THREAD` },
            resetReplica: { sql: `RESET ${word} ALL` },
            resetOwnGtids: [{ sql: "RESET MASTER" }, { sql: "SET GLOBAL gtid_slave_pos = ''" }],
            showStatus: { sql: `SHOW ${word} STATUS` },
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
        start: { sql: `START ${word}` },
        stop: { sql: `STOP ${word}` },
        stopIo: { sql: `STOP ${word} IO_THREAD` },
        startIo: { sql: `START ${word} IO_THREAD` },
        resetReplica: { sql: `RESET ${word} ALL` },
        resetOwnGtids: [{ sql: atLeast(v, 8, 2) ? "RESET BINARY LOGS AND GTIDS" : "RESET MASTER" }],
        showStatus: { sql: `SHOW ${word} STATUS` },
        executedGtids: { sql: "SELECT @@GLOBAL.gtid_executed AS gtids" },
        waitForGtids: (gtids, seconds) => ({
            sql: `SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ${int(seconds)}) = 0 AS reached`,
            params: [gtids],
        }),
    };
}

/** Read-only settings for a role. MySQL 8+ persists them so a restart keeps the role. */
export function roleStatements(v: ServerVersion, role: Role): Statement[] {
    const persists = v.flavor === "mysql" && atLeast(v, 8);
    const hasSuper = v.flavor === "mysql";
    if (role === "source") {
        // Writable now, but not across a restart: a source that restarts comes back fenced (as every
        // server starts), so one that was failed away from can never take writes again by itself.
        // super_read_only must go off first: read_only cannot be turned off while it is on.
        const fence = persists ? [{ sql: "SET PERSIST_ONLY read_only = ON" }, { sql: "SET PERSIST_ONLY super_read_only = ON" }] : [];
        return hasSuper
            ? [...fence, { sql: "SET GLOBAL super_read_only = OFF" }, { sql: "SET GLOBAL read_only = OFF" }]
            : [{ sql: "SET GLOBAL read_only = OFF" }];
    }
    const set = persists ? "SET PERSIST" : "SET GLOBAL";
    // super_read_only = ON implies read_only = ON; set both so the persisted file says so plainly.
    return hasSuper
        ? [{ sql: `${set} read_only = ON` }, { sql: `${set} super_read_only = ON` }]
        : [{ sql: `${set} read_only = ON` }];
}

/** What a planned switchover does to the servers, beyond the replication statements. */
export interface SwitchoverDialect {
    /**
     * Stops writes on the old source at once, for the moment (not persisted): super_read_only on
     * MySQL (root too), read_only on MariaDB (every account without READ_ONLY ADMIN). Setting it
     * waits for the commits in flight, so what follows sees every transaction that will ever commit.
     */
    readonly freeze: Statement[];
    /** Ends the old source's binary log file, so its last transaction is in a closed file. */
    readonly flushLogs: Statement;
    /**
     * Before a former source replicates: where it starts. MariaDB's slave_pos is what it last
     * applied as a replica, not what it wrote as a source; MySQL's auto-position needs nothing.
     */
    readonly beforeReplicating: Statement[];
}

export function switchoverDialect(v: ServerVersion): SwitchoverDialect {
    return v.flavor === "mariadb"
        ? {
            freeze: [{ sql: "SET GLOBAL read_only = ON" }],
            flushLogs: { sql: "FLUSH BINARY LOGS" },
            beforeReplicating: [{ sql: "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos" }],
        }
        : {
            freeze: [{ sql: "SET GLOBAL super_read_only = ON" }],
            flushLogs: { sql: "FLUSH BINARY LOGS" },
            beforeReplicating: [],
        };
}

/** Semi-synchronous replication: plugin and variable names by flavor and version. */
export interface SemiSyncDialect {
    /** Plugins to install (MySQL): name and library. MariaDB has it built in. */
    readonly plugins: readonly { readonly name: string; readonly library: string }[];
    /** The variable prefixes: source (master) side and replica (slave) side. */
    readonly sourcePrefix: string;
    readonly replicaPrefix: string;
    /**
     * For a role: on a source, the source side (on or off, with its timeout) and the replica side off;
     * on a replica, the reverse. Persisted where the flavor can.
     */
    settings(role: Role, on: boolean, timeoutMs: number): Statement[];
    /** One row: `source_enabled`, `replica_enabled`, `timeout_ms`. Needs the plugins on MySQL. */
    readonly readSettings: Statement;
}

export function semiSyncDialect(v: ServerVersion): SemiSyncDialect {
    const modern = v.flavor === "mysql" && atLeast(v, 8, 0, 26);
    const src = modern ? "rpl_semi_sync_source" : "rpl_semi_sync_master";
    const rep = modern ? "rpl_semi_sync_replica" : "rpl_semi_sync_slave";
    const set = v.flavor === "mysql" && atLeast(v, 8) ? "SET PERSIST" : "SET GLOBAL";
    const plugins = v.flavor === "mariadb" ? [] : modern
        ? [{ name: src, library: "semisync_source.so" }, { name: rep, library: "semisync_replica.so" }]
        : [{ name: src, library: "semisync_master.so" }, { name: rep, library: "semisync_slave.so" }];
    return {
        plugins,
        sourcePrefix: src,
        replicaPrefix: rep,
        settings: (role, on, timeoutMs) => role === "source"
            ? [{ sql: `${set} ${src}_enabled = ${on ? "ON" : "OFF"}` }, { sql: `${set} ${src}_timeout = ${int(timeoutMs)}` },
                { sql: `${set} ${rep}_enabled = OFF` }]
            : [{ sql: `${set} ${src}_enabled = OFF` }, { sql: `${set} ${rep}_enabled = ${on ? "ON" : "OFF"}` }],
        readSettings: {
            sql: `SELECT @@GLOBAL.${src}_enabled AS source_enabled, @@GLOBAL.${rep}_enabled AS replica_enabled, @@GLOBAL.${src}_timeout AS timeout_ms`,
        },
    };
}

/** Installs a plugin; the name and library are the lab's own constants, never user input. */
export function installPlugin(p: { name: string; library: string }): Statement {
    if (!/^[a-z_]+$/.test(p.name) || !/^[a-z_]+\.so$/.test(p.library)) throw new Error(`not a plugin: ${p.name} ${p.library}`);
    return { sql: `INSTALL PLUGIN ${p.name} SONAME '${p.library}'` };
}

/**
 * Whether the server will start fenced: super_read_only persisted as ON (MySQL 8+); undefined where
 * nothing can be persisted. One row per persisted value, column `v`.
 */
export function persistedFenceQuery(v: ServerVersion): Statement | undefined {
    return v.flavor === "mysql" && atLeast(v, 8)
        ? { sql: "SELECT VARIABLE_VALUE AS v FROM performance_schema.persisted_variables WHERE VARIABLE_NAME = 'super_read_only'" }
        : undefined;
}

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

/** True when the SQL thread has applied everything the IO thread received (the relay log is used up). */
export function relayLogApplied(st: Pick<ReplicaStatus, "readFile" | "readPos" | "execFile" | "execPos">): boolean {
    return st.readFile === st.execFile && st.readPos === st.execPos;
}

/** IO errors that retrying will not cure: bad credentials, auth needing TLS, missing binlogs, unknown host. */
export const PERMANENT_IO_ERRORS: readonly number[] = [1045, 1236, 2005, 2061];

/** What to create for a database, user or grant; the same inputs @pulumi/mysql takes. */
export interface DatabaseSpec {
    readonly name: string;
    readonly defaultCharacterSet?: string;
    readonly defaultCollation?: string;
}
export interface UserSpec {
    readonly user: string;
    readonly host: string;
}
export interface GrantSpec extends UserSpec {
    /** Schema name, or "*" for global privileges. */
    readonly database: string;
    /** Table name, or "*" for every table. */
    readonly table: string;
    readonly privileges: readonly string[];
}

export function createDatabase(d: DatabaseSpec): Statement {
    let sql = `CREATE DATABASE IF NOT EXISTS ${ident(d.name)}`;
    if (d.defaultCharacterSet) sql += ` CHARACTER SET ${word(d.defaultCharacterSet)}`;
    if (d.defaultCollation) sql += ` COLLATE ${word(d.defaultCollation)}`;
    return { sql };
}
export const dropDatabase = (d: DatabaseSpec): Statement => ({ sql: `DROP DATABASE IF EXISTS ${ident(d.name)}` });
export const databaseExists = (d: DatabaseSpec): Statement => ({
    sql: "SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    params: [d.name],
});

export const createUser = (u: UserSpec, password: string): Statement => ({
    sql: "CREATE USER ?@? IDENTIFIED BY ?",
    params: [u.user, u.host, password],
});
export const alterUserPassword = (u: UserSpec, password: string): Statement => ({
    sql: "ALTER USER ?@? IDENTIFIED BY ?",
    params: [u.user, u.host, password],
});
export const dropUser = (u: UserSpec): Statement => ({ sql: "DROP USER IF EXISTS ?@?", params: [u.user, u.host] });
export const userExists = (u: UserSpec): Statement => ({
    sql: "SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?",
    params: [u.user, u.host],
});

export function grant(g: GrantSpec): Statement {
    return { sql: `GRANT ${privilegeList(g.privileges)} ON ${onClause(g)} TO ?@?`, params: [g.user, g.host] };
}
export function revoke(g: GrantSpec): Statement {
    return { sql: `REVOKE ${privilegeList(g.privileges)} ON ${onClause(g)} FROM ?@?`, params: [g.user, g.host] };
}
export const showGrants = (u: UserSpec): Statement => ({ sql: "SHOW GRANTS FOR ?@?", params: [u.user, u.host] });

/**
 * The privileges SHOW GRANTS lists for `g`'s user on `g`'s object, upper-case and sorted.
 * "ALL PRIVILEGES" stands for ALL; USAGE (no privilege) is left out.
 */
export function grantedPrivileges(showGrantsLines: readonly string[], g: Pick<GrantSpec, "database" | "table">): string[] {
    const target = onClause(g).replace(/`/g, "").toLowerCase();
    const found = new Set<string>();
    for (const line of showGrantsLines) {
        const match = /^GRANT (.+?) ON (\S+) TO /i.exec(line);
        if (!match || match[2].replace(/`/g, "").toLowerCase() !== target) continue;
        for (const p of splitPrivileges(match[1])) if (p !== "USAGE") found.add(p);
    }
    return [...found].sort();
}

/** Privileges on one object (a schema's tables, one table, or *.* for global ones). */
export interface ObjectPrivileges {
    readonly database: string;
    readonly table: string;
    readonly privileges: string[];
}

const GRANT_LINE = /^GRANT (.+?) ON (\*|`(?:[^`]|``)+`)\.(\*|`(?:[^`]|``)+`) TO /i;
const unquote = (name: string) => (name === "*" ? "*" : name.slice(1, -1).replace(/``/g, "`"));

/**
 * What SHOW GRANTS lists for a user on objects other than `g`'s, USAGE left out, one entry per object.
 * For an account whose only grant is `g` (every account of the lab), each of these was added behind
 * the lab's back. Schema, table and global grants are read; routine grants, proxies and roles are not.
 */
export function otherGrants(showGrantsLines: readonly string[], g: Pick<GrantSpec, "database" | "table">): ObjectPrivileges[] {
    const byObject = new Map<string, ObjectPrivileges>();
    for (const line of showGrantsLines) {
        const match = GRANT_LINE.exec(line);
        if (!match) continue;
        const database = unquote(match[2]);
        const table = unquote(match[3]);
        if (database.toLowerCase() === g.database.toLowerCase() && table.toLowerCase() === g.table.toLowerCase()) continue;
        const privileges = splitPrivileges(match[1]).filter((p) => p !== "USAGE");
        if (privileges.length === 0) continue;
        const key = `${database}.${table}`;
        const seen = byObject.get(key);
        byObject.set(key, { database, table, privileges: normalisePrivileges([...(seen?.privileges ?? []), ...privileges]) });
    }
    return [...byObject.values()].sort((a, b) => describeObjectPrivileges(a).localeCompare(describeObjectPrivileges(b)));
}

/** "DELETE, INSERT ON app.*": how the state records a privilege found beyond what is declared. */
export function describeObjectPrivileges(o: ObjectPrivileges): string {
    return `${o.privileges.join(", ")} ON ${o.database}.${o.table}`;
}

/** Normalises a privilege list the way SHOW GRANTS prints it: upper-case, ALL PRIVILEGES, sorted. */
export function normalisePrivileges(privileges: readonly string[]): string[] {
    return [...new Set(privileges.map((p) => {
        const up = p.trim().replace(/\s+/g, " ").toUpperCase();
        return PRIVILEGE_ALIASES[up] ?? up;
    }))].sort();
}

/** Names servers print for privileges granted under another name (MariaDB 10.5 renamed two). */
const PRIVILEGE_ALIASES: Record<string, string> = {
    "ALL": "ALL PRIVILEGES",
    "BINLOG MONITOR": "REPLICATION CLIENT",
    "REPLICATION REPLICA": "REPLICATION SLAVE",
};

function splitPrivileges(list: string): string[] {
    // Column privileges carry parentheses with commas inside; the lab uses none, but do not split them.
    const parts: string[] = [];
    let depth = 0;
    let current = "";
    for (const ch of list) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (ch === "," && depth === 0) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    parts.push(current);
    return normalisePrivileges(parts);
}

function privilegeList(privileges: readonly string[]): string {
    if (privileges.length === 0) throw new Error("a grant needs at least one privilege");
    for (const p of privileges) {
        if (!/^[A-Za-z][A-Za-z _]*$/.test(p.trim())) throw new Error(`not a privilege name: ${JSON.stringify(p)}`);
    }
    return normalisePrivileges(privileges).join(", ");
}

function onClause(g: Pick<GrantSpec, "database" | "table">): string {
    const db = g.database === "*" ? "*" : ident(g.database);
    const table = g.table === "*" ? "*" : ident(g.table);
    return `${db}.${table}`;
}

/** Quotes an identifier with backticks. */
export function ident(name: string): string {
    if (name.length === 0 || name.length > 64) throw new Error(`not an identifier: ${JSON.stringify(name)}`);
    return "`" + name.replace(/`/g, "``") + "`";
}

function word(value: string): string {
    if (!/^[A-Za-z0-9_]+$/.test(value)) throw new Error(`not a charset or collation name: ${JSON.stringify(value)}`);
    return value;
}

function int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${n}`);
    return n;
}


/** Schemas every server has; a replica holding any other schema is not fresh. */
export const SYSTEM_SCHEMAS: readonly string[] = ["information_schema", "mysql", "performance_schema", "sys"];

/** Accounts the images create at initialisation; any other account was made by someone. */
export const IMAGE_ACCOUNTS: readonly string[] = ["root", "mysql.sys", "mysql.session", "mysql.infoschema", "mariadb.sys", "healthcheck"];

/**
 * MariaDB: the entries of a replica's gtid_binlog_state ("domain-server-seq,...") that the source's
 * state does not cover, i.e. transactions only the replica has.
 */
export function mariadbErrant(replicaState: string, sourceState: string): string[] {
    const parse = (state: string) => state.replace(/\s+/g, "").split(",").filter(Boolean).map((gtid) => {
        const [domain, server, seq] = gtid.split("-").map(Number);
        return { gtid, domain, server, seq };
    });
    const source = parse(sourceState);
    return parse(replicaState)
        .filter((r) => !source.some((s) => s.domain === r.domain && s.server === r.server && s.seq >= r.seq))
        .map((r) => r.gtid);
}

/** Transactions one server has beyond another, split by who wrote them. */
export interface SplitGtids {
    /** Written on this server itself. */
    readonly own: string;
    /** Written elsewhere and replicated here. */
    readonly others: string;
}

/** Splits a MySQL GTID set ("uuid:1-5,uuid2:3") into this server's own part and the rest. */
export function splitMysqlGtids(set: string, serverUuid: string): SplitGtids {
    const parts = set.replace(/\s+/g, "").split(",").filter(Boolean);
    const isOwn = (part: string) => part.split(":")[0].toLowerCase() === serverUuid.toLowerCase();
    return { own: parts.filter(isOwn).join(","), others: parts.filter((p) => !isOwn(p)).join(",") };
}

/** Splits MariaDB GTIDs ("domain-server-seq") into those this server wrote and the rest. */
export function splitMariadbGtids(gtids: readonly string[], serverId: number): SplitGtids {
    const isOwn = (gtid: string) => Number(gtid.split("-")[1]) === serverId;
    return { own: gtids.filter(isOwn).join(","), others: gtids.filter((g) => !isOwn(g)).join(",") };
}

/** How a replica that lacks the source's history gets it (config `seed`). */
export const SEED_MODES = ["auto", "binlog", "snapshot"] as const;
export type SeedMode = (typeof SEED_MODES)[number];

/** How a replica was brought up to date: replaying the source's binary log, a CLONE, or a dump. */
export type SeedMethod = "binlog" | "clone" | "dump";

/** The account a recipient clones through: made on the source for one clone, with BACKUP_ADMIN only. */
export const CLONE_USER = "mysql_replicas_clone";

/** The statements of a MySQL CLONE (8.0.17+), run on the recipient; the plugin is needed on both sides. */
export interface CloneDialect {
    readonly plugin: { readonly name: string; readonly library: string };
    /** On the source, not binlogged: the clone account anew, allowed to be a donor and nothing else. */
    createAccount(password: string): Statement[];
    /** Not binlogged: the clone account gone again (on the source, and on the recipient that copied it). */
    readonly dropAccount: Statement[];
    /** One row, column `n`: 1 when the plugin is active. */
    readonly pluginActive: Statement;
    /** The only donor the recipient may clone from. */
    validDonor(host: string, port: number): Statement;
    /** Replaces the recipient's data with the donor's, then restarts the recipient (or fails with 3707). */
    cloneFrom(user: string, host: string, port: number, password: string): Statement;
    /** One row after a clone: `state` (Completed, Failed, In Progress), `errno`, `message`, `donor`. */
    readonly status: Statement;
}

/** The error a recipient gives when the copy is done but nothing restarts it (no supervisor). */
export const CLONE_RESTART_FAILED = 3707;
/** INSTALL PLUGIN of a plugin that is there already. */
export const PLUGIN_EXISTS = 1125;

/** The CLONE plugin's statements, or undefined where the flavor or version has no CLONE. */
export function cloneDialect(v: ServerVersion): CloneDialect | undefined {
    if (v.flavor !== "mysql" || !atLeast(v, 8, 0, 17)) return undefined;
    return {
        plugin: { name: "clone", library: "mysql_clone.so" },
        createAccount: (password) => [
            { sql: "SET SESSION sql_log_bin = 0" },
            { sql: "DROP USER IF EXISTS ?@'%'", params: [CLONE_USER] },
            { sql: "CREATE USER ?@'%' IDENTIFIED BY ?", params: [CLONE_USER, password] },
            { sql: "GRANT BACKUP_ADMIN ON *.* TO ?@'%'", params: [CLONE_USER] },
            { sql: "SET SESSION sql_log_bin = 1" },
        ],
        dropAccount: [{ sql: "SET SESSION sql_log_bin = 0" }, { sql: "DROP USER IF EXISTS ?@'%'", params: [CLONE_USER] }, { sql: "SET SESSION sql_log_bin = 1" }],
        pluginActive: { sql: "SELECT COUNT(*) AS n FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone' AND PLUGIN_STATUS = 'ACTIVE'" },
        validDonor: (host, port) => ({ sql: "SET GLOBAL clone_valid_donor_list = ?", params: [`${host}:${int(port)}`] }),
        cloneFrom: (user, host, port, password) => ({
            sql: `CLONE INSTANCE FROM ?@?:${int(port)} IDENTIFIED BY ?`,
            params: [user, host, password],
        }),
        status: { sql: "SELECT STATE AS state, ERROR_NO AS errno, ERROR_MESSAGE AS message, SOURCE AS donor FROM performance_schema.clone_status" },
    };
}

/** MySQL, on the source: the purged transactions a replica that executed `replicaGtids` lacks. */
export function purgedMissingQuery(replicaGtids: string): Statement {
    return { sql: "SELECT GTID_SUBTRACT(@@GLOBAL.gtid_purged, ?) AS missing", params: [replicaGtids] };
}

/** MariaDB: the GTIDs a Gtid_list event names, e.g. "[0-1-5,1-2-3]" (SHOW BINLOG EVENTS' Info). */
export function parseGtidList(info: string): string[] {
    return info.replace(/[[\]\s]/g, "").split(",").filter((g) => /^\d+-\d+-\d+$/.test(g));
}

/**
 * MariaDB: what a replica lacks that the source's binary logs no longer hold. `gtidList` is the
 * Gtid_list of the source's oldest binary log (the state before it); `replicaGtids` every GTID the
 * replica holds ("" for a fresh one). A domain whose sequence the replica has not reached is missing:
 * GTID sequence numbers grow within a domain (the lab runs gtid_strict_mode).
 */
export function mariadbPurgedMissing(gtidList: readonly string[], replicaGtids: string): string {
    const reached = new Map<number, number>();
    for (const g of replicaGtids.replace(/\s+/g, "").split(",").filter(Boolean)) {
        const [domain, , seq] = g.split("-").map(Number);
        reached.set(domain, Math.max(reached.get(domain) ?? 0, seq));
    }
    return gtidList.filter((g) => {
        const [domain, , seq] = g.split("-").map(Number);
        return (reached.get(domain) ?? 0) < seq;
    }).join(",");
}

/**
 * MariaDB: the binary log state a replica seeded by a dump takes, `sourceState` (the source's
 * gtid_binlog_state, read after the dump) as it stood at the snapshot `slavePos`: entries past the
 * snapshot's sequence in their domain are left out (the replica gets them by replication), and the
 * snapshot's own GTIDs are in.
 */
export function mariadbSnapshotState(sourceState: string, slavePos: string): string {
    const parse = (s: string) => s.replace(/\s+/g, "").split(",").filter(Boolean).map((g) => {
        const [domain, server, seq] = g.split("-").map(Number);
        return { domain, server, seq };
    });
    const at = new Map(parse(slavePos).map((g) => [g.domain, g]));
    const kept = parse(sourceState).filter((g) => at.has(g.domain) && g.seq <= at.get(g.domain)!.seq);
    for (const g of at.values()) if (!kept.some((k) => k.domain === g.domain && k.server === g.server)) kept.push(g);
    return kept.sort((x, y) => x.domain - y.domain || x.server - y.server).map((g) => `${g.domain}-${g.server}-${g.seq}`).join(",");
}

/** What the seeding choice is made from. */
export interface SeedFacts {
    readonly mode: SeedMode;
    /** The replica holds nothing of its own (see Replication's isFresh). */
    readonly fresh: boolean;
    /** Transactions the replica lacks that the source has purged from its binary logs ("" for none). */
    readonly purgedMissing: string;
    /** How this flavor and version copies a source: undefined when it cannot. */
    readonly snapshot: "clone" | "dump" | undefined;
    /** The server, for messages, e.g. "mysql 5.7.44". */
    readonly serverVersion: string;
}

/**
 * How to bring a replica up to date, chosen as MySQL Shell's addInstance does: by the binary log
 * when nothing it lacks has been purged, by a copy of the source (a snapshot) when something has.
 * Only a fresh replica is ever copied over; anything else is refused with the reason.
 */
export function chooseSeed(f: SeedFacts): SeedMethod {
    const wanted = f.mode === "snapshot" || (f.mode === "auto" && f.purgedMissing !== "");
    if (f.purgedMissing !== "" && !f.fresh) {
        throw new Error(`the replica lacks transactions the source has purged from its binary logs (${f.purgedMissing}), ` +
            "and it holds data of its own, so it is neither caught up by the logs nor copied over: the lab never wipes a " +
            "replica. Remove its container and volume and run up again to seed it anew. Nothing on it was changed.");
    }
    if (!f.fresh || !wanted) {
        if (f.purgedMissing === "") return "binlog";
        throw new Error(`the source has purged binary logs holding transactions the replica lacks (${f.purgedMissing}), ` +
            `so seed "${f.mode}" cannot bring it up to date. Set seed to auto or snapshot (pulumi config set seed auto) ` +
            "to copy the source's data instead. Nothing on the replica was changed.");
    }
    if (f.snapshot === undefined) {
        const why = f.mode === "snapshot" ? `seed "snapshot" was asked for` :
            `the source has purged binary logs holding transactions the replica lacks (${f.purgedMissing})`;
        throw new Error(`${why}, but ${f.serverVersion} cannot copy a source (a snapshot needs MySQL 8.0.17 or later for ` +
            "CLONE, or MariaDB). Nothing on the replica was changed.");
    }
    return f.snapshot;
}

/** How a flavor and version copies a source into a fresh replica, if it can. */
export function snapshotMethod(v: ServerVersion): "clone" | "dump" | undefined {
    if (v.flavor === "mariadb") return "dump";
    return cloneDialect(v) ? "clone" : undefined;
}
