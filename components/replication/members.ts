/**
 * The lab's servers as switchover, failover and rejoin see them: the one way they are opened
 * (`openMembers`), and each step's action as statements on a live server (the `Member` of steps.ts).
 */
import type { Connection } from "mysql2/promise";
import { connect, execAll, query, readServerVersion, withSuperReadOnlyLifted, within, type Endpoint } from "./connection";
import type { MemberFacts } from "./plans";
import { aheadOfSource, gtidDifference, isFresh, readSource, replicaStatus } from "./serverState";
import { type ReplicationDialect, replicationDialect } from "./sql/replication";
import { lockWaitTimeout, roleStatements, switchoverDialect } from "./sql/roles";
import { type ReplicaStatus, readOnlyQuery, relayLogApplied } from "./sql/status";
import { type ServerVersion } from "./sql/vocabulary";
import type { Member } from "./steps";

/** A server of the lab: its container name, and where Pulumi reaches it. */
export interface MemberAddress {
    readonly name: string;
    readonly adminHost: string;
    readonly adminPort: number;
}

/** How members log in, and the credentials replicas use to reach a new source. */
export interface MemberCredentials {
    readonly adminUser: string;
    readonly adminPassword: string;
    readonly user: string;
    readonly password: string;
    readonly connectRetry: number;
    readonly retryCount: number;
}

export class SqlMember implements Member {
    constructor(readonly index: number, readonly address: MemberAddress, readonly conn: Connection,
        readonly version: ServerVersion, private readonly c: MemberCredentials) {}

    get name(): string {
        return this.address.name;
    }

    private get dialect(): ReplicationDialect {
        return replicationDialect(this.version);
    }

    status(): Promise<ReplicaStatus> {
        return replicaStatus(this.conn, this.dialect);
    }

    async facts(reference?: Member): Promise<MemberFacts> {
        const st = await this.status();
        const [ro] = await query<{ read_only: unknown }>(this.conn, readOnlyQuery(this.version));
        const ahead = reference && reference !== this && reference instanceof SqlMember
            ? await aheadOfSource(this.conn, this.version, await readSource(reference.conn))
            : { own: "", others: "" };
        return {
            index: this.index, name: this.name, writable: Number(ro.read_only) === 0,
            replica: {
                configured: st.configured, sourceHost: st.sourceHost, ioRunning: st.ioRunning, sqlRunning: st.sqlRunning,
                sqlDelay: st.sqlDelay, lastIoError: st.lastIoError, lastSqlError: st.lastSqlError,
            },
            errant: ahead.own,
            extra: [ahead.own, ahead.others].filter(Boolean).join(","),
            fresh: await isFresh(this.conn, st),
        };
    }

    async executed(): Promise<string> {
        return String((await readSource(this.conn)).gtids ?? "");
    }

    async reaches(gtids: string, seconds: number): Promise<boolean> {
        const [row] = await query<{ reached: number | string }>(this.conn, this.dialect.waitForGtids(gtids, seconds));
        return Number(row.reached) === 1;
    }

    async freeze(seconds: number): Promise<void> {
        // Setting read-only waits for commits in flight, bounded by what is left of the timeout.
        await query(this.conn, lockWaitTimeout(seconds));
        await execAll(this.conn, switchoverDialect(this.version).freeze);
        await query(this.conn, switchoverDialect(this.version).flushLogs);
    }

    open(): Promise<void> {
        return execAll(this.conn, roleStatements(this.version, "source"));
    }

    fence(): Promise<void> {
        return execAll(this.conn, roleStatements(this.version, "replica"));
    }

    stopReplication(): Promise<void> {
        return withSuperReadOnlyLifted(this.conn, this.version, () => execAll(this.conn, [this.dialect.stop, this.dialect.resetReplica]));
    }

    async stopApplying(): Promise<void> {
        await withSuperReadOnlyLifted(this.conn, this.version, () => query(this.conn, this.dialect.stop));
    }

    /** Points it at `source` by GTID auto-positioning and starts it. */
    replicate(source: string, formerSource: boolean): Promise<void> {
        const d = this.dialect;
        return withSuperReadOnlyLifted(this.conn, this.version, async () => {
            await query(this.conn, d.stop);
            if (formerSource) await execAll(this.conn, switchoverDialect(this.version).beforeReplicating);
            await query(this.conn, d.changeSource({
                host: source, port: 3306, user: this.c.user, password: this.c.password,
                connectRetry: this.c.connectRetry, retryCount: this.c.retryCount,
            }));
            await query(this.conn, d.start);
        });
    }

    async stopReceiving(): Promise<void> {
        await query(this.conn, this.dialect.stopIo);
    }

    async startReceiving(): Promise<void> {
        await query(this.conn, this.dialect.startIo);
    }

    async relayLogApplied(): Promise<boolean> {
        const st = await this.status();
        if (relayLogApplied(st)) return true;
        if (st.sqlRunning !== "Yes") throw new Error(`server ${this.index} (${this.name})'s SQL thread stopped: ${st.lastSqlError || st.sqlRunning}`);
        return false;
    }

    async missingOf(other: Member): Promise<string> {
        const o = other as SqlMember;
        const mine = await readSource(this.conn);
        const ahead = await aheadOfSource(o.conn, o.version, mine);
        return [ahead.own, ahead.others, await o.receivedBeyond(mine.state, this)].filter(Boolean).join(",");
    }

    async ownBeyond(other: Member): Promise<string> {
        return (await aheadOfSource(this.conn, this.version, await readSource((other as SqlMember).conn))).own;
    }

    /** What this delayed replica has received but not applied that `target` (whose state is given) lacks; "" if not delayed. */
    private async receivedBeyond(targetState: string, target: SqlMember): Promise<string> {
        const st = await this.status();
        if (st.sqlDelay === 0 || st.retrievedGtids === "") return "";
        return gtidDifference(target.conn, target.version, st.retrievedGtids, targetState);
    }

    /** Ends the session; one still held by a statement that outlived its step's bound is dropped instead. */
    async close(): Promise<void> {
        const ending = this.conn.end().then(() => "ended" as const, () => "failed" as const);
        const ended = await within(ending, 2000, () => "held" as const);
        if (ended !== "ended") this.conn.destroy();
    }
}

/** A server that did not answer, with the reason. */
export interface Unreachable {
    readonly index: number;
    readonly address: MemberAddress;
    readonly error: string;
}

/** Opens one server (a short bound); rejects with the reason when it does not answer. */
export async function openMember(index: number, address: MemberAddress, c: MemberCredentials): Promise<SqlMember> {
    const endpoint: Endpoint = { host: address.adminHost, port: address.adminPort, user: c.adminUser, password: c.adminPassword };
    const conn = await connect(endpoint, 10, `server ${index}`);
    try {
        return new SqlMember(index, address, conn, await readServerVersion(conn), c);
    } catch (err) {
        await conn.end().catch(() => conn.destroy());
        throw err;
    }
}

/** Opens every server at once; the ones that do not answer come back with the reason. */
export function openMembers(addresses: readonly MemberAddress[], c: MemberCredentials): Promise<(SqlMember | Unreachable)[]> {
    return Promise.all(addresses.map((address, index) =>
        openMember(index, address, c).catch((err): Unreachable => ({ index, address, error: (err as Error).message }))));
}

export function isOpen(m: SqlMember | Unreachable): m is SqlMember {
    return m instanceof SqlMember;
}

/** The facts of every server, GTIDs compared against server `reference` (when it answers). */
export async function observe(opened: readonly (SqlMember | Unreachable)[], reference: number): Promise<MemberFacts[]> {
    const ref = opened[reference];
    return Promise.all(opened.map((m) => isOpen(m)
        ? m.facts(ref && isOpen(ref) ? ref : undefined)
        : { index: m.index, name: m.address.name, error: m.error }));
}

export async function closeAll(opened: readonly (SqlMember | Unreachable)[]): Promise<void> {
    await Promise.all(opened.filter(isOpen).map((m) => m.close()));
}
