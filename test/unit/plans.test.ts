/**
 * Switchover, failover and rejoin as plans (components/replication/plans.ts) run by the one step
 * runner (steps.ts), over a lab in memory (test/support/fakeMembers.ts). Every step of every plan is
 * made to fail in turn, before it acts and after it has acted, and the end state is checked.
 */
import { planFence, planMove, planRejoin, type MemberFacts, type MoveRequest, type Plan, type Step } from "../../components/replication/plans";
import { isStepFailed, perform, runPlan, type StepFailed } from "../../components/replication/steps";
import { FakeLab } from "../support/fakeMembers";

const request = (from: number, to: number, over: Partial<MoveRequest> = {}): MoveRequest =>
    ({ from, to, leftOut: {}, known: 99, allowFailover: false, ...over });

function planOf(facts: readonly MemberFacts[], r: MoveRequest): Plan {
    const planned = planMove(facts, r);
    if ("refused" in planned) throw new Error(`refused: ${planned.refused}`);
    return planned.plan;
}

type Mode = "before" | "after";

/** Runs `plan`, making its `k`th step fail before or after it acts; resolves to the failure. */
async function runFailing(lab: FakeLab, plan: Plan, k: number, mode: Mode): Promise<StepFailed> {
    const failing = plan.steps[k];
    const err = await runPlan(plan, lab.map(), {
        timeoutSeconds: 5, pollMs: 1,
        perform: async (action, m, members, s, p) => {
            if (action === failing.do && m.index === failing.member && mode === "before") throw new Error("injected before");
            await perform(action, m, members, s, p);
            if (action === failing.do && m.index === failing.member && mode === "after") throw new Error("injected after");
        },
    }).then(() => undefined, (e: unknown) => e);
    if (!isStepFailed(err)) throw new Error(`expected a step failure, got ${String(err)}`);
    return err;
}

/** Every step index with its name, for test.each. */
function cases(plan: Plan): [string, number, Mode][] {
    return plan.steps.flatMap((s: Step, k): [string, number, Mode][] =>
        (["before", "after"] as Mode[]).map((mode) => [`${k} ${s.name} (server ${s.member}: ${s.do.op}), failing ${mode} it acts`, k, mode]));
}

/** The lab as it must be with `source` the only source: writable, every other server fenced and replicating from it, nothing lost or errant. */
function expectSourceAndReplicas(lab: FakeLab, source: number, written: readonly string[]): void {
    const s = lab.members[source];
    expect({ readOnly: s.readOnly, replicating: s.replicating?.from.name }).toEqual({ readOnly: false, replicating: undefined });
    for (const m of lab.members.filter((x) => x !== s && x.answers)) {
        expect({ server: m.index, readOnly: m.readOnly, from: m.replicating?.from.name, io: m.replicating?.io, sql: m.replicating?.sql })
            .toEqual({ server: m.index, readOnly: true, from: s.name, io: true, sql: true });
    }
    // Nothing lost: the source holds every write; it takes a new one, and every replica gets all of it.
    for (const g of written) expect(s.executedSet.has(g)).toBe(true);
    const next = s.write();
    for (const m of lab.members.filter((x) => x !== s && x.answers && x.delaySeconds === 0)) {
        expect([...s.executedSet].filter((g) => !m.executedSet.has(g))).toEqual([]);
        expect(m.executedSet.has(next)).toBe(true);
    }
    // No errant transaction anywhere.
    for (const m of lab.members) expect([...m.executedSet].filter((g) => !s.executedSet.has(g))).toEqual([]);
}

/** Servers 0..count-1, server 0 the source with two writes everywhere; server `delayed` (if any) a delayed replica that received them only. */
function labWithWrites(count: number, delayed?: number): { lab: FakeLab; written: string[] } {
    const lab = new FakeLab(count);
    if (delayed !== undefined) lab.members[delayed].delaySeconds = 3600;
    const written = [lab.members[0].write(), lab.members[0].write()];
    lab.tick();
    return { lab, written };
}

describe("switchover 0 -> 1 of a source and three replicas, server 3 delayed", () => {
    const fresh = () => labWithWrites(4, 3);
    const plan = planOf(fresh().lab.facts(0), request(0, 1));

    test("the plan: catch up, freeze, drain (not the delayed replica), swap, open; every change has its undo", () => {
        expect(plan.steps.map(describeStep)).toEqual([
            "catch up: 1 reach",
            "freeze: 0 freeze / open",
            "drain: 1 reach", "drain: 2 reach",
            "swap: 1 stopReplication / replicate",
            "swap: 0 fence",
            "swap: 0 replicate / stopReplication",
            "swap: 2 replicate / replicate", "swap: 3 replicate / replicate",
            "open the new source: 0 unchangedSinceFreeze",
            "open the new source: 1 open / fence",
        ]);
    });

    test("run whole: server 1 is the source, the others replicate from it, nothing lost", async () => {
        const { lab, written } = fresh();
        const state = await runPlan(planOf(lab.facts(0), request(0, 1)), lab.map(), { timeoutSeconds: 5 });
        expect(state.frozen).toBe(written.join(","));
        expectSourceAndReplicas(lab, 1, written);
    });

    test.each(cases(plan))("step %s: server 0 is the source again, writable, every replica on it, nothing lost, no errant", async (_name, k, mode) => {
        const { lab, written } = fresh();
        const failed = await runFailing(lab, planOf(lab.facts(0), request(0, 1)), k, mode);
        expect({ step: failed.step.name, message: failed.message, undoFailures: failed.undoFailures })
            .toEqual({ step: plan.steps[k].name, message: `injected ${mode}`, undoFailures: [] });
        // Only the catch up comes before any change.
        expect(failed.changed).toBe(k > 0);
        expectSourceAndReplicas(lab, 0, written);
    });

    test("a write that reaches the old source after the freeze is caught before the target opens, and undone", async () => {
        const { lab, written } = fresh();
        const p = planOf(lab.facts(0), request(0, 1));
        const err = await runPlan(p, lab.map(), {
            timeoutSeconds: 5,
            perform: async (action, m, members, s, p) => {
                // MariaDB's root is exempt from read_only: a write slips in during the swap.
                if (action.op === "fence" && m.index === 0) {
                    lab.members[0].readOnly = false;
                    written.push(lab.members[0].write());
                }
                await perform(action, m, members, s, p);
            },
        }).catch((e: unknown) => e);
        expect(isStepFailed(err) && err.step.name).toBe("open the new source");
        expect((err as Error).message).toMatch(/^server 0 \(server-0\) committed transactions after the freeze \(s0:1,s0:2 -> s0:1,s0:2,s0:3\)$/);
        expectSourceAndReplicas(lab, 0, written);
    });

    test("an undo that fails is reported, and the others still run", async () => {
        const { lab } = fresh();
        const p = planOf(lab.facts(0), request(0, 1));
        const err = await runPlan(p, lab.map(), {
            timeoutSeconds: 5,
            perform: async (action, m, members, s, p) => {
                if (action.op === "open" && m.index === 0) throw new Error("server 0 went away");
                if (action.op === "open" && m.index === 1) throw new Error("injected");
                await perform(action, m, members, s, p);
            },
        }).catch((e: unknown) => e) as StepFailed;
        expect(err.step.name).toBe("open the new source");
        expect(err.undoFailures).toEqual(["server 0 went away"]);
        // Every other undo ran: the replicas are back on server 0, which stays read-only.
        for (const i of [1, 2, 3]) expect(lab.members[i].replicating?.from.index).toBe(0);
        expect(lab.members[0].readOnly).toBe(true);
    });

    test("a step whose statement never returns fails at the time bound, named, and the plan is undone", async () => {
        const { lab, written } = fresh();
        const p = planOf(lab.facts(0), request(0, 1));
        const started = Date.now();
        // Server 2's first repointing never returns (a STOP REPLICA waiting on its receiver); its undo does.
        let hung = false;
        const err = await runPlan(p, lab.map(), {
            timeoutSeconds: 0.3,
            perform: async (action, m, members, s, p) => {
                if (action.op === "replicate" && m.index === 2 && !hung) {
                    hung = true;
                    return new Promise<void>(() => undefined);
                }
                await perform(action, m, members, s, p);
            },
        }).catch((e: unknown) => e) as StepFailed;
        expect(isStepFailed(err)).toBe(true);
        expect(err.message).toBe('server 2 (server-2): step "swap" did not finish within the time bound (0.3 s)');
        expect(err.step.member).toBe(2);
        expect(err.undoFailures).toEqual([]);
        expect(Date.now() - started).toBeLessThan(5000);
        expectSourceAndReplicas(lab, 0, written);
    });

    test("a drain that times out fails the drain step and is undone", async () => {
        const { lab, written } = fresh();
        const p = planOf(lab.facts(0), request(0, 1));
        // Server 2 stops applying after the checks: it can never reach the frozen set.
        const err = await runPlan(p, lab.map(), {
            timeoutSeconds: 1,
            perform: async (action, m, members, s, p) => {
                if (action.op === "freeze") {
                    lab.members[2].replicating!.sql = false;
                    lab.members[0].write();
                }
                await perform(action, m, members, s, p);
            },
        }).catch((e: unknown) => e) as StepFailed;
        expect(err.step.name).toBe("drain");
        expect(err.message).toMatch(/^server 2 \(server-2\) did not reach s0:1,s0:2,s0:3 within the timeout \(1 s\)$/);
        lab.members[2].replicating!.sql = true;
        expectSourceAndReplicas(lab, 0, [...written, "s0:3"]);
    });
});

describe("switchover refusals: nothing is planned", () => {
    const refusal = (lab: FakeLab, r: MoveRequest) => {
        const planned = planMove(lab.facts(r.from), r);
        return "refused" in planned ? planned.refused : "planned";
    };

    test("a target that is a delayed replica", () => {
        const { lab } = labWithWrites(3, 2);
        expect(refusal(lab, request(0, 2))).toMatch(/^server 2 \(server-2\) is a delayed replica \(3600 s behind on purpose\)/);
    });
    test("a replica with a stopped thread, or one holding transactions of its own", () => {
        const { lab } = labWithWrites(3);
        lab.members[2].replicating!.sql = false;
        expect(refusal(lab, request(0, 1))).toBe("server 2 (server-2) is not a healthy replica of server 0 (server-0) (source server-0, IO thread Yes, SQL thread No)");
        lab.members[2].replicating!.sql = true;
        lab.members[1].readOnly = false;
        lab.members[1].write();
        expect(refusal(lab, request(0, 2))).toBe("server 1 (server-1) holds transactions server 0 (server-0) does not have: s1:1");
    });
    test("a server in play that does not answer; a left-out one takes no part", () => {
        const { lab } = labWithWrites(3);
        lab.members[2].answers = false;
        expect(refusal(lab, request(0, 1))).toMatch(/^server 2 \(server-2\) does not answer \(connect ECONNREFUSED\); run `pulumi up` without changing sourceIndex/);
        expect(refusal(lab, request(0, 1, { leftOut: { 2: "did not answer" } }))).toBe("planned");
        expect(refusal(lab, request(0, 2, { leftOut: { 2: "did not answer" } }))).toMatch(/^server 2 \(server-2\) is left out of replication \(did not answer\)/);
    });
    test("a source that replicates from another server", () => {
        const { lab } = labWithWrites(3);
        lab.members[0].replicating = { from: lab.members[2], io: true, sql: true };
        expect(refusal(lab, request(0, 1))).toMatch(/^server 0 \(server-0\) is not acting as the source/);
    });
    test("a source that does not answer: refused without allowFailover, a failover plan with it", () => {
        const { lab } = labWithWrites(3);
        lab.members[0].answers = false;
        expect(refusal(lab, request(0, 1))).toMatch(/^the current source server 0 \(server-0\) does not answer .* set allowFailover to true/);
        expect(refusal(lab, request(0, 1, { allowFailover: true }))).toBe("planned");
        expect(refusal(lab, request(0, 1, { allowFailover: true, known: 1 }))).toMatch(/^server 1 is new in this up/);
    });
});

/** Server 0 (the source) stops answering after `written`; server 3 is delayed. */
function deadSource(): { lab: FakeLab; written: string[] } {
    const { lab, written } = labWithWrites(4, 3);
    lab.members[0].answers = false;
    return { lab, written };
}

/** After a failed failover: every reachable replica back as it was, replicating from server 0, fenced, and holding what it held. */
function expectReplicasPutBack(lab: FakeLab, written: readonly string[]): void {
    for (const m of lab.members.slice(1)) {
        expect({ server: m.index, readOnly: m.readOnly, from: m.replicating?.from.name, io: m.replicating?.io, sql: m.replicating?.sql })
            .toEqual({ server: m.index, readOnly: true, from: "server-0", io: true, sql: true });
        const held = m.delaySeconds > 0 ? m.receivedSet : m.executedSet;
        for (const g of written) expect(held.has(g)).toBe(true);
    }
}

describe("forced failover 0 -> 1: server 0 does not answer, server 3 is delayed", () => {
    const r = request(0, 1, { allowFailover: true });
    const plan = planOf(deadSource().lab.facts(0), r);

    test("the plan: stop receiving, apply relay logs (not the delayed replica), compare, promote, open", () => {
        expect(plan.steps.map(describeStep)).toEqual([
            "stop receiving: 1 stopReceiving / startReceiving", "stop receiving: 2 stopReceiving / startReceiving",
            "stop receiving: 3 stopReceiving / startReceiving",
            "apply relay logs: 1 applyRelayLog", "apply relay logs: 2 applyRelayLog",
            "compare: 1 holdsAllOf", "compare: 1 holdsAllOf",
            "promote: 1 stopReplication / replicate",
            "promote: 2 replicate / replicate", "promote: 3 replicate / replicate",
            "open the new source: 1 open / fence",
        ]);
        expect(plan.leaveOut).toEqual({ 0: expect.stringMatching(/^did not answer when server 1 \(server-1\) was promoted by a forced failover/) });
    });

    test("run whole: server 1 is the source, 2 and 3 replicate from it with everything", async () => {
        const { lab, written } = deadSource();
        await runPlan(planOf(lab.facts(0), r), lab.map(), { timeoutSeconds: 5, pollMs: 1 });
        // Server 0 is left out (it does not answer); the delayed replica now receives from server 1.
        expectSourceAndReplicas(lab, 1, written);
        expect(lab.members[3].receivedSet.has(`s1:1`)).toBe(true);
    });

    test.each(cases(plan))("step %s: every replica is put back as it was, replicating from server 0", async (_name, k, mode) => {
        const { lab, written } = deadSource();
        const failed = await runFailing(lab, planOf(lab.facts(0), r), k, mode);
        expect({ step: failed.step.name, changed: failed.changed, undoFailures: failed.undoFailures })
            .toEqual({ step: plan.steps[k].name, changed: true, undoFailures: [] });
        expectReplicasPutBack(lab, written);
    });

    test("a target lacking what another replica received fails the compare step, naming that replica", async () => {
        const { lab } = deadSource();
        // Server 3 (delayed) received one more transaction than server 1 before the source died.
        lab.members[3].receivedSet.add("s0:3");
        const err = await runPlan(planOf(lab.facts(0), r), lab.map(), { timeoutSeconds: 5, pollMs: 1 }).catch((e: unknown) => e) as StepFailed;
        expect(err.step.name).toBe("compare");
        expect(err.message).toBe("server 3 (server-3) has executed transactions server 1 (server-1) lacks (s0:3); promote server 3 (server-3) instead");
        expectReplicasPutBack(lab, []);
    });

    test("refusals: a replica still hearing from the source; a replica not on the old source; a target that does not answer", () => {
        const refusal = (lab: FakeLab) => {
            const planned = planMove(lab.facts(0), r);
            return "refused" in planned ? planned.refused : "planned";
        };
        const { lab } = labWithWrites(3);
        lab.members[0].answers = false;
        const facts = lab.facts(0).map((f) => f.index === 2 ? { ...f, replica: { ...f.replica!, ioRunning: "Yes" } } : f);
        const planned = planMove(facts, r);
        expect("refused" in planned && planned.refused).toMatch(/^server 2 \(server-2\) is still connected to server 0 .* would leave two sources/);
        lab.members[2].replicating = undefined;
        expect(refusal(lab)).toMatch(/^server 2 \(server-2\) does not replicate from server 0 \(server-0\) \(its source: none\)/);
        lab.members[1].answers = false;
        expect(refusal(lab)).toMatch(/^server 1 \(server-1\) does not answer either/);
    });
});

describe("rejoin of a left-out server after a failover to server 1", () => {
    /** Failed over to 1; the old source 0 answers again, still writable (it was paused, not restarted). */
    async function returned(extra: boolean): Promise<{ lab: FakeLab; written: string[] }> {
        const { lab, written } = labWithWrites(3);
        if (extra) lab.members[0].executedSet.add("s0:99");
        lab.members[0].answers = false;
        await runPlan(planOf(lab.facts(0), request(0, 1, { allowFailover: true })), lab.map(), { timeoutSeconds: 5, pollMs: 1 });
        lab.members[0].answers = true;
        return { lab, written };
    }
    async function fenceAndDecide(lab: FakeLab) {
        const before = lab.facts(1);
        await runPlan(planFence(before[0], before[1]), lab.map(), { timeoutSeconds: 5 });
        expect(lab.members[0].readOnly).toBe(true);
        const facts = lab.facts(1);
        return planRejoin(facts[0], facts[1]);
    }

    test("holding nothing the source lacks: fenced, then replicates from the source", async () => {
        const { lab, written } = await returned(false);
        const decision = await fenceAndDecide(lab);
        if (!("plan" in decision)) throw new Error(JSON.stringify(decision));
        await runPlan(decision.plan, lab.map(), { timeoutSeconds: 5 });
        expectSourceAndReplicas(lab, 1, written);
    });

    test("holding more: fenced, stays out, with the reason naming what it holds", async () => {
        const { lab } = await returned(true);
        const decision = await fenceAndDecide(lab);
        expect(decision).toEqual({ staysOut: expect.stringMatching(/^holds transactions server 1 \(server-1\) lacks: s0:99; it stays out of replication, read-only/) });
        expect(lab.members[0].replicating?.sql ?? false).toBe(false);
    });

    test.each([["before"], ["after"]] as [Mode][])("the rejoin step failing %s it acts: the server stays fenced and replicates from nothing", async (mode) => {
        const { lab } = await returned(false);
        const decision = await fenceAndDecide(lab);
        if (!("plan" in decision)) throw new Error(JSON.stringify(decision));
        const failed = await runFailing(lab, decision.plan, 0, mode);
        expect({ step: failed.step.name, changed: failed.changed, undoFailures: failed.undoFailures }).toEqual({ step: "rejoin", changed: true, undoFailures: [] });
        expect({ readOnly: lab.members[0].readOnly, replicating: lab.members[0].replicating }).toEqual({ readOnly: true, replicating: undefined });
    });

    test("a fresh server is handed back to its Replication resource", () => {
        const lab = new FakeLab(3);
        lab.members[2].replicating = undefined;
        const facts = lab.facts(0);
        expect(planRejoin(facts[2], facts[0])).toEqual({ handBack: "server 2 (server-2) is new (empty volume): its Replication resource seeds it" });
    });
});

function describeStep(s: Step): string {
    return `${s.name}: ${s.member} ${s.do.op}${s.undo ? ` / ${s.undo.op}` : ""}`;
}
