import * as pulumi from "@pulumi/pulumi";
import type { Connection } from "mysql2/promise";
import { Endpoint, connect, execAll, query, readServerVersion } from "./connection";
import { aheadOfSource, readSource, replicaStatus, withSuperReadOnlyLifted } from "./replication";
import * as sql from "./sql";

/**
 * Which server is the source. Created, it only records the choice (the Replication and ServerRole
 * resources set the lab up); updated with another sourceIndex, it moves the source in the order
 * MySQL Shell's setPrimaryInstance and orchestrator's graceful takeover use:
 *   checks (nothing changes): every server answers; the target replicates from the source with both
 *     threads running, holds no transaction of its own, and catches up within the timeout;
 *   freeze: the old source stops taking writes (commits in flight finish first), and its final
 *     GTID set is read;
 *   drain: every other server reaches that set;
 *   swap: the target stops replicating; the old source (fenced for good) and every other server
 *     replicate from it by GTID auto-positioning; the target opens last.
 * Any failure after the freeze puts the old source back as it was and names the step.
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
}

export interface TopologyOutputs extends TopologyInputs {
    /** What the last change did, for the record. */
    readonly lastChange: string;
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
async function pointAt(i: TopologyInputs, m: Member, source: Member, formerSource: boolean): Promise<void> {
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

/** Connects to every server (a short bound each); the ones that do not answer come back with the reason. */
async function openAll(i: TopologyInputs): Promise<(Member | { index: number; server: TopologyServer; error: string })[]> {
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
    const members = opened.filter((m): m is Member => "conn" in m);
    try {
        if (members.length !== opened.length) return undefined;
        const acting: number[] = [];
        for (const m of members) if ((await writable(m)) && !(await status(m)).configured) acting.push(m.index);
        return acting.length === 1 ? acting[0] : undefined;
    } finally {
        await Promise.all(members.map((m) => m.conn.end().catch(() => m.conn.destroy())));
    }
}

/** The planned switchover from `from` to `to`; resolves to a one-line account of it. */
export async function switchover(i: TopologyInputs, from: number, to: number): Promise<string> {
    const refuse = (why: string) => new Error(`sourceIndex ${from} -> ${to}: refused, nothing was changed: ${why}`);
    if (from < 0 || from >= i.servers.length) throw refuse(`the current source, server ${from}, is no longer in the lab; change replicaCount and sourceIndex in separate ups`);
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const remaining = () => Math.max(1, Math.round((deadline - Date.now()) / 1000));

    const opened = await openAll(i);
    const members = opened.filter((m): m is Member => "conn" in m);
    try {
        const down = opened.filter((m) => !("conn" in m)) as { index: number; server: TopologyServer; error: string }[];
        const sourceDown = down.find((m) => m.index === from);
        if (sourceDown) throw refuse(`the current source ${label(sourceDown)} does not answer (${sourceDown.error}); a forced failover is not supported yet`);
        if (down.length > 0) throw refuse(`${down.map((m) => `${label(m)} does not answer (${m.error})`).join("; ")}`);
        const source = members[from];
        const target = members[to];
        const others = members.filter((m) => m.index !== from && m.index !== to);

        // Checks, before anything changes: the source is the source; every other server is a healthy
        // replica of it with nothing of its own; the target catches up in time.
        // (A MariaDB or MySQL 5.7 source that restarted is read-only until the next up, but still the source.)
        if ((await status(source)).configured) {
            throw refuse(`${label(source)} is not acting as the source: it replicates from another server; \`npm run status\` shows the servers' roles`);
        }
        for (const m of [target, ...others]) {
            const problem = await replicaProblem(m, source);
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
                if (!(await reaches(m, final, remaining()))) throw new Error(`${label(m)} did not reach ${final} within the timeout (${i.timeoutSeconds} s)`);
            }

            step = "swap";
            const td = sql.replicationDialect(target.version);
            undo.push(() => pointAt(i, target, source, false));
            await withSuperReadOnlyLifted(target.conn, target.version, () => execAll(target.conn, [td.stop, td.resetReplica]));
            // The old source is fenced for good (persisted where the flavor can) before it replicates.
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
            return `switched the source from ${label(source)} to ${label(target)} at ${final}`;
        } catch (err) {
            const undone: string[] = [];
            for (const u of undo.reverse()) await u().catch((e) => undone.push((e as Error).message));
            throw new Error(`sourceIndex ${from} -> ${to}: the ${step} step failed: ${(err as Error).message}; ` +
                (undone.length === 0 ? `${label(source)} was put back as the source, writable` :
                    `putting ${label(source)} back failed too: ${undone.join("; ")}`));
        }
    } finally {
        await Promise.all(members.map((m) => m.conn.end().catch(() => m.conn.destroy())));
    }
}

export const topologyProvider: pulumi.dynamic.ResourceProvider<TopologyInputs, TopologyOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const n = Array.isArray(news.servers) ? news.servers.length : 0;
        if (n === 0) failures.push({ property: "servers", reason: "servers must list at least one server" });
        if (!Number.isInteger(news.sourceIndex) || news.sourceIndex < 0 || news.sourceIndex >= n) {
            failures.push({ property: "sourceIndex", reason: `sourceIndex must be a server index from 0 to ${n - 1}, got ${JSON.stringify(news.sourceIndex)}` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const keys = (Object.keys(news) as (keyof TopologyInputs)[]).filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
        // Nothing here names a server's storage: a new source, or more servers, is an update.
        return { changes: keys.length > 0, replaces: [] };
    },
    async create(inputs) {
        // A new lab has no source yet (every server starts read-only). A lab from before this resource
        // has one: if config names another, move it now rather than open a second writable server.
        const acting = await actingSource(inputs);
        const lastChange = acting !== undefined && acting !== inputs.sourceIndex
            ? await switchover(inputs, acting, inputs.sourceIndex)
            : `created with server ${inputs.sourceIndex} as the source`;
        return { id: "topology", outs: { ...inputs, lastChange } };
    },
    async read(id, props) {
        return { id, props };
    },
    async update(_id, olds, news) {
        const lastChange = olds.sourceIndex === news.sourceIndex
            ? olds.lastChange
            : await switchover(news, olds.sourceIndex, news.sourceIndex);
        return { outs: { ...news, lastChange } };
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
}

/** The lab's choice of source; changing it performs a planned switchover (see above). */
export class Topology extends pulumi.dynamic.Resource {
    declare public readonly lastChange: pulumi.Output<string>;
    constructor(name: string, args: TopologyArgs, opts?: pulumi.CustomResourceOptions) {
        super(topologyProvider, name, {
            ...args,
            adminUser: args.adminUser ?? "root",
            adminPassword: pulumi.secret(args.adminPassword),
            password: pulumi.secret(args.password),
            connectRetry: args.connectRetry ?? 2,
            retryCount: args.retryCount ?? 86400,
            timeoutSeconds: args.timeoutSeconds ?? 60,
            lastChange: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword", "password"] },
        "replication", "Topology");
    }
}
