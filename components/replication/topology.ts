import * as pulumi from "@pulumi/pulumi";
import { sleep } from "./connection";
import { type InputTable, changedInputs, checkInputs, fromState, is, withDefaults } from "./inputs";
import { closeAll, isOpen, observe, openMember, openMembers, type MemberAddress, type MemberCredentials, type SqlMember, type Unreachable } from "./members";
import { actingSource, label, planFence, planMove, planRejoin, refuseUpFront, type LeftOut, type MemberFacts, type Plan } from "./plans";
import { pointReplica } from "./pointing";
import { isStepFailed, runPlan, type Member, type RunOptions } from "./steps";

/**
 * Which server is the source, and which servers are left out of replication. Created, it only
 * records the choice (the Replication and ServerRole resources set the lab up); updated with another
 * sourceIndex, it moves the source: observe every server, plan (plans.ts), run the steps (steps.ts).
 * Read, it reports the server acting as the source, so a refresh shows a source moved behind the
 * lab's back and the next up moves it back.
 */

export type TopologyServer = MemberAddress;
export type { LeftOut } from "./plans";

export interface TopologyInputs extends MemberCredentials {
    /** Every server of the lab, by index. */
    readonly servers: readonly TopologyServer[];
    readonly sourceIndex: number;
    /** Bound on a whole switchover or failover (replicationTimeoutSeconds). */
    readonly timeoutSeconds: number;
    /** Whether a new sourceIndex may be forced while the current source does not answer. */
    readonly allowFailover: boolean;
}

export interface TopologyOutputs extends TopologyInputs {
    /** What the last change did, for the record. */
    readonly lastChange: string;
    readonly leftOut: LeftOut;
}

/** How the steps run; tests make a step fail through `perform`. */
export type MoveOptions = Pick<RunOptions, "perform">;

type Opened = SqlMember | Unreachable;

function membersOf(opened: readonly Opened[]): Map<number, Member> {
    return new Map(opened.filter(isOpen).map((m) => [m.index, m]));
}

/** An IO thread on its way to the source: MariaDB says "Preparing" before "Connecting". */
const IO_STARTING = ["Connecting", "Preparing"]; // an array: Pulumi's closure serialization does not keep a Set

/** The facts of every server; while a replica's IO thread is still connecting (its source just restarted), looks again, up to `seconds`. */
async function settledFacts(opened: readonly Opened[], reference: number, seconds: number): Promise<MemberFacts[]> {
    const until = Date.now() + seconds * 1000;
    for (;;) {
        const facts = await observe(opened, reference);
        if (Date.now() >= until || !facts.some((f) => f.replica?.configured && IO_STARTING.includes(f.replica.ioRunning))) return facts;
        await sleep(500);
    }
}

/**
 * Moves the source from `from` to `to`: a planned switchover, or a forced failover when `from` does not
 * answer. Servers from index `known` on were added by this same up: they take no part, except a new
 * target, which first joins as a replica of the current source (scale first, then move).
 */
export async function moveSource(i: TopologyInputs, from: number, to: number, leftOut: LeftOut,
    known = i.servers.length, o: MoveOptions = {}): Promise<{ lastChange: string; leftOut: LeftOut }> {
    const prefix = `sourceIndex ${from} -> ${to}`;
    const upFront = refuseUpFront(i.servers.map((s) => s.name), { from, to, leftOut });
    if (upFront) throw new Error(`${prefix}: refused, nothing was changed: ${upFront}`);
    const opened = await openMembers(i.servers, i);
    try {
        let joined = "";
        const source = opened[from];
        if (to >= known && isOpen(source)) joined = await joinNew(i, opened[to], source, prefix);
        // A dead source leaves its replicas connecting for good: no use waiting for them then.
        const facts = await settledFacts(opened, from, isOpen(source) ? Math.min(15, i.timeoutSeconds) : 0);
        const planned = planMove(facts, { from, to, leftOut, known: joined ? Math.max(known, to + 1) : known, allowFailover: i.allowFailover });
        if ("refused" in planned) {
            if (planned.failover) throw new Error(`${prefix} (forced failover): refused: ${planned.refused}`);
            throw new Error(joined
                ? `${prefix}: refused: ${planned.refused}; only this was done: ${joined}, and it stays a replica`
                : `${prefix}: refused, nothing was changed: ${planned.refused}`);
        }
        return await run(i, planned.plan, opened, facts, leftOut, joined, o);
    } finally {
        await closeAll(opened);
    }
}

/** Runs a switchover or failover plan; resolves to what changed, or rejects naming the failed step and what was undone. */
async function run(i: TopologyInputs, plan: Plan, opened: readonly Opened[], facts: readonly MemberFacts[], leftOut: LeftOut,
    joined: string, o: MoveOptions): Promise<{ lastChange: string; leftOut: LeftOut }> {
    const old = facts[plan.from];
    const target = facts[plan.to];
    const failover = plan.kind === "failover";
    const prefix = `sourceIndex ${plan.from} -> ${plan.to}${failover ? " (forced failover)" : ""}`;
    let state;
    try {
        state = await runPlan(plan, membersOf(opened), { timeoutSeconds: i.timeoutSeconds, perform: o.perform });
    } catch (err) {
        if (!isStepFailed(err)) throw err;
        if (!err.changed) {
            throw new Error(`${prefix}: refused, ${joined ? `only this was done: ${joined}, and it stays a replica` : "nothing was changed"}: ` +
                `the ${err.step.name} step failed: ${err.message}`);
        }
        const undone = err.undoFailures.length === 0
            ? (failover ? "every replica was put back as it was, replicating from the old source" : `${label(old)} was put back as the source, writable`)
            : `putting ${failover ? "the replicas" : label(old)} back failed too: ${err.undoFailures.join("; ")}`;
        throw new Error(`${prefix}: the ${err.step.name} step failed: ${err.message}; ${undone}`);
    }
    if (!failover) {
        return { lastChange: `${joined ? `${joined}, then ` : ""}switched the source from ${label(old)} to ${label(target)} at ${state.frozen}`, leftOut };
    }
    const out: LeftOut = { ...leftOut, ...plan.leaveOut };
    const at = await (opened[plan.to] as SqlMember).executed().catch(() => "");
    return {
        lastChange: `forced failover: ${label(old)} did not answer; promoted ${label(target)} at ${at}; ` +
            `left out: ${Object.keys(out).sort().map((k) => `server ${k}`).join(", ")}`,
        leftOut: out,
    };
}

/**
 * A server added by this up, to become the source: it must be fresh (an empty volume), and is made a
 * replica of the current source the way its Replication resource would (seeded from the binary log,
 * or a snapshot where the log is purged), caught up, ready for the switchover's checks.
 */
async function joinNew(i: TopologyInputs, m: Opened, source: SqlMember, prefix: string): Promise<string> {
    const refuse = (why: string) => new Error(`${prefix}: refused, nothing was changed: ${why}`);
    const name = label({ index: m.index, name: m.address.name });
    if (!isOpen(m)) throw refuse(`${name} does not answer (${m.error})`);
    if (!(await m.facts()).fresh) throw refuse(`${name} is new in this up but holds data of its own, so it cannot be seeded from ${label(source)}`);
    try {
        const outs = await pointReplica({
            replicaName: m.name, replicaInstance: "",
            adminHost: m.address.adminHost, adminPort: m.address.adminPort, adminUser: i.adminUser, adminPassword: i.adminPassword,
            sourceHost: source.name, sourcePort: 3306, sourceProbeHost: source.address.adminHost, sourceProbePort: source.address.adminPort,
            user: i.user, password: i.password, connectRetry: i.connectRetry, retryCount: i.retryCount,
            timeoutSeconds: i.timeoutSeconds, delaySeconds: 0, leftOut: "", seed: "auto", donorUser: i.adminUser, donorPassword: i.adminPassword,
        });
        return `added ${name} as a replica of ${label(source)} (seeded by ${outs.seededBy || "binlog"})`;
    } catch (err) {
        throw refuse(`${name} is new in this up and could not first be made a replica of ${label(source)}: ${(err as Error).message}`);
    }
}

/**
 * Left-out servers, checked again: each one that answers is fenced (read-only) at once, then rejoined
 * (pointed at the source) if it holds nothing the source lacks. A fresh server (a new, empty
 * volume) is handed back to its Replication resource, which seeds it. `skip` are the ones just left out.
 * Nothing here throws: a move that already happened must be recorded, and a server that cannot be
 * checked stays left out, with the reason.
 */
export async function rejoin(i: TopologyInputs, leftOut: LeftOut, skip: readonly string[] = [], o: MoveOptions = {}):
    Promise<{ leftOut: LeftOut; notes: string[] }> {
    const out: Record<string, string> = {};
    const notes: string[] = [];
    const keys = Object.keys(leftOut).filter((k) => Number(k) < i.servers.length && Number(k) !== i.sourceIndex);
    const pending = keys.filter((k) => !skip.includes(k));
    for (const k of keys.filter((x) => skip.includes(x))) out[k] = leftOut[k];
    if (pending.length === 0) return { leftOut: out, notes };

    let source: SqlMember;
    try {
        source = await openMember(i.sourceIndex, i.servers[i.sourceIndex], i);
    } catch (err) {
        for (const k of pending) out[k] = leftOut[k];
        notes.push(`left-out servers not checked: the source does not answer (${(err as Error).message})`);
        return { leftOut: out, notes };
    }
    try {
        for (const k of pending) {
            const index = Number(k);
            const m = await openMember(index, i.servers[index], i).catch(() => undefined);
            if (!m) {
                out[k] = leftOut[k];
                continue;
            }
            try {
                const result = await rejoinOne(i, m, source, o);
                if (result.reason) out[k] = result.reason;
                if (result.note) notes.push(result.note);
            } catch (err) {
                out[k] = `${leftOut[k]} (checking it again failed: ${(err as Error).message})`;
            } finally {
                await m.close();
            }
        }
    } finally {
        await source.close();
    }
    return { leftOut: out, notes };
}

/**
 * One left-out server that answers: fenced, its replication stopped (a returning replica would go on
 * applying what it received from the old source), then compared with the source and rejoined, handed
 * to its Replication resource (fresh), or kept out with the reason.
 */
async function rejoinOne(i: TopologyInputs, m: SqlMember, source: SqlMember, o: MoveOptions): Promise<{ reason?: string; note?: string }> {
    const members = new Map<number, Member>([[m.index, m], [source.index, source]]);
    const bound = { timeoutSeconds: i.timeoutSeconds, perform: o.perform };
    await runPlan(planFence(await m.facts(), await source.facts()), members, bound);
    const decision = planRejoin(await m.facts(source), await source.facts());
    if ("handBack" in decision) return { note: decision.handBack };
    if ("staysOut" in decision) return { reason: decision.staysOut };
    await runPlan(decision.plan, members, bound);
    return { note: `rejoined ${label(m)} as a replica of ${label(source)}` };
}

/** What every server is now (GTIDs not compared). */
async function observeLab(i: TopologyInputs): Promise<MemberFacts[]> {
    const opened = await openMembers(i.servers, i);
    try {
        return await observe(opened, -1);
    } finally {
        await closeAll(opened);
    }
}

/** Every input; nothing here names a server's storage, so every change is an update, never a replacement. */
const INPUTS: InputTable<TopologyInputs> = {
    servers: { change: "apply", valid: (v) => Array.isArray(v) && v.length > 0, allowed: "a list of at least one server" },
    sourceIndex: { change: "apply" },
    adminUser: { change: "record", byDefault: "root" },
    adminPassword: { change: "record" },
    user: { change: "record" },
    password: { change: "record" },
    connectRetry: { change: "record", byDefault: 2 },
    retryCount: { change: "record", byDefault: 86400 },
    // Older state, from before these existed: a 60 s bound, no failover.
    timeoutSeconds: { change: "record", byDefault: 60, valid: is.wholeFrom(1), allowed: "a whole number of seconds from 1" },
    allowFailover: { change: "record", byDefault: false, valid: is.boolean, allowed: "true or false" },
};

/** Saved state as today's outputs: missing inputs defaulted, and no left-out server where none was recorded. */
function withOlderState(olds: TopologyOutputs): TopologyOutputs {
    return { ...fromState(INPUTS, olds), leftOut: olds.leftOut ?? {} } as TopologyOutputs;
}

export const topologyProvider: pulumi.dynamic.ResourceProvider<TopologyInputs, TopologyOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const n = Array.isArray(news.servers) ? news.servers.length : 0;
        if (!Number.isInteger(news.sourceIndex) || news.sourceIndex < 0 || news.sourceIndex >= n) {
            failures.push({ property: "sourceIndex", reason: `sourceIndex must be a server index from 0 to ${n - 1}, got ${JSON.stringify(news.sourceIndex)}` });
        }
        return { inputs: news, failures: [...failures, ...checkInputs(INPUTS, news)] };
    },
    async diff(_id, stored, news) {
        const changed = changedInputs(INPUTS, stored, news);
        // A left-out server is looked at again by every up, until it has rejoined.
        const waiting = Object.keys(stored.leftOut ?? {}).length > 0;
        return { changes: changed.apply.length + changed.record.length > 0 || waiting, replaces: [] };
    },
    async create(inputs) {
        // A new lab has no source yet (every server starts read-only). A lab from before this resource
        // has one: if config names another, move it now rather than open a second writable server.
        const acting = actingSource(await observeLab(inputs));
        const moved = acting !== undefined && acting !== inputs.sourceIndex
            ? await moveSource(inputs, acting, inputs.sourceIndex, {})
            : { lastChange: `created with server ${inputs.sourceIndex} as the source`, leftOut: {} };
        return { id: "topology", outs: { ...inputs, ...moved } };
    },
    async read(id, stored) {
        if (!stored) return { id };
        const props = withOlderState(stored);
        // A source moved behind the lab's back shows as another sourceIndex; with no server or several
        // acting as the source (a restarted source is read-only until the next up), what was stored stays.
        const acting = actingSource(await observeLab(props));
        return { id, props: acting === undefined || acting === props.sourceIndex ? props : { ...props, sourceIndex: acting } };
    },
    async update(_id, stored, news) {
        const olds = withOlderState(stored);
        let leftOut = olds.leftOut;
        const changes: string[] = [];
        if (olds.sourceIndex !== news.sourceIndex) {
            // Servers beyond the old list are new in this up (replicaCount grew with the move).
            const moved = await moveSource(news, olds.sourceIndex, news.sourceIndex, leftOut, Math.min(olds.servers.length, news.servers.length));
            changes.push(moved.lastChange);
            leftOut = moved.leftOut;
        }
        const justLeftOut = Object.keys(leftOut).filter((k) => olds.leftOut[k] === undefined);
        const checked = await rejoin(news, leftOut, justLeftOut);
        changes.push(...checked.notes);
        return {
            outs: { ...news, lastChange: changes.length > 0 ? changes.join("; ") : olds.lastChange, leftOut: checked.leftOut },
        };
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
    /** Bound on a whole switchover or failover. Defaults to 60. */
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
            ...withDefaults(INPUTS, args),
            adminPassword: pulumi.secret(args.adminPassword),
            password: pulumi.secret(args.password),
            lastChange: undefined,
            leftOut: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword", "password"] },
        "replication", "Topology");
    }
}
