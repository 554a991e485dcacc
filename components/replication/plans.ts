/**
 * Moving the source, as plans: a pure choice over what was observed of every member. A refusal says
 * why and changes nothing; a plan is a list of named steps, each with the action that undoes it, run
 * by `steps.ts`. Nothing here talks to a server. The order of the steps is that of MySQL Shell's
 * setPrimaryInstance (switchover) and forcePrimaryInstance (failover); see docs/design.md.
 */

/** What was observed of one server, with GTIDs compared against the reference source. */
export interface MemberFacts {
    readonly index: number;
    /** Its container name: how other servers reach it. */
    readonly name: string;
    /** Why it did not answer; undefined when it did. */
    readonly error?: string;
    readonly writable?: boolean;
    /** Its replication threads; `configured` false when it replicates from nothing. */
    readonly replica?: {
        readonly configured: boolean;
        readonly sourceHost: string;
        readonly ioRunning: string;
        readonly sqlRunning: string;
        readonly sqlDelay: number;
        readonly lastIoError: string;
        readonly lastSqlError: string;
    };
    /** Transactions written on it that the reference source lacks (errant), or "". */
    readonly errant?: string;
    /** Every transaction it holds that the reference source lacks (errant or from elsewhere), or "". */
    readonly extra?: string;
    /** Never pointed anywhere and holding nothing beyond what its image made (an empty volume). */
    readonly fresh?: boolean;
}

/** What a step does to its member. */
export type Action =
    /** Waits until the member has executed everything server `of` has executed now. */
    | { readonly op: "reach"; readonly of: number }
    /** Stops writes for the moment (commits in flight finish), closes the binary log, notes the frozen GTID set. */
    | { readonly op: "freeze" }
    /** Fails if anything committed since the freeze. */
    | { readonly op: "unchangedSinceFreeze" }
    /** The source role: writable now, fenced again by a restart. */
    | { readonly op: "open" }
    /** The replica role: read-only, persisted where the flavor can. */
    | { readonly op: "fence" }
    /** Stops replicating and forgets its source. */
    | { readonly op: "stopReplication" }
    /** Stops applying, keeping its source (a returning replica must not go on applying the old source's log). */
    | { readonly op: "stopApplying" }
    /** Replicates from server `from` by GTID auto-positioning. */
    | { readonly op: "replicate"; readonly from: number; readonly formerSource?: boolean }
    | { readonly op: "stopReceiving" }
    | { readonly op: "startReceiving" }
    /** Waits until it has applied everything it received. */
    | { readonly op: "applyRelayLog" }
    /** Fails unless the member holds every transaction server `of` holds, and nothing of its own `of` lacks. */
    | { readonly op: "holdsAllOf"; readonly of: number };

export interface Step {
    /** The step's name, as an error names it ("the drain step failed: ..."). */
    readonly name: string;
    readonly member: number;
    readonly do: Action;
    /** Run, in reverse order, when a later step (or this one) fails. */
    readonly undo?: Action;
}

export interface Plan {
    readonly kind: "switchover" | "failover" | "rejoin";
    readonly from: number;
    readonly to: number;
    /** Every server's name, by index: a step may point a replica at a server that does not answer. */
    readonly names: readonly string[];
    readonly steps: readonly Step[];
    /** Servers the plan leaves out of replication, with the reason, once it has run. */
    readonly leaveOut?: Readonly<Record<string, string>>;
}

/** A refusal changes nothing; `failover` marks one of the forced failover's own checks. */
export type Planned = { readonly refused: string; readonly failover?: boolean } | { readonly plan: Plan };

/** Servers left out of replication, by index (as a string), with the reason. */
export type LeftOut = Readonly<Record<string, string>>;

export interface MoveRequest {
    readonly from: number;
    readonly to: number;
    readonly leftOut: LeftOut;
    /** Servers from this index on were added by the same up and take no part (a new target has just joined). */
    readonly known: number;
    readonly allowFailover: boolean;
}

export function label(m: Pick<MemberFacts, "index" | "name">): string {
    return `server ${m.index} (${m.name})`;
}

/** The refusals that need nothing observed: they come before any server is contacted. */
export function refuseUpFront(names: readonly string[], r: Pick<MoveRequest, "from" | "to" | "leftOut">): string | undefined {
    const { from, to } = r;
    if (from < 0 || from >= names.length) {
        return `the current source, server ${from}, is no longer in the lab; change replicaCount and sourceIndex in separate ups`;
    }
    const why = r.leftOut[String(to)];
    if (why !== undefined) {
        return `${label({ index: to, name: names[to] })} is left out of replication (${why}); it cannot become the source until it has rejoined`;
    }
    return undefined;
}

/** A switchover when the source answers, a forced failover (if allowed) when it does not; else a refusal. */
export function planMove(members: readonly MemberFacts[], r: MoveRequest): Planned {
    const { from, to } = r;
    const upFront = refuseUpFront(members.map((m) => m.name), r);
    if (upFront) return { refused: upFront };
    const source = members[from];
    if (source.error === undefined) return planSwitchover(members, r);
    if (!r.allowFailover) {
        return {
            refused: `the current source ${label(source)} does not answer (${source.error}). ` +
                `If it is only stopped, run \`pulumi up\` with sourceIndex ${from} to start it again, then move the source. ` +
                `To promote server ${to} without it (a forced failover), set allowFailover to true: whatever server ${from} ` +
                "committed but had not yet sent to a replica is then lost.",
        };
    }
    if (to >= r.known) return { refused: `server ${to} is new in this up: a forced failover promotes only a replica that holds what the dead source sent` };
    return planFailover(members, r);
}

/** Why `m` is not a healthy replica of `source` with nothing of its own, or "". */
export function replicaProblem(m: MemberFacts, source: MemberFacts): string {
    const st = m.replica!;
    if (!st.configured || st.sourceHost !== source.name || st.ioRunning !== "Yes" || st.sqlRunning !== "Yes") {
        return `${label(m)} is not a healthy replica of ${label(source)} (source ${st.sourceHost || "none"}, ` +
            `IO thread ${st.ioRunning}, SQL thread ${st.sqlRunning}${st.lastIoError ? `, last IO error: ${st.lastIoError}` : ""}` +
            `${st.lastSqlError ? `, last SQL error: ${st.lastSqlError}` : ""})`;
    }
    return m.errant ? `${label(m)} holds transactions ${label(source)} does not have: ${m.errant}` : "";
}

/**
 * The planned switchover. Checks (nothing changes): every server in play answers, the source is not
 * replicating, the target is not delayed, every other server is a healthy replica of the source with
 * nothing of its own, and the target catches up. Then freeze, drain, swap, open.
 */
export function planSwitchover(members: readonly MemberFacts[], r: MoveRequest): Planned {
    const { from, to } = r;
    // Left-out servers take no part: they are not replicating from the source and stay as they are.
    const inPlay = members.filter((m) => (m.index < r.known || m.index === to) && r.leftOut[String(m.index)] === undefined);
    const down = inPlay.filter((m) => m.error !== undefined);
    if (down.length > 0) {
        return {
            refused: `${down.map((m) => `${label(m)} does not answer (${m.error})`).join("; ")}; ` +
                "run `pulumi up` without changing sourceIndex to start it again first",
        };
    }
    const source = members[from];
    const target = members[to];
    const others = inPlay.filter((m) => m.index !== from && m.index !== to);
    // A source that restarted is read-only until the next up, but still the source.
    if (source.replica!.configured) {
        return { refused: `${label(source)} is not acting as the source: it replicates from another server; \`npm run status\` shows the servers' roles` };
    }
    if (target.replica!.sqlDelay > 0) {
        return {
            refused: `${label(target)} is a delayed replica (${target.replica!.sqlDelay} s behind on purpose) and cannot become the source; ` +
                "set its delaySeconds to 0 in one up, then move the source",
        };
    }
    for (const m of [target, ...others]) {
        const problem = replicaProblem(m, source);
        if (problem) return { refused: problem };
    }
    // A delayed replica applies the rest after its delay, from the new source (GTIDs keep their place).
    const drained = [target, ...others.filter((m) => m.replica!.sqlDelay === 0)];
    return {
        plan: {
            kind: "switchover", from, to, names: members.map((m) => m.name), steps: [
                { name: "catch up", member: to, do: { op: "reach", of: from } },
                { name: "freeze", member: from, do: { op: "freeze" }, undo: { op: "open" } },
                ...drained.map((m): Step => ({ name: "drain", member: m.index, do: { op: "reach", of: from } })),
                { name: "swap", member: to, do: { op: "stopReplication" }, undo: { op: "replicate", from } },
                // The old source is fenced (persisted where the flavor can) before it replicates.
                { name: "swap", member: from, do: { op: "fence" } },
                { name: "swap", member: from, do: { op: "replicate", from: to, formerSource: true }, undo: { op: "stopReplication" } },
                ...others.map((m): Step => ({ name: "swap", member: m.index, do: { op: "replicate", from: to }, undo: { op: "replicate", from } })),
                // MariaDB's read_only does not stop accounts with READ_ONLY ADMIN, such as root.
                { name: "open the new source", member: from, do: { op: "unchangedSinceFreeze" } },
                { name: "open the new source", member: to, do: { op: "open" }, undo: { op: "fence" } },
            ],
        },
    };
}

/**
 * The forced failover. Checks: the target answers; every reachable server replicates from the old
 * source, can still apply what it has, and no longer hears from it (else two sources); the target
 * is not delayed. Then every replica stops receiving and applies its relay log; the target must
 * hold everything each of them holds; it is promoted, the others follow it, and the old source and
 * any server that did not answer are left out.
 */
export function planFailover(members: readonly MemberFacts[], r: MoveRequest): Planned {
    const { from, to } = r;
    const old = members[from];
    const inPlay = members.filter((m) => m.index !== from && m.index < r.known && r.leftOut[String(m.index)] === undefined);
    const reachable = inPlay.filter((m) => m.error === undefined);
    const target = members[to];
    if (target.error !== undefined) return { failover: true, refused: `${label(target)} does not answer either (${target.error}); nothing was changed` };
    for (const m of reachable) {
        const st = m.replica!;
        if (!st.configured || st.sourceHost !== old.name) {
            return { failover: true, refused: `${label(m)} does not replicate from ${label(old)} (its source: ${st.sourceHost || "none"}); nothing was changed` };
        }
        if (st.sqlRunning !== "Yes") {
            return { failover: true, refused: `${label(m)} cannot apply what it received: its SQL thread is ${st.sqlRunning}${st.lastSqlError ? ` (${st.lastSqlError})` : ""}; nothing was changed` };
        }
        // Pulumi may fail to reach a source its replicas still reach (too many connections, the published
        // port): promoting then would leave two writable servers.
        if (st.ioRunning === "Yes") {
            return {
                failover: true,
                refused: `${label(m)} is still connected to ${label(old)}, which answers its replicas although it did not ` +
                    `answer Pulumi (${old.error}); a forced failover now would leave two sources; nothing was changed`,
            };
        }
        if (m.index === to && st.sqlDelay > 0) {
            return { failover: true, refused: `${label(m)} is a delayed replica (${st.sqlDelay} s behind on purpose) and cannot become the source; nothing was changed` };
        }
    }
    const others = reachable.filter((m) => m.index !== to);
    const leaveOut: Record<string, string> = {
        [String(from)]: `did not answer when ${label(target)} was promoted by a forced failover (${old.error}); ` +
            "what it had not sent to a replica never reached the new source",
    };
    for (const m of inPlay.filter((x) => x.error !== undefined)) leaveOut[String(m.index)] = `did not answer during the forced failover to ${label(target)}`;
    return {
        plan: {
            kind: "failover", from, to, leaveOut, names: members.map((m) => m.name), steps: [
                // Nothing more can arrive from the old source; each replica applies what it has.
                ...reachable.map((m): Step => ({ name: "stop receiving", member: m.index, do: { op: "stopReceiving" }, undo: { op: "startReceiving" } })),
                // A delayed replica would take its delay: what it received is compared below instead.
                ...reachable.filter((m) => m.index === to || m.replica!.sqlDelay === 0)
                    .map((m): Step => ({ name: "apply relay logs", member: m.index, do: { op: "applyRelayLog" } })),
                ...others.map((m): Step => ({ name: "compare", member: to, do: { op: "holdsAllOf", of: m.index } })),
                { name: "promote", member: to, do: { op: "stopReplication" }, undo: { op: "replicate", from } },
                ...others.map((m): Step => ({ name: "promote", member: m.index, do: { op: "replicate", from: to }, undo: { op: "replicate", from } })),
                { name: "open the new source", member: to, do: { op: "open" }, undo: { op: "fence" } },
            ],
        },
    };
}

/** The first half of a rejoin, for a left-out server that answers: fenced at once, and no longer applying the old source's log. */
export function planFence(m: MemberFacts, source: MemberFacts): Plan {
    const steps: Step[] = [{ name: "fence", member: m.index, do: { op: "fence" } }];
    if (m.replica?.configured) steps.push({ name: "stop applying", member: m.index, do: { op: "stopApplying" } });
    return { kind: "rejoin", from: source.index, to: m.index, names: namesOf(m, source), steps };
}

/**
 * The second half, once it is fenced and stopped: a fresh server goes back to its Replication
 * resource (which seeds it); one holding nothing the source lacks replicates from it again; one
 * holding more stays out, with the reason.
 */
export function planRejoin(m: MemberFacts, source: MemberFacts):
    { readonly handBack: string } | { readonly staysOut: string } | { readonly plan: Plan } {
    if (m.fresh) return { handBack: `${label(m)} is new (empty volume): its Replication resource seeds it` };
    if (m.extra) {
        return {
            staysOut: `holds transactions ${label(source)} lacks: ${m.extra}; it stays out of replication, read-only. ` +
                "Look at them with mysqlbinlog if they matter; to bring the server back, remove its container and volume " +
                "and run `pulumi up`, which seeds it anew",
        };
    }
    return {
        plan: {
            kind: "rejoin", from: source.index, to: m.index, names: namesOf(m, source), steps: [
                { name: "rejoin", member: m.index, do: { op: "replicate", from: source.index, formerSource: true }, undo: { op: "stopReplication" } },
            ],
        },
    };
}

function namesOf(...members: MemberFacts[]): string[] {
    const names: string[] = [];
    for (const m of members) names[m.index] = m.name;
    return names;
}

/** The one server acting as a source (answers, writable, not replicating), if exactly one does. */
export function actingSource(members: readonly MemberFacts[]): number | undefined {
    if (members.some((m) => m.error !== undefined)) return undefined;
    const acting = members.filter((m) => m.writable && !m.replica?.configured);
    return acting.length === 1 ? acting[0].index : undefined;
}
