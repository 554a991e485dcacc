import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "mysql2/promise";
import {
    AdminInputs, Endpoint, adminEndpoint, describeEndpoint, execAll, isGone, query, readServerVersion, secondsUntil, sleep, withAdminKeys,
    withConnection, withSuperReadOnlyLifted,
} from "./connection";
import * as seed from "./seed";
import * as sql from "./sql";

/** Inputs of a Replication resource, resolved: what the provider methods see. The admin endpoint is the replica's. */
export interface ReplicationInputs extends AdminInputs {
    /** A name for messages, e.g. the replica's container name. */
    readonly replicaName: string;
    /** The replica's container id, "" when unknown; a new one triggers a re-point. */
    readonly replicaInstance: string;
    /** The source as the replica reaches it (on the lab network). */
    readonly sourceHost: string;
    readonly sourcePort: number;
    /** The source as Pulumi reaches it, to read what it has executed (logged in as the replication user). */
    readonly sourceProbeHost: string;
    readonly sourceProbePort: number;
    /** Replication credentials. */
    readonly user: string;
    readonly password: string;
    /** Seconds between the replica's reconnect attempts. */
    readonly connectRetry: number;
    /** Reconnect attempts before the replica gives up (MySQL). */
    readonly retryCount: number;
    /** Bound on every wait in create and update. */
    readonly timeoutSeconds: number;
    /** Seconds the replica stays behind its source on purpose (0: none). */
    readonly delaySeconds?: number;
    /**
     * Why the replica is left out of replication (see Topology), or "": a left-out replica is not
     * touched at all; when it rejoins, it is pointed at the source again.
     */
    readonly leftOut: string;
    /**
     * How a replica that lacks the source's history gets it: "auto" (the binary log while it holds
     * everything the replica lacks, else a snapshot), "binlog" or "snapshot". Missing in older state: auto.
     */
    readonly seed?: sql.SeedMode;
    /** An account on the source that may copy it for a snapshot (the lab uses root). */
    readonly donorUser?: string;
    readonly donorPassword?: string;
}

/** What read reports: the replica as it really is. */
export interface ReplicationStatus {
    readonly ioRunning: string;
    readonly sqlRunning: string;
    /** Where the replica really points; differs from sourceHost/sourcePort inputs when someone re-pointed it. */
    readonly actualSourceHost: string;
    readonly actualSourcePort: number;
    readonly secondsBehind: number | null;
    readonly lastIoError: string;
    readonly lastSqlError: string;
    /** e.g. "mysql 8.4.3" */
    readonly serverVersion: string;
    /** The delay the replica really has. */
    readonly actualDelaySeconds?: number;
    /** How the replica was last brought up to date from nothing: binlog, clone or dump ("" when it never was). */
    readonly seededBy?: sql.SeedMethod | "";
}

export type ReplicationOutputs = ReplicationInputs & ReplicationStatus;

/** How long re-pointing a replica waits for its source to answer. */
const SOURCE_ANSWER_SECONDS = 20;

/** How long read and delete wait for a replica before taking it for gone. */
const GONE_AFTER_SECONDS = 3;

/** Inputs that change how the replica replicates: an update re-points it (STOP, CHANGE, START). */
const REPOINT_KEYS: readonly (keyof ReplicationInputs)[] = [
    "sourceHost", "sourcePort", "sourceProbeHost", "sourceProbePort", "user", "password", "connectRetry", "retryCount",
    "replicaInstance", "delaySeconds",
];
/** Inputs that only say how Pulumi works with the replica: an update records them and leaves replication alone. */
const RECORD_KEYS: readonly (keyof ReplicationInputs)[] = [
    "adminUser", "adminPassword", "timeoutSeconds", "replicaName", "seed", "donorUser", "donorPassword",
];
/** Inputs that name a different replica: a new resource. */
const REPLACE_KEYS: readonly (keyof ReplicationInputs)[] = ["adminHost", "adminPort"];

function changed(olds: ReplicationInputs, news: ReplicationInputs, keys: readonly (keyof ReplicationInputs)[]): string[] {
    // State from before delays and seeding existed has neither.
    const defaults: Partial<ReplicationInputs> = { delaySeconds: 0, seed: "auto", donorUser: "root", donorPassword: "" };
    const value = (o: ReplicationInputs, k: keyof ReplicationInputs) => o[k] ?? defaults[k];
    return keys.filter((k) => value(olds, k) !== value(news, k));
}

function fail(i: ReplicationInputs, message: string): Error {
    return new Error(`replication on ${i.replicaName} (${describeEndpoint(adminEndpoint(i))}): ${message}`);
}

export async function replicaStatus(conn: Connection, d: sql.ReplicationDialect): Promise<sql.ReplicaStatus> {
    const rows = await query(conn, d.showStatus);
    return sql.normaliseStatus(rows[0]);
}

/** What the source has executed, as read through the probe connection. */
export interface SourceState {
    readonly version: sql.ServerVersion;
    /** Executed set (MySQL) or binlog position (MariaDB): what the replica must reach. */
    readonly gtids: string;
    /** gtid_executed (MySQL) or gtid_binlog_state (MariaDB): what errant checks compare with. */
    readonly state: string;
}

export async function readSource(conn: Connection): Promise<SourceState> {
    const v = await readServerVersion(conn);
    const [executed] = await query<{ gtids: string }>(conn, sql.replicationDialect(v).executedGtids);
    const [state] = v.flavor === "mariadb"
        ? await query<{ gtids: string }>(conn, { sql: "SELECT @@GLOBAL.gtid_binlog_state AS gtids" })
        : [executed];
    return { version: v, gtids: executed.gtids, state: state.gtids };
}

/**
 * Transactions the replica has executed that the source has not, split into the replica's own
 * (written on it: errant) and other servers' (replicated from elsewhere, perhaps still on their
 * way to this source).
 */
export async function aheadOfSource(conn: Connection, v: sql.ServerVersion, source: SourceState): Promise<sql.SplitGtids> {
    if (v.flavor === "mysql") {
        const [own] = await query<{ gtids: string; uuid: string }>(conn, {
            sql: "SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.server_uuid AS uuid",
        });
        const [row] = await query<{ ahead: string }>(conn, {
            sql: "SELECT GTID_SUBTRACT(?, ?) AS ahead", params: [own.gtids, source.state],
        });
        return sql.splitMysqlGtids(row.ahead, own.uuid);
    }
    const [own] = await query<{ state: string; id: number | string }>(conn, {
        sql: "SELECT @@GLOBAL.gtid_binlog_state AS state, @@GLOBAL.server_id AS id",
    });
    return sql.splitMariadbGtids(sql.mariadbErrant(own.state, source.state), Number(own.id));
}

/**
 * A replica nobody has used: never pointed anywhere, holding no schema and no account beyond what
 * its image made. Only such a replica's own transactions are taken for initialisation work.
 */
export async function isFresh(conn: Connection, status: sql.ReplicaStatus): Promise<boolean> {
    if (status.configured) return false;
    const schemas = await query<{ name: string }>(conn, { sql: "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA" });
    if (!schemas.every((r) => sql.SYSTEM_SCHEMAS.includes(r.name.toLowerCase()))) return false;
    const users = await query<{ name: string }>(conn, { sql: "SELECT DISTINCT User AS name FROM mysql.user" });
    return users.every((r) => sql.IMAGE_ACCOUNTS.includes(r.name));
}

/**
 * Points the replica at its source and waits until it has caught up with what the source had
 * executed when this began. Used by create and update alike. On failure nothing is left configured.
 * `seededBefore` is how it was seeded earlier: reported again unless it is seeded now.
 */
export async function pointReplica(i: ReplicationInputs, seededBefore: sql.SeedMethod | "" = ""): Promise<ReplicationOutputs> {
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const remaining = () => secondsUntil(deadline);

    // What the source has executed now, read as the replication user: this also proves the credentials.
    const probe: Endpoint = { host: i.sourceProbeHost, port: i.sourceProbePort, user: i.user, password: i.password };
    // The source's container was healthy before this ran: one that does not answer soon is paused or gone,
    // and waiting the whole timeout for it would only stall the up.
    const probeSource = () => withConnection(probe, Math.min(remaining(), SOURCE_ANSWER_SECONDS), "source", readSource)
        .catch((err) => { throw fail(i, (err as Error).message); });
    let source = await probeSource();
    const seededBy = await seedIfNeeded(i, probe, source.version, deadline);

    return withConnection(adminEndpoint(i), remaining(), "replica", async (conn) => {
        // seedIfNeeded has refused a replica of another flavor.
        const v = await readServerVersion(conn);
        const d = sql.replicationDialect(v);
        return withSuperReadOnlyLifted(conn, v, async () => {
            const before = await replicaStatus(conn, d);
            const wasRunning = before.ioRunning !== "No" || before.sqlRunning !== "No";
            const fresh = await isFresh(conn, before);
            let ahead = await aheadOfSource(conn, v, source);
            if (ahead.own !== "") {
                if (!fresh) {
                    throw fail(i, `the replica holds transactions the source does not have (${ahead.own}); ` +
                        "refusing to point it at this source. Nothing on it was changed. Remove them by hand " +
                        "(or recreate the replica's volume) if they are not wanted.");
                }
                // A fresh replica's own transactions come from its initialisation: drop them.
                if (wasRunning) await query(conn, d.stop);
                await execAll(conn, d.resetOwnGtids);
                ahead = await aheadOfSource(conn, v, source);
            }
            if (ahead.others !== "") {
                // Transactions of other servers that the new source has not applied yet (it lags, e.g. a
                // sibling replica): hold this replica still and give the source time to catch up.
                if (wasRunning) await query(conn, d.stop);
                while (ahead.others !== "" && Date.now() < deadline) {
                    await sleep(250);
                    source = await probeSource();
                    ahead = await aheadOfSource(conn, v, source);
                }
                if (ahead.others !== "") {
                    if (wasRunning) await query(conn, d.start).catch(() => undefined);
                    throw fail(i, `the source ${i.sourceProbeHost}:${i.sourceProbePort} is behind the replica: it lacks ` +
                        `${ahead.others}, which the replica already has; waited ${i.timeoutSeconds} s. The replica was left as it was.`);
                }
            }
            // A server skips replicated events carrying its own server_id. A fresh server may reuse the
            // id of an earlier server at its index (its data discarded, or scaled down and up again),
            // and that server's transactions must not be skipped: the first catch-up runs under an id
            // no lab server has, and the server's own id comes back once it holds them.
            let [{ id }] = await query<{ id: number | string }>(conn, { sql: "SELECT @@GLOBAL.server_id AS id" });
            // An id left from a seeding that was cut short (a lost connection) is put back first.
            const own = sql.ownServerId(Number(id));
            if (own !== Number(id)) {
                await query(conn, d.stop);
                await query(conn, { sql: `SET GLOBAL server_id = ${own}` });
                id = own;
            }
            const seedingId = fresh ? sql.seedingServerId(Number(id)) : undefined;
            // A fresh replica is seeded at once, and delayed (if it is to be) only once it holds everything;
            // a delayed replica is not waited for: it applies what it has only after its delay.
            const delay = i.delaySeconds ?? 0;
            const firstDelay = fresh ? 0 : delay;
            const pointWith = (delaySeconds: number) => d.changeSource({
                host: i.sourceHost, port: i.sourcePort, user: i.user, password: i.password,
                connectRetry: i.connectRetry, retryCount: i.retryCount, delaySeconds,
            });
            try {
                await query(conn, d.stop);
                if (seedingId !== undefined) await query(conn, { sql: `SET GLOBAL server_id = ${seedingId}` });
                await query(conn, pointWith(firstDelay));
                await query(conn, d.start);
                await waitCaughtUp(conn, d, firstDelay > 0 ? "" : source.gtids, deadline, i);
                if (seedingId !== undefined || firstDelay !== delay) {
                    await query(conn, d.stop);
                    if (seedingId !== undefined) await query(conn, { sql: `SET GLOBAL server_id = ${Number(id)}` });
                    if (firstDelay !== delay) await query(conn, pointWith(delay));
                    await query(conn, d.start);
                    // Connected and applying again before anything is reported.
                    await waitCaughtUp(conn, d, delay > 0 ? "" : source.gtids, deadline, i);
                }
                // How it was seeded stays on record until it is seeded again.
                return { ...i, ...(await statusOf(conn, d, v)), seededBy: seededBy ?? seededBefore };
            } catch (err) {
                if (seedingId !== undefined) {
                    // Stopped first: the id can only change while replication is stopped.
                    await query(conn, d.stop).catch(() => undefined);
                    await query(conn, { sql: `SET GLOBAL server_id = ${Number(id)}` }).catch((e) => {
                        throw fail(i, `${(err as Error).message}; putting server_id ${Number(id)} back failed too: ${(e as Error).message}`);
                    });
                }
                // Leave no half-configured replica behind.
                await execAll(conn, [d.stop, d.resetReplica]).catch(() => undefined);
                throw err instanceof Error && err.message.startsWith("replication on ") ? err : fail(i, (err as Error).message);
            }
        });
    });
}

/**
 * Decides how the replica gets what it lacks (sql.chooseSeed) before anything on it changes, and
 * copies the source into it when that is the way. Returns the method when the replica was fresh
 * (seeded now), undefined when it already held data.
 */
async function seedIfNeeded(i: ReplicationInputs, probe: Endpoint, sourceVersion: sql.ServerVersion,
    deadline: number): Promise<sql.SeedMethod | undefined> {
    const remaining = () => secondsUntil(deadline);
    const plan = await withConnection(adminEndpoint(i), remaining(), "replica", async (conn) => {
        const v = await readServerVersion(conn);
        if (v.flavor !== sourceVersion.flavor) throw new Error(`the replica runs ${v.flavor} but the source runs ${sourceVersion.flavor}`);
        const fresh = await isFresh(conn, await replicaStatus(conn, sql.replicationDialect(v)));
        const missing = await withConnection(probe, remaining(), "source", (src) => seed.purgedMissing(conn, src, v, fresh));
        return {
            fresh,
            method: sql.chooseSeed({
                mode: i.seed ?? "auto", fresh, purgedMissing: missing, snapshot: sql.snapshotMethod(v),
                serverVersion: sql.describeVersion(v),
            }),
        };
    }).catch((err) => { throw fail(i, (err as Error).message); });
    if (plan.method !== "binlog") {
        const donor: Endpoint = { host: i.sourceProbeHost, port: i.sourceProbePort, user: i.donorUser ?? "root", password: i.donorPassword ?? "" };
        await seed.snapshot({
            replica: adminEndpoint(i), replicaContainer: i.replicaInstance, sourceHost: i.sourceHost, sourcePort: i.sourcePort,
            donor,
        }, plan.method, deadline).catch((err) => { throw fail(i, (err as Error).message); });
    }
    return plan.fresh ? plan.method : undefined;
}

async function waitCaughtUp(conn: Connection, d: sql.ReplicationDialect, gtids: string, deadline: number,
    i: ReplicationInputs): Promise<void> {
    let status = await replicaStatus(conn, d);
    for (;;) {
        if (status.sqlRunning === "No" && status.lastSqlErrno !== 0) {
            throw fail(i, `the SQL thread stopped: error ${status.lastSqlErrno}: ${status.lastSqlError}`);
        }
        if (status.ioRunning !== "Yes" && sql.PERMANENT_IO_ERRORS.includes(status.lastIoErrno)) {
            throw fail(i, `the IO thread cannot reach the source ${i.sourceHost}:${i.sourcePort}: ` +
                `error ${status.lastIoErrno}: ${status.lastIoError}`);
        }
        if (status.ioRunning === "Yes" && status.sqlRunning === "Yes") {
            const [row] = await query<{ reached: number | string }>(conn, d.waitForGtids(gtids, 1));
            if (Number(row.reached) === 1) return;
        } else {
            await sleep(250);
        }
        if (Date.now() >= deadline) {
            throw fail(i, `timed out waiting for the replica to catch up with the source ${i.sourceHost}:${i.sourcePort}` +
                ` (IO thread: ${status.ioRunning}, SQL thread: ${status.sqlRunning}` +
                (status.lastIoError ? `, last IO error ${status.lastIoErrno}: ${status.lastIoError}` : "") +
                (status.lastSqlError ? `, last SQL error ${status.lastSqlErrno}: ${status.lastSqlError}` : "") + ")");
        }
        status = await replicaStatus(conn, d);
    }
}

async function statusOf(conn: Connection, d: sql.ReplicationDialect, v: sql.ServerVersion): Promise<ReplicationStatus> {
    const s = await replicaStatus(conn, d);
    return {
        ioRunning: s.ioRunning,
        sqlRunning: s.sqlRunning,
        actualSourceHost: s.sourceHost,
        actualSourcePort: s.sourcePort,
        secondsBehind: s.secondsBehind,
        lastIoError: s.lastIoError,
        lastSqlError: s.lastSqlError,
        serverVersion: sql.describeVersion(v),
        actualDelaySeconds: s.sqlDelay,
    };
}

/** Drift found by read (stopped threads, pointed elsewhere, reset): repaired in place by re-pointing. */
function drifted(olds: Partial<ReplicationOutputs>): boolean {
    return !olds.leftOut && olds.ioRunning !== undefined && !replicatesAsDeclared(olds as ReplicationOutputs);
}

/** A left-out replica's record: nothing is read from it or done to it. */
function leftOutRecord(i: ReplicationInputs): ReplicationOutputs {
    return {
        ...i, ioRunning: "left out", sqlRunning: "left out", actualSourceHost: "", actualSourcePort: 0, secondsBehind: null,
        lastIoError: i.leftOut, lastSqlError: "", serverVersion: "", actualDelaySeconds: undefined, seededBy: "",
    };
}

/** True when the status read from the replica says it replicates from where the inputs say. */
export function replicatesAsDeclared(o: Pick<ReplicationOutputs, "ioRunning" | "sqlRunning" | "actualSourceHost" |
    "actualSourcePort" | "sourceHost" | "sourcePort" | "delaySeconds" | "actualDelaySeconds">): boolean {
    return o.ioRunning === "Yes" && o.sqlRunning === "Yes" &&
        o.actualSourceHost === o.sourceHost && Number(o.actualSourcePort) === Number(o.sourcePort) &&
        (o.actualDelaySeconds === undefined || Number(o.actualDelaySeconds) === (o.delaySeconds ?? 0));
}

/** The provider. Every module it needs is loaded inside its methods (see connection.ts). */
export const replicationProvider: pulumi.dynamic.ResourceProvider<ReplicationInputs, ReplicationOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const need = (key: keyof ReplicationInputs, ok: boolean, what: string) => {
            if (!ok) failures.push({ property: key, reason: `${key} must be ${what}, got ${JSON.stringify(key.toLowerCase().includes("password") ? "<secret>" : news[key])}` });
        };
        const port = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
        const text = (v: unknown) => typeof v === "string" && v.length > 0;
        need("replicaName", text(news.replicaName), "a non-empty string");
        need("adminHost", text(news.adminHost), "a host name or address");
        need("adminPort", port(news.adminPort), "a port from 1 to 65535");
        need("adminUser", text(news.adminUser), "a user name");
        need("adminPassword", typeof news.adminPassword === "string", "a string");
        need("sourceHost", text(news.sourceHost), "a host name or address");
        need("sourcePort", port(news.sourcePort), "a port from 1 to 65535");
        need("sourceProbeHost", text(news.sourceProbeHost), "a host name or address");
        need("sourceProbePort", port(news.sourceProbePort), "a port from 1 to 65535");
        need("user", text(news.user) && news.user.length <= 32, "a user name of 1 to 32 characters");
        need("password", typeof news.password === "string" && news.password.length > 0, "a non-empty string");
        need("connectRetry", Number.isInteger(news.connectRetry) && news.connectRetry >= 1, "a whole number of seconds, at least 1");
        need("retryCount", Number.isInteger(news.retryCount) && news.retryCount >= 1, "a whole number, at least 1");
        need("timeoutSeconds", Number.isInteger(news.timeoutSeconds) && news.timeoutSeconds >= 1, "a whole number of seconds, at least 1");
        need("seed", news.seed === undefined || sql.SEED_MODES.includes(news.seed), `one of ${sql.SEED_MODES.join(", ")}`);
        need("delaySeconds", news.delaySeconds === undefined || (Number.isInteger(news.delaySeconds) && news.delaySeconds >= 0),
            "a whole number of seconds, at least 0");
        return { inputs: news, failures };
    },

    async diff(_id, olds, news) {
        // State written before the admin endpoint had one name across the providers says replicaHost/Port.
        const o = withAdminKeys(olds);
        const replaces = changed(o, news, REPLACE_KEYS);
        const updates = changed(o, news, [...REPOINT_KEYS, ...RECORD_KEYS]);
        const leftOutChanged = (o.leftOut ?? "") !== (news.leftOut ?? "");
        return {
            changes: replaces.length > 0 || updates.length > 0 || leftOutChanged || drifted(o),
            replaces,
            deleteBeforeReplace: true,
        };
    },

    async create(inputs) {
        const outs = inputs.leftOut ? leftOutRecord(inputs) : await pointReplica(inputs);
        return { id: describeEndpoint(adminEndpoint(inputs)), outs };
    },

    async read(id, props) {
        if (!props) return { id, props };
        const p = props as ReplicationOutputs;
        if (p.leftOut) return { id, props: p };
        const status = await withConnection(adminEndpoint(p), GONE_AFTER_SECONDS, "replica", async (conn) => {
            const v = await readServerVersion(conn);
            return statusOf(conn, sql.replicationDialect(v), v);
        }).catch((err): Partial<ReplicationStatus> => {
            // A replica that is down does not replicate; say so and let the next up repair it.
            if (!isGone(err)) throw err;
            return { ioRunning: "unreachable", sqlRunning: "unreachable", lastIoError: (err as Error).message };
        });
        return { id, props: { ...p, ...status } };
    },

    async update(_id, olds, news) {
        const o = withAdminKeys(olds);
        if (news.leftOut) return { outs: leftOutRecord(news) };
        const seededBy = (o as Partial<ReplicationOutputs>).seededBy ?? "";
        // Rejoined (Topology pointed it at the source already): re-pointing here checks and records it.
        if (o.leftOut) return { outs: await pointReplica(news, seededBy) };
        if (changed(o, news, REPOINT_KEYS).length === 0 && !drifted(o)) {
            // Only how Pulumi works with the replica changed: record it, and leave replication running.
            const status = await withConnection(adminEndpoint(news), news.timeoutSeconds, "replica", async (conn) => {
                const v = await readServerVersion(conn);
                return statusOf(conn, sql.replicationDialect(v), v);
            }).catch((err) => { throw fail(news, (err as Error).message); });
            return { outs: { ...news, ...status, seededBy } };
        }
        return { outs: await pointReplica(news, seededBy) };
    },

    async delete(_id, props) {
        try {
            await withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "replica", async (conn) => {
                const v = await readServerVersion(conn);
                const d = sql.replicationDialect(v);
                await withSuperReadOnlyLifted(conn, v, () => execAll(conn, [d.stop, d.resetReplica]));
            });
        } catch (err) {
            // A replica whose server is already gone has nothing left to stop.
            if (!isGone(err)) throw err;
        }
    },
};

/** Arguments of a Replication resource. */
export interface ReplicationArgs {
    /** A name for messages, e.g. the replica's container name. */
    readonly replicaName: pulumi.Input<string>;
    /** The replica as Pulumi reaches it (its published address and port). */
    readonly adminHost: pulumi.Input<string>;
    readonly adminPort: pulumi.Input<number>;
    /** The replica's container id: a new container (e.g. recreated after removal) is re-pointed. */
    readonly replicaInstance?: pulumi.Input<string>;
    /** Defaults to root. */
    readonly adminUser?: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
    /** The source as the replica reaches it. */
    readonly sourceHost: pulumi.Input<string>;
    /** Defaults to 3306. */
    readonly sourcePort?: pulumi.Input<number>;
    /** The source as Pulumi reaches it. */
    readonly sourceProbeHost: pulumi.Input<string>;
    readonly sourceProbePort: pulumi.Input<number>;
    readonly user: pulumi.Input<string>;
    readonly password: pulumi.Input<string>;
    /** Seconds between reconnect attempts. Defaults to 2. */
    readonly connectRetry?: pulumi.Input<number>;
    /** Reconnect attempts before giving up (MySQL). Defaults to 86400. */
    readonly retryCount?: pulumi.Input<number>;
    /** Bound on create and update waits. Defaults to 120 s. */
    readonly timeoutSeconds?: pulumi.Input<number>;
    /** Why the replica is left out of replication (from Topology); "" (the default) when it is not. */
    readonly leftOut?: pulumi.Input<string>;
    /** Seconds the replica stays behind on purpose; defaults to 0. Changed in place. */
    readonly delaySeconds?: pulumi.Input<number>;
    /** How a fresh replica gets the source's history: auto (the default), binlog or snapshot. */
    readonly seed?: pulumi.Input<sql.SeedMode>;
    /** An account on the source that may copy it for a snapshot; defaults to root. */
    readonly donorUser?: pulumi.Input<string>;
    /** Its password; without one no snapshot can be taken. */
    readonly donorPassword?: pulumi.Input<string>;
}

/**
 * GTID replication from a source to one replica, configured with SQL. Changing the source or the
 * credentials re-points the replica in place; `pulumi refresh` shows stopped or re-pointed replication.
 */
export class Replication extends pulumi.dynamic.Resource {
    declare public readonly ioRunning: pulumi.Output<string>;
    declare public readonly sqlRunning: pulumi.Output<string>;
    declare public readonly actualSourceHost: pulumi.Output<string>;
    declare public readonly actualSourcePort: pulumi.Output<number>;
    declare public readonly secondsBehind: pulumi.Output<number | null>;
    declare public readonly lastIoError: pulumi.Output<string>;
    declare public readonly lastSqlError: pulumi.Output<string>;
    declare public readonly serverVersion: pulumi.Output<string>;
    declare public readonly actualDelaySeconds: pulumi.Output<number | undefined>;
    declare public readonly seededBy: pulumi.Output<string>;

    constructor(name: string, args: ReplicationArgs, opts?: pulumi.CustomResourceOptions) {
        super(replicationProvider, name, {
            ...args,
            replicaInstance: args.replicaInstance ?? "",
            adminUser: args.adminUser ?? "root",
            sourcePort: args.sourcePort ?? 3306,
            connectRetry: args.connectRetry ?? 2,
            retryCount: args.retryCount ?? 86400,
            timeoutSeconds: args.timeoutSeconds ?? 120,
            leftOut: args.leftOut ?? "",
            delaySeconds: args.delaySeconds ?? 0,
            seed: args.seed ?? "auto",
            donorUser: args.donorUser ?? "root",
            donorPassword: pulumi.secret(args.donorPassword ?? ""),
            adminPassword: pulumi.secret(args.adminPassword),
            password: pulumi.secret(args.password),
            ioRunning: undefined,
            sqlRunning: undefined,
            actualSourceHost: undefined,
            actualSourcePort: undefined,
            secondsBehind: undefined,
            lastIoError: undefined,
            lastSqlError: undefined,
            serverVersion: undefined,
            actualDelaySeconds: undefined,
            seededBy: undefined,
        }, {
            ...opts,
            additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword", "password", "donorPassword"],
        }, "replication", "Replication");
    }
}
