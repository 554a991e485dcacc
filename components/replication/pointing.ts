/**
 * Pointing a replica at its source: seeded first when it must be, then pointed by GTID and waited for
 * until it has caught up. The Replication provider's create and update, and a switchover's new
 * target, do it this way.
 */
import type { Connection } from "mysql2/promise";
import {
    AdminInputs, Endpoint, adminEndpoint, describeEndpoint, execAll, query, readServerVersion, secondsUntil, sleep,
    withConnection, withSuperReadOnlyLifted,
} from "./connection";
import * as seed from "./seed";
import { type SourceState, aheadOfSource, isFresh, readSource, replicaStatus } from "./serverState";
import { type ReplicationDialect, ownServerId, replicationDialect, seedingServerId, setServerId } from "./sql/replication";
import { type SeedMethod, type SeedMode, chooseSeed, snapshotMethod } from "./sql/seeding";
import { PERMANENT_IO_ERRORS, serverIdQuery } from "./sql/status";
import { type ServerVersion, describeVersion } from "./sql/vocabulary";

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
    readonly seed?: SeedMode;
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
    readonly seededBy?: SeedMethod | "";
}

export type ReplicationOutputs = ReplicationInputs & ReplicationStatus;

/** How long re-pointing a replica waits for its source to answer. */
const SOURCE_ANSWER_SECONDS = 20;

export function fail(i: ReplicationInputs, message: string): Error {
    return new Error(`replication on ${i.replicaName} (${describeEndpoint(adminEndpoint(i))}): ${message}`);
}

/** What the steps of pointReplica share: the replica's open connection and its dialect, the bound, the inputs. */
interface Pointing {
    readonly i: ReplicationInputs;
    readonly conn: Connection;
    readonly v: ServerVersion;
    readonly d: ReplicationDialect;
    readonly deadline: number;
    /** Never pointed anywhere, holding nothing of its own (see isFresh). */
    readonly fresh: boolean;
}

/**
 * Points the replica at its source and waits until it has caught up with what the source had
 * executed when this began. Used by create and update alike. On failure nothing is left configured.
 * `seededBefore` is how it was seeded earlier: reported again unless it is seeded now.
 */
export async function pointReplica(i: ReplicationInputs, seededBefore: SeedMethod | "" = ""): Promise<ReplicationOutputs> {
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const remaining = () => secondsUntil(deadline);

    // What the source has executed now, read as the replication user: this also proves the credentials.
    const probe: Endpoint = { host: i.sourceProbeHost, port: i.sourceProbePort, user: i.user, password: i.password };
    // The source's server had answered before this ran: one that does not answer soon is paused or gone,
    // and waiting the whole timeout for it would only stall the up.
    const probeSource = () => withConnection(probe, Math.min(remaining(), SOURCE_ANSWER_SECONDS), "source", readSource)
        .catch((err) => { throw fail(i, (err as Error).message); });
    const sourceNow = await probeSource();
    const seededBy = await seedIfNeeded(i, probe, sourceNow.version, deadline);

    return withConnection(adminEndpoint(i), remaining(), "replica", async (conn) => {
        // seedIfNeeded has refused a replica of another flavor.
        const v = await readServerVersion(conn);
        const d = replicationDialect(v);
        return withSuperReadOnlyLifted(conn, v, async () => {
            const before = await replicaStatus(conn, d);
            const p: Pointing = { i, conn, v, d, deadline, fresh: await isFresh(conn, before) };
            const source = await settleAhead(p, before.ioRunning !== "No" || before.sqlRunning !== "No", sourceNow, probeSource);
            const status = await replicate(p, source.gtids);
            // How it was seeded stays on record until it is seeded again.
            return { ...i, ...status, seededBy: seededBy ?? seededBefore };
        });
    });
}

/**
 * Makes sure the replica holds nothing the source lacks: its own transactions are refused, unless it
 * is fresh (they come from its initialisation: dropped); other servers' ones the source has not
 * applied yet (it lags, e.g. a sibling replica) are waited for, the replica held still meanwhile.
 * Resolves to the source's state as last read.
 */
async function settleAhead(p: Pointing, wasRunning: boolean, sourceNow: SourceState, probeSource: () => Promise<SourceState>): Promise<SourceState> {
    const { i, conn, v, d } = p;
    let source = sourceNow;
    let ahead = await aheadOfSource(conn, v, source);
    if (ahead.own !== "") {
        if (!p.fresh) {
            throw fail(i, `the replica holds transactions the source does not have (${ahead.own}); ` +
                "refusing to point it at this source. Nothing on it was changed. Remove them by hand " +
                "(or recreate the replica's volume) if they are not wanted.");
        }
        if (wasRunning) await query(conn, d.stop);
        await execAll(conn, d.resetOwnGtids);
        ahead = await aheadOfSource(conn, v, source);
    }
    if (ahead.others === "") return source;
    if (wasRunning) await query(conn, d.stop);
    while (ahead.others !== "" && Date.now() < p.deadline) {
        await sleep(250);
        source = await probeSource();
        ahead = await aheadOfSource(conn, v, source);
    }
    if (ahead.others !== "") {
        if (wasRunning) await query(conn, d.start).catch(() => undefined);
        throw fail(i, `the source ${i.sourceProbeHost}:${i.sourceProbePort} is behind the replica: it lacks ` +
            `${ahead.others}, which the replica already has; waited ${i.timeoutSeconds} s. The replica was left as it was.`);
    }
    return source;
}

/**
 * Points the replica at the source, starts it and waits until it holds `gtids`; resolves to its
 * status. On failure it is left unconfigured, with its own server_id.
 */
async function replicate(p: Pointing, gtids: string): Promise<ReplicationStatus> {
    const { i, conn, d } = p;
    // A server skips replicated events carrying its own server_id. A fresh server may reuse the
    // id of an earlier server at its index (its data discarded, or scaled down and up again),
    // and that server's transactions must not be skipped: the first catch-up runs under an id
    // no lab server has, and the server's own id comes back once it holds them.
    const [{ id: current }] = await query<{ id: number | string }>(conn, serverIdQuery);
    // An id left from a seeding that was cut short (a lost connection) is put back first.
    const id = ownServerId(Number(current));
    if (id !== Number(current)) {
        await query(conn, d.stop);
        await query(conn, setServerId(id));
    }
    const seedingId = p.fresh ? seedingServerId(id) : undefined;
    // A fresh replica is seeded at once, and delayed (if it is to be) only once it holds everything;
    // a delayed replica is not waited for: it applies what it has only after its delay.
    const delay = i.delaySeconds ?? 0;
    const firstDelay = p.fresh ? 0 : delay;
    const pointWith = (delaySeconds: number) => d.changeSource({
        host: i.sourceHost, port: i.sourcePort, user: i.user, password: i.password,
        connectRetry: i.connectRetry, retryCount: i.retryCount, delaySeconds,
    });
    try {
        await query(conn, d.stop);
        if (seedingId !== undefined) await query(conn, setServerId(seedingId));
        await query(conn, pointWith(firstDelay));
        await query(conn, d.start);
        await waitCaughtUp(conn, d, firstDelay > 0 ? "" : gtids, p.deadline, i);
        if (seedingId !== undefined || firstDelay !== delay) {
            await query(conn, d.stop);
            if (seedingId !== undefined) await query(conn, setServerId(id));
            if (firstDelay !== delay) await query(conn, pointWith(delay));
            await query(conn, d.start);
            // Connected and applying again before anything is reported.
            await waitCaughtUp(conn, d, delay > 0 ? "" : gtids, p.deadline, i);
        }
        return await statusOf(conn, d, p.v);
    } catch (err) {
        if (seedingId !== undefined) {
            // Stopped first: the id can only change while replication is stopped.
            await query(conn, d.stop).catch(() => undefined);
            await query(conn, setServerId(id)).catch((e) => {
                throw fail(i, `${(err as Error).message}; putting server_id ${id} back failed too: ${(e as Error).message}`);
            });
        }
        // Leave no half-configured replica behind.
        await execAll(conn, [d.stop, d.resetReplica]).catch(() => undefined);
        throw err instanceof Error && err.message.startsWith("replication on ") ? err : fail(i, (err as Error).message);
    }
}

/**
 * Decides how the replica gets what it lacks (chooseSeed) before anything on it changes, and
 * copies the source into it when that is the way. Returns the method when the replica was fresh
 * (seeded now), undefined when it already held data.
 */
async function seedIfNeeded(i: ReplicationInputs, probe: Endpoint, sourceVersion: ServerVersion,
    deadline: number): Promise<SeedMethod | undefined> {
    const remaining = () => secondsUntil(deadline);
    const plan = await withConnection(adminEndpoint(i), remaining(), "replica", async (conn) => {
        const v = await readServerVersion(conn);
        if (v.flavor !== sourceVersion.flavor) throw new Error(`the replica runs ${v.flavor} but the source runs ${sourceVersion.flavor}`);
        const fresh = await isFresh(conn, await replicaStatus(conn, replicationDialect(v)));
        const missing = await withConnection(probe, remaining(), "source", (src) => seed.purgedMissing(conn, src, v, fresh));
        return {
            fresh,
            method: chooseSeed({
                mode: i.seed ?? "auto", fresh, purgedMissing: missing, snapshot: snapshotMethod(v),
                serverVersion: describeVersion(v),
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

async function waitCaughtUp(conn: Connection, d: ReplicationDialect, gtids: string, deadline: number,
    i: ReplicationInputs): Promise<void> {
    let status = await replicaStatus(conn, d);
    for (;;) {
        if (status.sqlRunning === "No" && status.lastSqlErrno !== 0) {
            throw fail(i, `the SQL thread stopped: error ${status.lastSqlErrno}: ${status.lastSqlError}`);
        }
        if (status.ioRunning !== "Yes" && PERMANENT_IO_ERRORS.includes(status.lastIoErrno)) {
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

export async function statusOf(conn: Connection, d: ReplicationDialect, v: ServerVersion): Promise<ReplicationStatus> {
    const s = await replicaStatus(conn, d);
    return {
        ioRunning: s.ioRunning,
        sqlRunning: s.sqlRunning,
        actualSourceHost: s.sourceHost,
        actualSourcePort: s.sourcePort,
        secondsBehind: s.secondsBehind,
        lastIoError: s.lastIoError,
        lastSqlError: s.lastSqlError,
        serverVersion: describeVersion(v),
        actualDelaySeconds: s.sqlDelay,
    };
}
