/** GTID arithmetic: what one server holds beyond another, per flavor, and what a source has purged. */
import type { ServerVersion, Statement } from "./vocabulary";

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

/**
 * How a flavor's GTIDs are compared. MySQL subtracts GTID sets on the server (GTID_SUBTRACT); MariaDB's
 * are compared here, entry by entry, from gtid_binlog_state.
 */
export interface GtidDialect {
    /** One row, `gtids`: what a source's GTIDs are compared with (gtid_executed, gtid_binlog_state). */
    readonly stateQuery: Statement;
    /** One row: `gtids`, what the server holds, and `self`, what marks its own (server_uuid, server_id). */
    readonly ownQuery: Statement;
    /** On MySQL, one row `difference`: the GTIDs of `a` that `b` lacks. Undefined where `subtract` does it here. */
    subtractQuery?(a: string, b: string): Statement;
    /** The GTIDs of `a` that `b` lacks, where the flavor compares here (MariaDB). */
    subtract(a: string, b: string): string;
    /** A difference split into the server's own transactions (marked `self`) and other servers'. */
    split(difference: string, self: string): SplitGtids;
    /** One row: `slave` and `binlog`, together every GTID a replica holds (what it must not be sent again). */
    readonly heldQuery: Statement;
}

export function gtidDialect(v: Pick<ServerVersion, "flavor">): GtidDialect {
    if (v.flavor === "mariadb") {
        return {
            stateQuery: { sql: "SELECT @@GLOBAL.gtid_binlog_state AS gtids" },
            ownQuery: { sql: "SELECT @@GLOBAL.gtid_binlog_state AS gtids, @@GLOBAL.server_id AS self" },
            subtract: (a, b) => mariadbErrant(a, b).join(","),
            split: (difference, self) => splitMariadbGtids(difference.split(",").filter(Boolean), Number(self)),
            heldQuery: { sql: "SELECT @@GLOBAL.gtid_slave_pos AS slave, @@GLOBAL.gtid_binlog_state AS `binlog`" },
        };
    }
    return {
        stateQuery: { sql: "SELECT @@GLOBAL.gtid_executed AS gtids" },
        ownQuery: { sql: "SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.server_uuid AS self" },
        subtractQuery: (a, b) => ({ sql: "SELECT GTID_SUBTRACT(?, ?) AS difference", params: [a.replace(/\s+/g, ""), b.replace(/\s+/g, "")] }),
        subtract: () => {
            throw new Error("MySQL subtracts GTID sets on the server (subtractQuery)");
        },
        split: (difference, self) => splitMysqlGtids(difference, self),
        heldQuery: { sql: "SELECT @@GLOBAL.gtid_executed AS slave, '' AS `binlog`" },
    };
}

/**
 * How a source tells what it has purged from its binary logs: MySQL has gtid_purged (one query);
 * MariaDB's oldest binary log starts with a Gtid_list event naming the state before it.
 */
export type PurgedDialect =
    | { readonly kind: "query"; missing(replicaGtids: string): Statement }
    | { readonly kind: "gtidList"; readonly binaryLogs: Statement; events(logName: string): Statement };

export function purgedDialect(v: Pick<ServerVersion, "flavor">): PurgedDialect {
    return v.flavor === "mysql"
        ? { kind: "query", missing: purgedMissingQuery }
        : {
            kind: "gtidList",
            binaryLogs: { sql: "SHOW BINARY LOGS" },
            events: (logName) => ({ sql: "SHOW BINLOG EVENTS IN ? LIMIT 4", params: [logName] }),
        };
}

/** MariaDB: one row `pos`, the replica's gtid_slave_pos (where a dump left it). */
export const slavePosQuery: Statement = { sql: "SELECT @@GLOBAL.gtid_slave_pos AS pos" };

/** MariaDB: starts the server's binary log anew at `state` (gtid_binlog_state), outside the binary log. */
export function restartBinlogAt(state: string): Statement[] {
    return [
        { sql: "SET SESSION sql_log_bin = 0" },
        { sql: "RESET MASTER" },
        { sql: "SET GLOBAL gtid_binlog_state = ?", params: [state] },
        { sql: "SET SESSION sql_log_bin = 1" },
    ];
}
