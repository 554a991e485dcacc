import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "mysql2/promise";
import { Endpoint, connect, execAll, query, readServerVersion, secondsUntil, sleep, withSuperReadOnlyLifted } from "./connection";
import { aheadOfSource, isFresh, pointReplica, readSource, replicaStatus } from "./replication";
import * as sql from "./sql";

/**
 * Which server is the source, and which servers are left out of replication. Created, it only
 * records the choice (the Replication and ServerRole resources set the lab up); updated with another
 * sourceIndex, it moves the source.
 *
 * Planned switchover (the current source answers), in the order MySQL Shell's setPrimaryInstance
 * and orchestrator's graceful takeover use:
 *   checks (nothing changes): every server answers; the target replicates from the source with both
 *     threads running, holds no transaction of its own, and catches up within the timeout;
 *   freeze: the old source stops taking writes (commits in flight finish first), and its final
 *     GTID set is read;
 *   drain: every other server reaches that set;
 *   swap: the target stops replicating; the old source (fenced) and every other server replicate
 *     from it by GTID auto-positioning; the target opens last.
 * Any failure after the freeze puts the old source back as it was and names the step.
 *
 * Forced failover (the current source does not answer; only with allowFailover), as MySQL Shell's
 * forcePrimaryInstance: every reachable replica stops receiving and applies what it has received;
 * the target must hold everything any of them has; it is promoted, the others follow it, and the
 * old source is left out. A left-out server is fenced as soon as it answers and rejoined (by any
 * later up) if it holds nothing the source lacks; otherwise it stays out, read-only, and the reason
 * names its extra GTIDs.
 */

export interface TopologyServer {
    /** The name other lab containers reach it by (its container name). */
    readonly name: string;
    /** Where Pulumi reaches it. */
    readonly adminHost: string;
    readonly adminPort: number;
}

export interface TopologyInputs {
    /** Every server of the lab, by index. */
    readonly servers: readonly TopologyServer[];
    readonly sourceIndex: number;
    readonly adminUser: string;
    readonly adminPassword: string;
    /** Replication credentials, for pointing servers at the new source. */
    readonly user: string;
    readonly password: string;
    readonly connectRetry: number;
    readonly retryCount: number;
    /** Bound on each wait of a switchover. */
    readonly timeoutSeconds: number;
    /** Whether a new sourceIndex may be forced while the current source does not answer. */
    readonly allowFailover: boolean;
}

/** Servers left out of replication, by index (as a string), with the reason. */
export type LeftOut = Record<string, string>;

export interface TopologyOutputs extends TopologyInputs {
    /** What the last change did, for the record. */
    readonly lastChange: string;
    readonly leftOut: LeftOut;
}

interface Member {
    readonly index: number;
    readonly server: TopologyServer;
    readonly conn: Connection;
    readonly version: sql.ServerVersion;
}

function adminOf(i: TopologyInputs, s: TopologyServer): Endpoint {
    return { host: s.adminHost, port: s.adminPort, user: i.adminUser, password: i.adminPassword };
}

function label(m: { index: number; server: TopologyServer }): string {
    return `server ${m.index} (${m.server.name})`;
}

/** What `m` has executed, in its flavor's GTID format (what a replica waits for). */
async function executed(m: Member): Promise<string> {
    return String((await readSource(m.conn)).gtids ?? "");
}

/** Transactions `m` has executed that `source` has not, written on `m` itself (errant). */
async function ownErrant(m: Member, source: Member): Promise<string> {
    return (await aheadOfSource(m.conn, m.version, await readSource(source.conn))).own;
}

async function reaches(m: Member, gtids: string, seconds: number): Promise<boolean> {
    const [row] = await query<{ reached: number | string }>(m.conn, sql.replicationDialect(m.version).waitForGtids(gtids, seconds));
    return Number(row.reached) === 1;
}

function status(m: Member): Promise<sql.ReplicaStatus> {
    return replicaStatus(m.conn, sql.replicationDialect(m.version));
}

/** Points `m` at `source` by GTID auto-positioning and starts it. */
async function pointAt(i: TopologyInputs, m: Member, source: { server: TopologyServer }, formerSource: boolean): Promise<void> {
    const d = sql.replicationDialect(m.version);
    await withSuperReadOnlyLifted(m.conn, m.version, async () => {
        await query(m.conn, d.stop);
        if (formerSource) await execAll(m.conn, sql.switchoverDialect(m.version).beforeReplicating);
        await query(m.conn, d.changeSource({
            host: source.server.name, port: 3306, user: i.user, password: i.password, connectRetry: i.connectRetry, retryCount: i.retryCount,
        }));
        await query(m.conn, d.start);
    });
}

type Opened = Member | { index: number; server: TopologyServer; error: string };

function isOpen(m: Opened): m is Member {
    return "conn" in m;
}

async function closeAll(members: readonly Opened[]): Promise<void> {
    await Promise.all(members.filter(isOpen).map((m) => m.conn.end().catch(() => m.conn.destroy())));
}

/** Connects to every server (a short bound each); the ones that do not answer come back with the reason. */
async function openAll(i: TopologyInputs): Promise<Opened[]> {
    return Promise.all(i.servers.map(async (server, index) => {
        let conn: Connection | undefined;
        try {
            conn = await connect(adminOf(i, server), 10, `server ${index}`);
            return { index, server, conn, version: await readServerVersion(conn) } as Member;
        } catch (err) {
            await conn?.end().catch(() => conn?.destroy());
            return { index, server, error: (err as Error).message };
        }
    }));
}

async function writable(m: Member): Promise<boolean> {
    const [row] = await query<{ read_only: unknown }>(m.conn, sql.readOnlyQuery(m.version));
    return Number(row.read_only) === 0;
}

/** Why `m` is not a healthy replica of `source` with nothing of its own, or "" when it is. */
async function replicaProblem(m: Member, source: Member): Promise<string> {
    const st = await status(m);
    if (!st.configured || st.sourceHost !== source.server.name || st.ioRunning !== "Yes" || st.sqlRunning !== "Yes") {
        return `${label(m)} is not a healthy replica of ${label(source)} (source ${st.sourceHost || "none"}, ` +
            `IO thread ${st.ioRunning}, SQL thread ${st.sqlRunning}${st.lastIoError ? `, last IO error: ${st.lastIoError}` : ""}` +
            `${st.lastSqlError ? `, last SQL error: ${st.lastSqlError}` : ""})`;
    }
    const errant = await ownErrant(m, source);
    return errant === "" ? "" : `${label(m)} holds transactions ${label(source)} does not have: ${errant}`;
}

/** The one server acting as a source (writable, not replicating), if exactly one does; undefined otherwise. */
export async function actingSource(i: TopologyInputs): Promise<number | undefined> {
    const opened = await openAll(i);
    const members = opened.filter(isOpen);
    try {
        if (members.length !== opened.length) return undefined;
        const acting: number[] = [];
        for (const m of members) if ((await writable(m)) && !(await status(m)).configured) acting.push(m.index);
        return acting.length === 1 ? acting[0] : undefined;
    } finally {
        await closeAll(opened);
    }
}

/** Waits (bounded) for `m` to be a healthy replica of `source`; the problem when it is not, or "". */
async function healthyReplica(m: Member, source: Member, until: number): Promise<string> {
    for (;;) {
        const problem = await replicaProblem(m, source);
        // A replica whose source has just restarted reconnects within its retry interval.
        if (problem === "" || Date.now() >= until || !/IO thread Connecting/.test(problem)) return problem;
        await sleep(500);
    }
}

/**
 * Moves the source from `from` to `to`: a planned switchover, or a forced failover when `from` does not
 * answer. Servers from index `known` on were added by this same up: they take no part, except a new
 * target, which first joins as a replica of the current source (scale first, then move).
 */
export async function moveSource(i: TopologyInputs, from: number, to: number, leftOut: LeftOut,
    known = i.servers.length): Promise<{ lastChange: string; leftOut: LeftOut }> {
    const refuse = (why: string) => new Error(`sourceIndex ${from} -> ${to}: refused, nothing was changed: ${why}`);
    if (from < 0 || from >= i.servers.length) throw refuse(`the current source, server ${from}, is no longer in the lab; change replicaCount and sourceIndex in separate ups`);
    if (leftOut[String(to)] !== undefined) {
        throw refuse(`${label({ index: to, server: i.servers[to] })} is left out of replication (${leftOut[String(to)]}); ` +
            "it cannot become the source until it has rejoined");
    }
    const opened = await openAll(i);
    try {
        const sourceDown = opened[from];
        if (!isOpen(sourceDown)) {
            if (!i.allowFailover) {
                throw refuse(`the current source ${label(sourceDown)} does not answer (${sourceDown.error}). ` +
                    `If it is only stopped, run \`pulumi up\` with sourceIndex ${from} to start it again, then move the source. ` +
                    `To promote server ${to} without it (a forced failover), set allowFailover to true: whatever server ${from} ` +
                    "committed but had not yet sent to a replica is then lost.");
            }
            if (to >= known) throw refuse(`server ${to} is new in this up: a forced failover promotes only a replica that holds what the dead source sent`);
            return await failover(i, from, to, opened.slice(0, known), leftOut);
        }
        const lastChange = await switchover(i, from, to, opened.filter((m) => m.index < known || m.index === to), leftOut, refuse, known);
        return { lastChange, leftOut };
    } finally {
        await closeAll(opened);
    }
}

/** The planned switchover from `from` to `to` over the opened servers; resolves to a one-line account of it. */
async function switchover(i: TopologyInputs, from: number, to: number, opened: Opened[], leftOut: LeftOut,
    refuse: (why: string) => Error, known: number): Promise<string> {
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const remaining = () => secondsUntil(deadline);
    // Left-out servers take no part: they are not replicating from the source and stay as they are.
    const inPlay = opened.filter((m) => leftOut[String(m.index)] === undefined);
    const down = inPlay.filter((m) => !isOpen(m)) as { index: number; server: TopologyServer; error: string }[];
    if (down.length > 0) {
        throw refuse(`${down.map((m) => `${label(m)} does not answer (${m.error})`).join("; ")}; ` +
            "run `pulumi up` without changing sourceIndex to start it again first");
    }
    const members = inPlay as Member[];
    const source = members.find((m) => m.index === from)!;
    const target = members.find((m) => m.index === to)!;
    const others = members.filter((m) => m.index !== from && m.index !== to);

    // A target added by this up becomes a replica of the current source first; from then on a refusal
    // says so, since that much has changed.
    let joined = "";
    if (to >= known) {
        joined = await joinNew(i, target, source, refuse);
        refuse = (why) => new Error(`sourceIndex ${from} -> ${to}: refused: ${why}; only this was done: ${joined}, and it stays a replica`);
    }

    // Checks, before anything changes: the source is the source; every other server is a healthy
    // replica of it with nothing of its own; the target catches up in time.
    // (A source that restarted is read-only until the next up, but still the source.)
    if ((await status(source)).configured) {
        throw refuse(`${label(source)} is not acting as the source: it replicates from another server; \`npm run status\` shows the servers' roles`);
    }
    const targetDelay = (await status(target)).sqlDelay;
    if (targetDelay > 0) {
        throw refuse(`${label(target)} is a delayed replica (${targetDelay} s behind on purpose) and cannot become the source; ` +
            "set its delaySeconds to 0 in one up, then move the source");
    }
    const settle = Date.now() + Math.min(15, i.timeoutSeconds) * 1000;
    for (const m of [target, ...others]) {
        const problem = await healthyReplica(m, source, settle);
        if (problem) throw refuse(problem);
    }
    if (!(await reaches(target, await executed(source), remaining()))) {
        throw refuse(`${label(target)} did not catch up with ${label(source)} within ${i.timeoutSeconds} s`);
    }

    // From here on every step records its undo before it runs, so a step that half-failed is undone too.
    let step = "freeze";
    const undo: (() => Promise<unknown>)[] = [];
    try {
        // Waits for commits in flight, bounded by what is left of the timeout.
        await query(source.conn, { sql: `SET SESSION lock_wait_timeout = ${remaining()}` });
        undo.push(() => execAll(source.conn, sql.roleStatements(source.version, "source")));
        await execAll(source.conn, sql.switchoverDialect(source.version).freeze);
        await query(source.conn, sql.switchoverDialect(source.version).flushLogs);
        const final = await executed(source);

        step = "drain";
        for (const m of [target, ...others]) {
            // A delayed replica applies the rest after its delay, from the new source (GTIDs keep their place).
            if (m !== target && (await status(m)).sqlDelay > 0) continue;
            if (!(await reaches(m, final, remaining()))) throw new Error(`${label(m)} did not reach ${final} within the timeout (${i.timeoutSeconds} s)`);
        }

        step = "swap";
        const td = sql.replicationDialect(target.version);
        undo.push(() => pointAt(i, target, source, false));
        await withSuperReadOnlyLifted(target.conn, target.version, () => execAll(target.conn, [td.stop, td.resetReplica]));
        // The old source is fenced (persisted where the flavor can) before it replicates.
        const sd = sql.replicationDialect(source.version);
        undo.push(() => withSuperReadOnlyLifted(source.conn, source.version, () => execAll(source.conn, [sd.stop, sd.resetReplica])));
        await execAll(source.conn, sql.roleStatements(source.version, "replica"));
        await pointAt(i, source, target, true);
        for (const m of others) {
            undo.push(() => pointAt(i, m, source, false));
            await pointAt(i, m, target, false);
        }

        step = "open the new source";
        // Nothing may have committed on the old source since the freeze (MariaDB's read_only
        // does not stop accounts with READ_ONLY ADMIN, such as root).
        const after = await executed(source);
        if (after !== final) throw new Error(`${label(source)} committed transactions after the freeze (${final} -> ${after})`);
        undo.push(() => execAll(target.conn, sql.roleStatements(target.version, "replica")));
        await execAll(target.conn, sql.roleStatements(target.version, "source"));
        return `${joined ? `${joined}, then ` : ""}switched the source from ${label(source)} to ${label(target)} at ${final}`;
    } catch (err) {
        const undone: string[] = [];
        for (const u of undo.reverse()) await u().catch((e) => undone.push((e as Error).message));
        throw new Error(`sourceIndex ${from} -> ${to}: the ${step} step failed: ${(err as Error).message}; ` +
            (undone.length === 0 ? `${label(source)} was put back as the source, writable` :
                `putting ${label(source)} back failed too: ${undone.join("; ")}`));
    }
}

/**
 * A server added by this up, to become the source: it must be fresh (an empty volume), and is made a
 * replica of the current source the way its Replication resource would (seeded from the binary log,
 * or a snapshot where the log is purged), caught up, ready for the switchover's checks.
 */
async function joinNew(i: TopologyInputs, m: Member, source: Member, refuse: (why: string) => Error): Promise<string> {
    if (!(await isFresh(m.conn, await status(m)))) {
        throw refuse(`${label(m)} is new in this up but holds data of its own, so it cannot be seeded from ${label(source)}`);
    }
    try {
        const outs = await pointReplica({
            replicaName: m.server.name, replicaInstance: "",
            adminHost: m.server.adminHost, adminPort: m.server.adminPort, adminUser: i.adminUser, adminPassword: i.adminPassword,
            sourceHost: source.server.name, sourcePort: 3306, sourceProbeHost: source.server.adminHost, sourceProbePort: source.server.adminPort,
            user: i.user, password: i.password, connectRetry: i.connectRetry, retryCount: i.retryCount,
            timeoutSeconds: i.timeoutSeconds, delaySeconds: 0, leftOut: "", seed: "auto", donorUser: i.adminUser, donorPassword: i.adminPassword,
        });
        return `added ${label(m)} as a replica of ${label(source)} (seeded by ${outs.seededBy || "binlog"})`;
    } catch (err) {
        throw refuse(`${label(m)} is new in this up and could not first be made a replica of ${label(source)}: ${(err as Error).message}`);
    }
}

/**
 * The forced failover from `from` (which does not answer) to `to`. Every reachable replica stops
 * receiving and applies its relay log; the target must then hold everything each of them holds,
 * and nothing of its own they lack. Servers that do not answer are left out.
 */
async function failover(i: TopologyInputs, from: number, to: number, opened: Opened[], leftOut: LeftOut): Promise<{ lastChange: string; leftOut: LeftOut }> {
    const refuse = (why: string) => new Error(`sourceIndex ${from} -> ${to} (forced failover): refused: ${why}`);
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const old = opened[from];
    const inPlay = opened.filter((m) => m.index !== from && leftOut[String(m.index)] === undefined);
    const members = inPlay.filter(isOpen);
    const down = inPlay.filter((m) => !isOpen(m));
    const target = members.find((m) => m.index === to);
    if (!target) throw refuse(`${label(opened[to])} does not answer either (${(opened[to] as { error: string }).error}); nothing was changed`);
    const others = members.filter((m) => m !== target);

    // Checks: every reachable server replicates from the old source and can still apply what it has.
    for (const m of members) {
        const st = await status(m);
        if (!st.configured || st.sourceHost !== old.server.name) {
            throw refuse(`${label(m)} does not replicate from ${label(old)} (its source: ${st.sourceHost || "none"}); nothing was changed`);
        }
        if (st.sqlRunning !== "Yes") {
            throw refuse(`${label(m)} cannot apply what it received: its SQL thread is ${st.sqlRunning}` +
                `${st.lastSqlError ? ` (${st.lastSqlError})` : ""}; nothing was changed`);
        }
        // Pulumi may fail to reach a source its replicas still reach (too many connections, the published
        // port): promoting then would leave two writable servers.
        if (st.ioRunning === "Yes") {
            throw refuse(`${label(m)} is still connected to ${label(old)}, which answers its replicas although it did not ` +
                `answer Pulumi (${(old as { error: string }).error}); a forced failover now would leave two sources; nothing was changed`);
        }
        if (m === target && st.sqlDelay > 0) {
            throw refuse(`${label(m)} is a delayed replica (${st.sqlDelay} s behind on purpose) and cannot become the source; nothing was changed`);
        }
    }

    let step = "stop receiving";
    const undo: (() => Promise<unknown>)[] = [];
    try {
        // Nothing more can arrive from the old source; each replica applies what it has.
        for (const m of members) {
            const d = sql.replicationDialect(m.version);
            undo.push(() => query(m.conn, d.startIo));
            await query(m.conn, d.stopIo);
        }
        step = "apply relay logs";
        for (const m of members) {
            // A delayed replica would take its delay: what it received is compared below instead.
            if ((await status(m)).sqlDelay > 0 && m !== target) continue;
            for (let st = await status(m); !sql.relayLogApplied(st); st = await status(m)) {
                if (st.sqlRunning !== "Yes") throw new Error(`${label(m)}'s SQL thread stopped: ${st.lastSqlError || st.sqlRunning}`);
                if (Date.now() >= deadline) throw new Error(`${label(m)} did not apply its relay log within ${i.timeoutSeconds} s`);
                await sleep(200);
            }
        }
        step = "compare";
        const targetState = await readSource(target.conn);
        for (const m of others) {
            const ahead = await aheadOfSource(m.conn, m.version, targetState);
            const more = [ahead.own, ahead.others, await receivedBeyond(m, target, targetState)].filter(Boolean).join(",");
            if (more) throw new Error(`${label(m)} has executed transactions ${label(target)} lacks (${more}); promote ${label(m)} instead`);
            const own = await ownErrant(target, m);
            if (own) throw new Error(`${label(target)} holds transactions of its own that ${label(m)} lacks: ${own}`);
        }

        step = "promote";
        const final = await executed(target);
        const td = sql.replicationDialect(target.version);
        undo.push(() => pointAt(i, target, old, false));
        await withSuperReadOnlyLifted(target.conn, target.version, () => execAll(target.conn, [td.stop, td.resetReplica]));
        for (const m of others) {
            undo.push(() => pointAt(i, m, old, false));
            await pointAt(i, m, target, false);
        }
        step = "open the new source";
        undo.push(() => execAll(target.conn, sql.roleStatements(target.version, "replica")));
        await execAll(target.conn, sql.roleStatements(target.version, "source"));

        const out: LeftOut = { ...leftOut };
        out[String(from)] = `did not answer when ${label(target)} was promoted by a forced failover at ${final} ` +
            `(${(old as { error: string }).error}); what it had not sent to a replica never reached the new source`;
        for (const m of down) out[String(m.index)] = `did not answer during the forced failover to ${label(target)}`;
        return {
            lastChange: `forced failover: ${label(old)} did not answer; promoted ${label(target)} at ${final}; ` +
                `left out: ${Object.keys(out).sort().map((k) => `server ${k}`).join(", ")}`,
            leftOut: out,
        };
    } catch (err) {
        const undone: string[] = [];
        for (const u of undo.reverse()) await u().catch((e) => undone.push((e as Error).message));
        throw new Error(`sourceIndex ${from} -> ${to} (forced failover): the ${step} step failed: ${(err as Error).message}; ` +
            (undone.length === 0 ? "every replica was put back as it was, replicating from the old source" :
                `putting the replicas back failed too: ${undone.join("; ")}`));
    }
}

/** What a delayed replica has received but not applied that `target` lacks; "" for any other replica. */
async function receivedBeyond(m: Member, target: Member, targetState: { state: string }): Promise<string> {
    const st = await status(m);
    if (st.sqlDelay === 0 || st.retrievedGtids === "") return "";
    if (m.version.flavor === "mariadb") return sql.mariadbErrant(st.retrievedGtids, targetState.state).join(",");
    const [row] = await query<{ beyond: string }>(target.conn, {
        sql: "SELECT GTID_SUBTRACT(?, @@GLOBAL.gtid_executed) AS beyond", params: [st.retrievedGtids.replace(/\s+/g, "")],
    });
    return row.beyond ?? "";
}

/**
 * Left-out servers, checked again: each one that answers is fenced (read-only) at once, then rejoined
 * (pointed at the source) if it holds nothing the source lacks. A fresh server (a new, empty
 * volume) is handed back to its Replication resource, which seeds it. `skip` are the ones just left out.
 */
export async function rejoin(i: TopologyInputs, leftOut: LeftOut, skip: readonly string[] = []): Promise<{ leftOut: LeftOut; notes: string[] }> {
    const out: LeftOut = {};
    const notes: string[] = [];
    const keys = Object.keys(leftOut).filter((k) => Number(k) < i.servers.length && Number(k) !== i.sourceIndex);
    const pending = keys.filter((k) => !skip.includes(k));
    for (const k of keys.filter((x) => skip.includes(x))) out[k] = leftOut[k];
    if (pending.length === 0) return { leftOut: out, notes };

    // Nothing here may throw: a move that already happened must be recorded. A server that cannot be
    // checked stays left out, with the reason.
    const server = i.servers[i.sourceIndex];
    let source: Member;
    try {
        const conn = await connect(adminOf(i, server), 10, `server ${i.sourceIndex}`);
        try {
            source = { index: i.sourceIndex, server, conn, version: await readServerVersion(conn) };
        } catch (err) {
            await conn.end().catch(() => conn.destroy());
            throw err;
        }
    } catch (err) {
        for (const k of pending) out[k] = leftOut[k];
        notes.push(`left-out servers not checked: the source does not answer (${(err as Error).message})`);
        return { leftOut: out, notes };
    }
    try {
        const sourceState = await readSource(source.conn);
        for (const k of pending) {
            const index = Number(k);
            let conn: Connection;
            try {
                conn = await connect(adminOf(i, i.servers[index]), 10, `server ${index}`);
            } catch {
                out[k] = leftOut[k];
                continue;
            }
            try {
                const result = await rejoinOne(i, { index, server: i.servers[index], conn, version: await readServerVersion(conn) }, source, sourceState);
                if (result.reason) out[k] = result.reason;
                if (result.note) notes.push(result.note);
            } catch (err) {
                out[k] = `${leftOut[k]} (checking it again failed: ${(err as Error).message})`;
            } finally {
                await conn.end().catch(() => conn.destroy());
            }
        }
    } catch (err) {
        for (const k of pending) out[k] ??= leftOut[k];
        notes.push(`left-out servers not checked: reading the source failed (${(err as Error).message})`);
    } finally {
        await source.conn.end().catch(() => source.conn.destroy());
    }
    return { leftOut: out, notes };
}

/**
 * One left-out server that answers: fenced, its replication stopped (a returning replica would go on
 * applying what it received from the old source), then compared with the source and rejoined, handed
 * to its Replication resource (fresh), or kept out with the reason.
 */
async function rejoinOne(i: TopologyInputs, m: Member, source: Member, sourceState: Awaited<ReturnType<typeof readSource>>):
    Promise<{ reason?: string; note?: string }> {
    await execAll(m.conn, sql.roleStatements(m.version, "replica"));
    const st = await status(m);
    if (st.configured) await withSuperReadOnlyLifted(m.conn, m.version, () => query(m.conn, sql.replicationDialect(m.version).stop));
    if (await isFresh(m.conn, st)) return { note: `${label(m)} is new (empty volume): its Replication resource seeds it` };
    const ahead = await aheadOfSource(m.conn, m.version, sourceState);
    const extra = [ahead.own, ahead.others].filter(Boolean).join(",");
    if (extra === "") {
        await pointAt(i, m, source, true);
        return { note: `rejoined ${label(m)} as a replica of ${label(source)}` };
    }
    return {
        reason: `holds transactions ${label(source)} lacks: ${extra}; it stays out of replication, read-only. ` +
            "Look at them with mysqlbinlog if they matter; to bring the server back, remove its container and volume " +
            "and run `pulumi up`, which seeds it anew",
    };
}

export const topologyProvider: pulumi.dynamic.ResourceProvider<TopologyInputs, TopologyOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const n = Array.isArray(news.servers) ? news.servers.length : 0;
        if (n === 0) failures.push({ property: "servers", reason: "servers must list at least one server" });
        if (!Number.isInteger(news.sourceIndex) || news.sourceIndex < 0 || news.sourceIndex >= n) {
            failures.push({ property: "sourceIndex", reason: `sourceIndex must be a server index from 0 to ${n - 1}, got ${JSON.stringify(news.sourceIndex)}` });
        }
        if (news.allowFailover !== undefined && typeof news.allowFailover !== "boolean") {
            failures.push({ property: "allowFailover", reason: `allowFailover must be true or false, got ${JSON.stringify(news.allowFailover)}` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const keys = (Object.keys(news) as (keyof TopologyInputs)[])
            .filter((k) => JSON.stringify(olds[k] ?? (k === "allowFailover" ? false : undefined)) !== JSON.stringify(news[k]));
        // A left-out server is looked at again by every up, until it has rejoined.
        const waiting = Object.keys(olds.leftOut ?? {}).length > 0;
        // Nothing here names a server's storage: a new source, or more servers, is an update.
        return { changes: keys.length > 0 || waiting, replaces: [] };
    },
    async create(inputs) {
        // A new lab has no source yet (every server starts read-only). A lab from before this resource
        // has one: if config names another, move it now rather than open a second writable server.
        const acting = await actingSource(inputs);
        const moved = acting !== undefined && acting !== inputs.sourceIndex
            ? await moveSource(inputs, acting, inputs.sourceIndex, {})
            : { lastChange: `created with server ${inputs.sourceIndex} as the source`, leftOut: {} };
        return { id: "topology", outs: { ...inputs, ...moved } };
    },
    async read(id, props) {
        return { id, props };
    },
    async update(_id, olds, news) {
        let leftOut: LeftOut = olds.leftOut ?? {};
        const changes: string[] = [];
        const before = Object.keys(leftOut);
        if (olds.sourceIndex !== news.sourceIndex) {
            // Servers beyond the old list are new in this up (replicaCount grew with the move).
            const moved = await moveSource(news, olds.sourceIndex, news.sourceIndex, leftOut, Math.min(olds.servers.length, news.servers.length));
            changes.push(moved.lastChange);
            leftOut = moved.leftOut;
        }
        const justLeftOut = Object.keys(leftOut).filter((k) => !before.includes(k));
        const checked = await rejoin(news, leftOut, justLeftOut);
        changes.push(...checked.notes);
        return { outs: { ...news, lastChange: changes.length > 0 ? changes.join("; ") : olds.lastChange, leftOut: checked.leftOut } };
    },
    async delete() {
        // The servers keep whatever roles they have; nothing to undo.
    },
};

export interface TopologyArgs {
    readonly servers: pulumi.Input<pulumi.Input<TopologyServer>[]>;
    readonly sourceIndex: pulumi.Input<number>;
    /** Defaults to root. */
    readonly adminUser?: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
    readonly user: pulumi.Input<string>;
    readonly password: pulumi.Input<string>;
    /** Defaults to 2. */
    readonly connectRetry?: pulumi.Input<number>;
    /** Defaults to 86400. */
    readonly retryCount?: pulumi.Input<number>;
    /** Defaults to 60. */
    readonly timeoutSeconds?: pulumi.Input<number>;
    /** Defaults to false. */
    readonly allowFailover?: pulumi.Input<boolean>;
}

/** The lab's choice of source and its left-out servers; changing the source moves it (see above). */
export class Topology extends pulumi.dynamic.Resource {
    declare public readonly lastChange: pulumi.Output<string>;
    /** Servers left out of replication, by index, with the reason (empty when every server replicates). */
    declare public readonly leftOut: pulumi.Output<LeftOut>;
    constructor(name: string, args: TopologyArgs, opts?: pulumi.CustomResourceOptions) {
        super(topologyProvider, name, {
            ...args,
            adminUser: args.adminUser ?? "root",
            adminPassword: pulumi.secret(args.adminPassword),
            password: pulumi.secret(args.password),
            connectRetry: args.connectRetry ?? 2,
            retryCount: args.retryCount ?? 86400,
            timeoutSeconds: args.timeoutSeconds ?? 60,
            allowFailover: args.allowFailover ?? false,
            lastChange: undefined,
            leftOut: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword", "password"] },
        "replication", "Topology");
    }
}
