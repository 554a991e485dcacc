import * as pulumi from "@pulumi/pulumi";
import { adminEndpoint, describeEndpoint, execAll, isGone, readServerVersion, withAdminKeys, withConnection, withSuperReadOnlyLifted } from "./connection";
import { type ReplicationInputs, type ReplicationOutputs, type ReplicationStatus, fail, pointReplica, statusOf } from "./pointing";
import { replicationDialect } from "./sql/replication";
import { type SeedMode, SEED_MODES } from "./sql/seeding";

export type { ReplicationInputs, ReplicationOutputs, ReplicationStatus } from "./pointing";

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
        need("seed", news.seed === undefined || SEED_MODES.includes(news.seed), `one of ${SEED_MODES.join(", ")}`);
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
            return statusOf(conn, replicationDialect(v), v);
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
                return statusOf(conn, replicationDialect(v), v);
            }).catch((err) => { throw fail(news, (err as Error).message); });
            return { outs: { ...news, ...status, seededBy } };
        }
        return { outs: await pointReplica(news, seededBy) };
    },

    async delete(_id, props) {
        try {
            await withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "replica", async (conn) => {
                const v = await readServerVersion(conn);
                const d = replicationDialect(v);
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
    readonly seed?: pulumi.Input<SeedMode>;
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
