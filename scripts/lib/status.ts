/**
 * `npm run status`: one row per server, read with the version-aware statements of sql.ts, so it works
 * for MySQL 5.7 to 9.x and MariaDB alike.
 */
import type { Role } from "../../components/replication/sql";
import type { Connection } from "mysql2/promise";
import * as sql from "../../components/replication/sql";
import { close, open, query } from "./db";
import { LabOutputs, LabServer, formatEndpoint, labServers, redact } from "./outputs";
import { Cell, Column, formatTable, shorten } from "./table";

/** One server's state. Fields a server that does not answer cannot give are null. */
export interface StatusRow {
    readonly index: number;
    readonly name: string;
    /** The role the stack gives it (sourceIndex). */
    readonly role: Role;
    /** Why the stack left it out of replication (after a forced failover), or "". */
    readonly leftOut: string;
    /**
     * The role the server shows: "replica" when replication is configured, "source" when writable
     * without it, "fenced" when neither (a frozen or restarted old source); null when unreachable.
     */
    readonly observedRole: Role | "fenced" | null;
    /** server_id the outputs expect. */
    readonly expectedServerId: number;
    /** server_id the server reports (null when unreachable). */
    readonly serverId: number | null;
    readonly endpoint: string;
    readonly reachable: boolean;
    /** e.g. "mariadb 10.11.6". */
    readonly version: string | null;
    readonly readOnly: boolean | null;
    /** null where the server has no such setting (MariaDB). */
    readonly superReadOnly: boolean | null;
    /** Whether replication is configured at all (a source normally has none). */
    readonly replicationConfigured: boolean;
    readonly ioThread: string | null;
    readonly sqlThread: string | null;
    readonly secondsBehind: number | null;
    /** Seconds the replica stays behind on purpose (0: none); null where not replicating. */
    readonly delaySeconds: number | null;
    readonly executedGtids: string | null;
    /** The IO or SQL thread's last error, or why the server could not be read. */
    readonly lastError: string;
    /** True for a replica whose threads both run. Sources are always true. */
    readonly replicating: boolean;
    /** Semi-sync as the server shows it; null where it has no semi-sync variables (plugins not installed). */
    readonly semiSync: SemiSyncState | null;
}

/**
 * Semi-sync on one server: its side for its observed role enabled or not; on a source, whether it
 * is waiting for acknowledgements now (false after a timeout: asynchronous) and from how many replicas.
 */
export interface SemiSyncState {
    readonly enabled: boolean;
    readonly active: boolean | null;
    readonly clients: number | null;
}

/** What the queries of one reachable server returned. */
export interface ServerProbe {
    readonly version: string;
    readonly serverId: number;
    readonly readOnly: { read_only: unknown; super_read_only: unknown };
    /** The SHOW REPLICA/SLAVE STATUS row, if any. */
    readonly statusRow?: Record<string, unknown>;
    readonly executedGtids: string;
    /** SHOW GLOBAL VARIABLES and SHOW GLOBAL STATUS rows named rpl_semi_sync*, lower-cased names. */
    readonly semiSync?: Record<string, string>;
}

/** Reads semi-sync from its variables under either flavor's names (pure). */
export function semiSyncState(values: Record<string, string> | undefined, sourceSide: boolean): SemiSyncState | null {
    if (!values) return null;
    const pick = (...names: string[]) => names.map((n) => values[n]).find((v) => v !== undefined);
    const enabled = flag(sourceSide ? pick("rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled")
        : pick("rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"));
    if (enabled === null) return null;
    if (!sourceSide) return { enabled, active: null, clients: null };
    const clients = pick("rpl_semi_sync_source_clients", "rpl_semi_sync_master_clients");
    return {
        enabled,
        active: flag(pick("rpl_semi_sync_source_status", "rpl_semi_sync_master_status")),
        clients: clients === undefined ? null : Number(clients),
    };
}

function flag(v: unknown): boolean | null {
    if (v === null || v === undefined) return null;
    return Number(v) === 1 || String(v).toUpperCase() === "ON";
}

/** Builds a row from what a server answered (pure). */
export function rowFromProbe(server: LabServer, probe: ServerProbe): StatusRow {
    const v = sql.parseServerVersion(probe.version);
    const status = sql.normaliseStatus(probe.statusRow);
    const errors = [
        status.lastIoErrno ? `IO ${status.lastIoErrno}: ${status.lastIoError}` : "",
        status.lastSqlErrno ? `SQL ${status.lastSqlErrno}: ${status.lastSqlError}` : "",
    ].filter(Boolean);
    const threadsUp = status.ioRunning === "Yes" && status.sqlRunning === "Yes";
    return {
        index: server.index,
        name: server.name,
        role: server.role,
        leftOut: server.leftOut,
        observedRole: status.configured ? "replica" : flag(probe.readOnly.read_only) === false ? "source" : "fenced",
        expectedServerId: server.serverId,
        serverId: probe.serverId,
        endpoint: formatEndpoint(server.admin),
        reachable: true,
        version: sql.describeVersion(v),
        readOnly: flag(probe.readOnly.read_only),
        superReadOnly: flag(probe.readOnly.super_read_only),
        replicationConfigured: status.configured,
        ioThread: status.configured || probe.statusRow ? status.ioRunning : null,
        sqlThread: status.configured || probe.statusRow ? status.sqlRunning : null,
        secondsBehind: status.secondsBehind,
        delaySeconds: status.configured ? status.sqlDelay : null,
        executedGtids: probe.executedGtids,
        lastError: redact(errors.join("; ")),
        replicating: server.role === "source" || (threadsUp && !server.leftOut),
        semiSync: semiSyncState(probe.semiSync, server.role === "source"),
    };
}

/** The row of a server that could not be read. */
export function unreachableRow(server: LabServer, error: string): StatusRow {
    return {
        index: server.index, name: server.name, role: server.role, leftOut: server.leftOut, observedRole: null, expectedServerId: server.serverId, serverId: null,
        endpoint: formatEndpoint(server.admin), reachable: false, version: null, readOnly: null, superReadOnly: null,
        replicationConfigured: false, ioThread: null, sqlThread: null, secondsBehind: null, delaySeconds: null, executedGtids: null,
        lastError: redact(error), replicating: server.role === "source", semiSync: null,
    };
}

/** Reads one server as root. */
export async function probeServer(conn: Connection): Promise<ServerProbe> {
    // The version text as the server prints it is part of the row; parsed once, with sql.ts's parser.
    const [v] = await query<{ v: string }>(conn, { sql: "SELECT VERSION() AS v" });
    const version = sql.parseServerVersion(v.v);
    const d = sql.replicationDialect(version);
    // One connection runs these one after another; Promise.all only saves the waits in between.
    const [[id], [ro], statusRows, [gtids], semiVars, semiStatus] = await Promise.all([
        query<{ id: string | number }>(conn, { sql: "SELECT @@GLOBAL.server_id AS id" }),
        query<{ read_only: unknown; super_read_only: unknown }>(conn, sql.readOnlyQuery(version)),
        query(conn, d.showStatus),
        query<{ gtids: string | null }>(conn, d.executedGtids),
        query<{ Variable_name: string; Value: string }>(conn, { sql: "SHOW GLOBAL VARIABLES LIKE 'rpl\\_semi\\_sync\\_%'" }),
        query<{ Variable_name: string; Value: string }>(conn, { sql: "SHOW GLOBAL STATUS LIKE 'Rpl\\_semi\\_sync\\_%'" }),
    ]);
    const semi = [...semiVars, ...semiStatus];
    return {
        version: v.v, serverId: Number(id.id), readOnly: ro, statusRow: statusRows[0],
        executedGtids: String(gtids?.gtids ?? "").replace(/\s+/g, ""),
        semiSync: semiVars.length === 0 ? undefined : Object.fromEntries(semi.map((r) => [r.Variable_name.toLowerCase(), String(r.Value)])),
    };
}

/** Reads every server in parallel; a server that does not answer within `timeoutSeconds` is unreachable. */
export async function collectStatus(outputs: LabOutputs, timeoutSeconds = 3): Promise<StatusRow[]> {
    const servers = labServers(outputs);
    return Promise.all(servers.map(async (server) => {
        let conn: Connection | undefined;
        try {
            conn = await open(server.admin, timeoutSeconds, `server ${server.index} (${server.name})`);
            return rowFromProbe(server, await probeServer(conn));
        } catch (err) {
            return unreachableRow(server, (err as Error).message);
        } finally {
            await close(conn);
        }
    }));
}

/** Replicas that are not replicating: unreachable, or a thread not "Yes". */
export function notReplicating(rows: readonly StatusRow[]): StatusRow[] {
    return rows.filter((r) => r.role === "replica" && (!r.reachable || !r.replicating));
}

const COLUMNS: Column[] = [
    { header: "#", align: "right" },
    { header: "NAME" },
    { header: "ROLE" },
    { header: "OBSERVED" },
    { header: "ID", align: "right" },
    { header: "REACHABLE" },
    { header: "READ-ONLY" },
    { header: "IO" },
    { header: "SQL" },
    { header: "BEHIND", align: "right" },
    { header: "SEMI-SYNC" },
    { header: "EXECUTED GTIDS" },
    { header: "LAST ERROR" },
];

function yesNo(value: string | null, wanted: boolean): Cell {
    if (value === null) return { text: "-", colour: "dim" };
    return { text: value, colour: !wanted ? undefined : value === "Yes" ? "green" : "red" };
}

/** The status table as text; `colour` adds ANSI colours (use only on a TTY). */
/** How many characters of a GTID set the status table shows before it shortens the set with "…". */
export const GTID_COLUMN_WIDTH = 40;

export function statusTable(rows: readonly StatusRow[], colour = false, gtidWidth = GTID_COLUMN_WIDTH): string {
    const body = rows.map((r): Cell[] => {
        const replica = r.role === "replica";
        const readOnly = r.readOnly === null ? "-" : r.superReadOnly ? "super" : r.readOnly ? "ON" : "OFF";
        const id = r.serverId === null ? `${r.expectedServerId}?` : r.serverId === r.expectedServerId ? String(r.serverId)
            : `${r.serverId} (expected ${r.expectedServerId})`;
        return [
            { text: String(r.index) },
            { text: r.name },
            { text: r.leftOut ? "left out" : r.role, colour: r.leftOut ? "red" : undefined },
            { text: r.observedRole ?? "-", colour: r.observedRole !== null && r.observedRole !== r.role ? "red" : undefined },
            { text: id, colour: r.serverId !== null && r.serverId !== r.expectedServerId ? "red" : undefined },
            { text: r.reachable ? "yes" : "NO", colour: r.reachable ? "green" : "red" },
            // A replica should be read-only and a source writable.
            { text: readOnly, colour: r.readOnly === null ? undefined : (r.readOnly === replica ? undefined : "yellow") },
            yesNo(r.ioThread, replica),
            yesNo(r.sqlThread, replica),
            behindCell(r),
            semiSyncCell(r),
            { text: r.executedGtids === null ? "-" : r.executedGtids === "" ? "(none)" : shorten(r.executedGtids, gtidWidth) },
            { text: r.lastError.replace(/\s+/g, " "), colour: r.lastError ? "red" : undefined },
        ];
    });
    return formatTable(COLUMNS, body, colour);
}

/** Seconds behind; a delayed replica's delay beside it, since its lag is on purpose. */
function behindCell(r: StatusRow): Cell {
    const delay = r.delaySeconds ? ` (delay ${r.delaySeconds}s)` : "";
    if (r.secondsBehind === null) return { text: `-${delay}` };
    return { text: `${r.secondsBehind}s${delay}`, colour: r.secondsBehind > (r.delaySeconds ?? 0) ? "yellow" : undefined };
}

function semiSyncCell(r: StatusRow): Cell {
    const ss = r.semiSync;
    if (!ss) return { text: "-", colour: "dim" };
    if (!ss.enabled) return { text: "off" };
    if (ss.active === null) return { text: "on" };
    return ss.active ? { text: `on, ${ss.clients ?? 0} ack`, colour: "green" } : { text: "ASYNC (timed out)", colour: "red" };
}

/** What the source says of semi-sync, as a clause for the verdict; "" when it is off. */
export function semiSyncSummary(rows: readonly StatusRow[]): string {
    const ss = rows.find((r) => r.role === "source")?.semiSync;
    if (!ss?.enabled || ss.active === null) return "";
    return ss.active
        ? `; semi-sync on: ${ss.clients ?? 0} replica(s) acknowledging`
        : "; semi-sync fell back to asynchronous: no replica acknowledged within the timeout";
}

/** A one-line verdict under the table. */
export function statusSummary(rows: readonly StatusRow[]): string {
    const bad = notReplicating(rows);
    const replicas = rows.filter((r) => r.role === "replica").length;
    if (bad.length === 0) return `OK: ${replicas} of ${replicas} replicas replicating${semiSyncSummary(rows)}`;
    const why = (r: StatusRow) => r.leftOut ? `left out: ${r.leftOut}`
        : !r.reachable ? "unreachable" : `IO ${r.ioThread ?? "-"}, SQL ${r.sqlThread ?? "-"}`;
    return `PROBLEM: ${bad.length} of ${replicas} replicas not replicating: ` + bad.map((r) => `${r.name} (${why(r)})`).join(", ") +
        semiSyncSummary(rows);
}
