/**
 * Reads of a server's replication state that several parts of the lab share: its replica status, what a
 * source has executed, what a replica holds beyond it, and whether a server is fresh.
 */
import type { Connection } from "mysql2/promise";
import { query, readServerVersion } from "./connection";
import { IMAGE_ACCOUNTS, SYSTEM_SCHEMAS } from "./sql/accounts";
import { type SplitGtids, gtidDialect } from "./sql/gtids";
import { type ReplicationDialect, replicationDialect } from "./sql/replication";
import { type ReplicaStatus, accountsQuery, normaliseStatus, schemasQuery } from "./sql/status";
import { type ServerVersion } from "./sql/vocabulary";

export async function replicaStatus(conn: Connection, d: ReplicationDialect): Promise<ReplicaStatus> {
    const rows = await query(conn, d.showStatus);
    return normaliseStatus(rows[0]);
}

/** What the source has executed, as read through the probe connection. */
export interface SourceState {
    readonly version: ServerVersion;
    /** Executed set (MySQL) or binlog position (MariaDB): what the replica must reach. */
    readonly gtids: string;
    /** gtid_executed (MySQL) or gtid_binlog_state (MariaDB): what errant checks compare with. */
    readonly state: string;
}

export async function readSource(conn: Connection): Promise<SourceState> {
    const v = await readServerVersion(conn);
    const [executed] = await query<{ gtids: string }>(conn, replicationDialect(v).executedGtids);
    const [state] = await query<{ gtids: string }>(conn, gtidDialect(v).stateQuery);
    return { version: v, gtids: executed.gtids, state: state.gtids };
}

/** The GTIDs of `a` that `b` lacks, computed where the flavor computes them (`conn`'s server, or here). */
export async function gtidDifference(conn: Connection, v: Pick<ServerVersion, "flavor">, a: string, b: string): Promise<string> {
    const g = gtidDialect(v);
    if (!g.subtractQuery) return g.subtract(a, b);
    const [row] = await query<{ difference: string }>(conn, g.subtractQuery(a, b));
    return String(row.difference ?? "").replace(/\s+/g, "");
}

/**
 * Transactions the replica has executed that the source has not, split into the replica's own
 * (written on it: errant) and other servers' (replicated from elsewhere, perhaps still on their
 * way to this source).
 */
export async function aheadOfSource(conn: Connection, v: ServerVersion, source: SourceState): Promise<SplitGtids> {
    const g = gtidDialect(v);
    const [own] = await query<{ gtids: string; self: string | number }>(conn, g.ownQuery);
    return g.split(await gtidDifference(conn, v, own.gtids, source.state), String(own.self));
}

/**
 * A replica nobody has used: never pointed anywhere, holding no schema and no account beyond what
 * its image made. Only such a replica's own transactions are taken for initialisation work.
 */
export async function isFresh(conn: Connection, status: ReplicaStatus): Promise<boolean> {
    if (status.configured) return false;
    const schemas = await query<{ name: string }>(conn, schemasQuery);
    if (!schemas.every((r) => SYSTEM_SCHEMAS.includes(r.name.toLowerCase()))) return false;
    const accounts = await query<{ user: string }>(conn, accountsQuery);
    return accounts.every((r) => IMAGE_ACCOUNTS.includes(r.user));
}
