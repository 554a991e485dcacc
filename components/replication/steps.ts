/**
 * The one step runner of switchover, failover and rejoin. It runs a plan's steps in order, recording
 * each step's undo before the step runs (so a step that fails half-way is undone too); on a failure
 * or a timeout it runs the recorded undos in reverse and says which step failed and why.
 */
import { within } from "./connection";
import { label, type Action, type MemberFacts, type Plan, type Step } from "./plans";

/** What the runner needs of a server: the live one is `members.ts`, the unit tests' a model in memory. */
export interface Member {
    readonly index: number;
    readonly name: string;
    /** What it is now, with GTIDs compared against `reference` (the source). */
    facts(reference?: Member): Promise<MemberFacts>;
    /** Its executed GTIDs, in the form its flavor waits for. */
    executed(): Promise<string>;
    /** Whether it has executed `gtids` within `seconds`. */
    reaches(gtids: string, seconds: number): Promise<boolean>;
    /** Stops writes (waiting at most `seconds` for commits in flight) and closes its binary log file. */
    freeze(seconds: number): Promise<void>;
    open(): Promise<void>;
    fence(): Promise<void>;
    stopReplication(): Promise<void>;
    stopApplying(): Promise<void>;
    /** Replicates from the server named `source` (its container name). */
    replicate(source: string, formerSource: boolean): Promise<void>;
    stopReceiving(): Promise<void>;
    startReceiving(): Promise<void>;
    /** True once its SQL thread has applied everything received; throws if that thread has stopped. */
    relayLogApplied(): Promise<boolean>;
    /** What `other` holds (executed, or received by a delayed replica) that this one lacks, or "". */
    missingOf(other: Member): Promise<string>;
    /** Transactions written on this one that `other` lacks, or "". */
    ownBeyond(other: Member): Promise<string>;
}

export interface RunOptions {
    /** Bound on the whole plan, seconds. */
    readonly timeoutSeconds: number;
    /** How long to wait between looks at a relay log. Defaults to 200 ms. */
    readonly pollMs?: number;
    /** Runs one action; tests wrap it to make a step fail. */
    readonly perform?: typeof perform;
}

/** What a running plan remembers between steps. */
export interface RunState {
    readonly deadline: number;
    readonly timeoutSeconds: number;
    readonly pollMs: number;
    /** The frozen server, and its GTIDs when it was frozen. */
    frozenMember?: number;
    frozen?: string;
}

/** A plan's failure: the step that failed, whether anything had changed, and the undos that failed in turn. */
export interface StepFailed extends Error {
    readonly step: Step;
    readonly changed: boolean;
    readonly undoFailures: readonly string[];
}

export function isStepFailed(err: unknown): err is StepFailed {
    return err instanceof Error && "step" in err && "undoFailures" in err;
}

function secondsLeft(s: RunState): number {
    return Math.max(1, Math.round((s.deadline - Date.now()) / 1000));
}

/** Runs one action on `m`. */
export async function perform(action: Action, m: Member, members: ReadonlyMap<number, Member>, s: RunState, plan: Plan): Promise<void> {
    const other = (i: number) => {
        const o = members.get(i);
        if (!o) throw new Error(`server ${i} is not open`);
        return o;
    };
    switch (action.op) {
        case "reach": {
            const gtids = s.frozenMember === action.of ? s.frozen! : await other(action.of).executed();
            if (!(await m.reaches(gtids, secondsLeft(s)))) {
                throw new Error(`${label(m)} did not reach ${gtids || "the source"} within the timeout (${s.timeoutSeconds} s)`);
            }
            return;
        }
        case "freeze":
            await m.freeze(secondsLeft(s));
            s.frozen = await m.executed();
            s.frozenMember = m.index;
            return;
        case "unchangedSinceFreeze": {
            const after = await m.executed();
            if (after !== s.frozen) throw new Error(`${label(m)} committed transactions after the freeze (${s.frozen} -> ${after})`);
            return;
        }
        case "open": return m.open();
        case "fence": return m.fence();
        case "stopReplication": return m.stopReplication();
        case "stopApplying": return m.stopApplying();
        case "replicate": return m.replicate(plan.names[action.from], action.formerSource ?? false);
        case "stopReceiving": return m.stopReceiving();
        case "startReceiving": return m.startReceiving();
        case "applyRelayLog":
            while (!(await m.relayLogApplied())) {
                if (Date.now() >= s.deadline) throw new Error(`${label(m)} did not apply its relay log within ${s.timeoutSeconds} s`);
                await new Promise((r) => setTimeout(r, s.pollMs));
            }
            return;
        case "holdsAllOf": {
            const of = other(action.of);
            const more = await m.missingOf(of);
            if (more) throw new Error(`${label(of)} has executed transactions ${label(m)} lacks (${more}); promote ${label(of)} instead`);
            const own = await m.ownBeyond(of);
            if (own) throw new Error(`${label(m)} holds transactions of its own that ${label(of)} lacks: ${own}`);
            return;
        }
    }
}

/**
 * Runs `plan` over the open `members`. Resolves when every step has run; otherwise rejects with a
 * StepFailed after undoing what was done: `changed` is false when the failure came before any step
 * with an undo (nothing was changed), and `undoFailures` lists the undos that failed in turn.
 */
export async function runPlan(plan: Plan, members: ReadonlyMap<number, Member>, o: RunOptions): Promise<RunState> {
    const state: RunState = { deadline: Date.now() + o.timeoutSeconds * 1000, timeoutSeconds: o.timeoutSeconds, pollMs: o.pollMs ?? 200 };
    const run = o.perform ?? perform;
    const undo: { step: Step; action: Action }[] = [];
    for (const step of plan.steps) {
        const m = members.get(step.member);
        try {
            if (!m) throw new Error(`server ${step.member} is not open`);
            if (step.undo) undo.push({ step, action: step.undo });
            await bounded(run(step.do, m, members, state, plan), state, `${label(m)}: step "${step.name}"`);
        } catch (err) {
            const failures: string[] = [];
            // The undos get a fresh bound: the plan's own may be what ran out.
            const undoState: RunState = { ...state, deadline: Date.now() + o.timeoutSeconds * 1000 };
            for (const u of undo.reverse()) {
                const um = members.get(u.step.member)!;
                await bounded(run(u.action, um, members, undoState, plan), undoState, `${label(um)}: the undo of step "${u.step.name}"`)
                    .catch((e) => failures.push((e as Error).message));
            }
            const failed: StepFailed = Object.assign(new Error((err as Error).message), { step, changed: undo.length > 0, undoFailures: failures });
            throw failed;
        }
    }
    return state;
}

/**
 * `work`, or a rejection naming `what` once the plan's deadline has passed. A statement the server
 * does not answer (a STOP REPLICA waiting on its receiver, a lock) would otherwise hold the whole
 * `up` with nothing said; the statement itself is left to the connection, which the plan closes.
 * The steps that wait watch the deadline themselves and say more, so this fires a little after it.
 */
function bounded<T>(work: Promise<T>, s: RunState, what: string): Promise<T> {
    const grace = Math.min(5000, s.timeoutSeconds * 1000);
    return within(work, Math.max(0, s.deadline - Date.now()) + grace, (): never => {
        throw new Error(`${what} did not finish within the time bound (${s.timeoutSeconds} s)`);
    });
}
