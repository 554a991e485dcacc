/** Seeding a new replica: the choice between the binary log and a snapshot, and MySQL's CLONE. */
import { type ServerVersion, type Statement, atLeast, int } from "./vocabulary";

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

/** Takes the named lock that lets one replica at a time be copied from a source; one row, `got` (1: taken). */
export function seedLock(name: string, seconds: number): Statement {
    return { sql: "SELECT GET_LOCK(?, ?) AS got", params: [name, int(seconds)] };
}

export function releaseSeedLock(name: string): Statement {
    return { sql: "SELECT RELEASE_LOCK(?)", params: [name] };
}
