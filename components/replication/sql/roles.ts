/** A server's role: read-only settings, the freeze of a switchover, semi-synchronous replication, plugins. */
import { type Role, type ServerVersion, type Statement, atLeast, int } from "./vocabulary";

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

/** Bounds how long this session waits for a lock (a freeze waits for commits in flight). */
export function lockWaitTimeout(seconds: number): Statement {
    return { sql: `SET SESSION lock_wait_timeout = ${int(seconds)}` };
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

/** Whether the server keeps its role's read-only settings across a restart (MySQL 8+, SET PERSIST). */
export function persistsRole(v: ServerVersion): boolean {
    return v.flavor === "mysql" && atLeast(v, 8);
}

/**
 * MySQL's super_read_only, which stops root too and blocks some replication and account statements:
 * how to read it (one row, `on`) and set it. Undefined where the flavor has none (MariaDB).
 */
export function superReadOnly(v: Pick<ServerVersion, "flavor">): { readonly query: Statement; set(on: boolean): Statement } | undefined {
    if (v.flavor !== "mysql") return undefined;
    return {
        query: { sql: "SELECT @@GLOBAL.super_read_only AS `on`" },
        set: (on) => ({ sql: `SET GLOBAL super_read_only = ${on ? "ON" : "OFF"}` }),
    };
}
