/**
 * A lab of servers in memory, for the step runner's unit tests: each member keeps a GTID set
 * (transactions named `s<index>:<n>` after the server that wrote them), a read-only flag and its
 * replication threads. Replication is immediate: before any action, every replica whose threads run
 * and whose source answers receives and applies what its source has (a delayed one only receives).
 * It models what switchover, failover and rejoin rely on, not a server.
 */
import type { MemberFacts } from "../../components/replication/plans";
import type { Member } from "../../components/replication/steps";

interface Replicating {
    from: FakeMember;
    io: boolean;
    sql: boolean;
}

export class FakeMember implements Member {
    readOnly = true;
    answers = true;
    delaySeconds = 0;
    replicating?: Replicating;
    readonly executedSet = new Set<string>();
    readonly receivedSet = new Set<string>();
    private written = 0;

    constructor(readonly lab: FakeLab, readonly index: number) {}

    get name(): string {
        return `server-${this.index}`;
    }

    /** Commits one transaction of its own, as a client would; refused while read-only. */
    write(): string {
        this.lab.tick();
        if (!this.answers) throw new Error(`${this.name} does not answer`);
        if (this.readOnly) throw new Error(`${this.name} is read-only`);
        const gtid = `s${this.index}:${++this.written}`;
        this.executedSet.add(gtid);
        this.lab.tick();
        return gtid;
    }

    private act(): void {
        if (!this.answers) throw new Error(`${this.name} does not answer`);
        this.lab.tick();
    }

    private own(): string[] {
        return [...this.executedSet].filter((g) => g.startsWith(`s${this.index}:`));
    }

    async facts(reference?: Member): Promise<MemberFacts> {
        this.act();
        return this.factsNow(reference as FakeMember | undefined);
    }

    factsNow(reference?: FakeMember): MemberFacts {
        const ref = reference;
        const lacking = (gtids: string[]) => (ref && ref !== this ? gtids.filter((g) => !ref.executedSet.has(g)) : []);
        const r = this.replicating;
        return {
            index: this.index, name: this.name, writable: !this.readOnly,
            replica: {
                configured: r !== undefined, sourceHost: r?.from.name ?? "",
                ioRunning: !r?.io ? "No" : r.from.answers ? "Yes" : "Connecting", sqlRunning: r?.sql ? "Yes" : "No",
                sqlDelay: this.delaySeconds, lastIoError: "", lastSqlError: "",
            },
            errant: lacking(this.own()).join(","),
            extra: lacking([...this.executedSet]).join(","),
            fresh: r === undefined && this.executedSet.size === 0,
        };
    }

    async executed(): Promise<string> {
        this.act();
        return [...this.executedSet].sort().join(",");
    }

    async reaches(gtids: string): Promise<boolean> {
        this.act();
        return gtids.split(",").filter(Boolean).every((g) => this.executedSet.has(g));
    }

    async freeze(): Promise<void> {
        this.act();
        this.readOnly = true;
    }

    async open(): Promise<void> {
        this.act();
        this.readOnly = false;
    }

    async fence(): Promise<void> {
        this.act();
        this.readOnly = true;
    }

    async stopReplication(): Promise<void> {
        this.act();
        this.replicating = undefined;
        this.receivedSet.clear();
    }

    async stopApplying(): Promise<void> {
        this.act();
        if (this.replicating) this.replicating.sql = false;
    }

    async replicate(source: string): Promise<void> {
        this.act();
        const from = this.lab.members.find((m) => m.name === source);
        if (!from) throw new Error(`no server is named ${source}`);
        this.replicating = { from, io: true, sql: true };
        this.lab.tick();
    }

    async stopReceiving(): Promise<void> {
        this.act();
        if (this.replicating) this.replicating.io = false;
    }

    async startReceiving(): Promise<void> {
        this.act();
        if (this.replicating) this.replicating.io = true;
    }

    async relayLogApplied(): Promise<boolean> {
        this.act();
        if (!this.replicating?.sql) throw new Error(`${this.name}'s SQL thread stopped`);
        return [...this.receivedSet].every((g) => this.executedSet.has(g));
    }

    async missingOf(other: Member): Promise<string> {
        this.act();
        const o = other as FakeMember;
        return [...new Set([...o.executedSet, ...o.receivedSet])].filter((g) => !this.executedSet.has(g)).join(",");
    }

    async ownBeyond(other: Member): Promise<string> {
        this.act();
        return this.own().filter((g) => !(other as FakeMember).executedSet.has(g)).join(",");
    }
}

export class FakeLab {
    readonly members: FakeMember[];

    /** `count` servers; server `source` writable, every other one replicating from it. */
    constructor(count: number, source = 0) {
        this.members = Array.from({ length: count }, (_, i) => new FakeMember(this, i));
        const s = this.members[source];
        s.readOnly = false;
        for (const m of this.members) if (m !== s) m.replicating = { from: s, io: true, sql: true };
    }

    /** Replication, at once: received from a source that answers, applied unless delayed. */
    tick(): void {
        for (let changed = true; changed;) {
            changed = false;
            for (const m of this.members) {
                const r = m.replicating;
                if (!m.answers || !r) continue;
                if (r.io && r.from.answers) {
                    for (const g of r.from.executedSet) {
                        if (!m.receivedSet.has(g) && !m.executedSet.has(g)) {
                            m.receivedSet.add(g);
                            changed = true;
                        }
                    }
                }
                if (r.sql && m.delaySeconds === 0) {
                    for (const g of m.receivedSet) {
                        if (!m.executedSet.has(g)) {
                            m.executedSet.add(g);
                            changed = true;
                        }
                    }
                }
            }
        }
    }

    map(): Map<number, Member> {
        return new Map(this.members.filter((m) => m.answers).map((m) => [m.index, m]));
    }

    /** What the planner sees: every member's facts against server `reference`, or why it did not answer. */
    facts(reference: number): MemberFacts[] {
        this.tick();
        const ref = this.members[reference];
        return this.members.map((m) => m.answers
            ? m.factsNow(ref.answers ? ref : undefined)
            : { index: m.index, name: m.name, error: "connect ECONNREFUSED" });
    }
}
