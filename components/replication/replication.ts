import * as pulumi from "@pulumi/pulumi";
import { adminEndpoint, describeEndpoint, execAll, isGone, readServerVersion, withConnection, withSuperReadOnlyLifted } from "./connection";
import { type InputTable, changedInputs, checkInputs, diffOf, fromState, is, withDefaults } from "./inputs";
import { type ReplicationInputs, type ReplicationOutputs, type ReplicationStatus, fail, pointReplica, statusOf } from "./pointing";
import { replicationDialect } from "./sql/replication";
import { type SeedMode, SEED_MODES } from "./sql/seeding";

export type { ReplicationInputs, ReplicationOutputs, ReplicationStatus } from "./pointing";

/** How long read and delete wait for a replica before taking it for gone. */
const GONE_AFTER_SECONDS = 3;

/**
 * Every input: a new admin endpoint is another replica (replaced); what changes how the replica
 * replicates re-points it (STOP, CHANGE, START); what only says how Pulumi works with it is recorded.
 */
const INPUTS: InputTable<ReplicationInputs> = {
    adminHost: { change: "replace", valid: is.text, allowed: "a host name or address" },
    adminPort: { change: "replace", valid: is.port, allowed: "a port from 1 to 65535" },
    adminUser: { change: "record", byDefault: "root", valid: is.text, allowed: "a user name" },
    adminPassword: { change: "record", valid: is.string, allowed: "a string" },
    replicaName: { change: "record", valid: is.text, allowed: "a non-empty string" },
    replicaInstance: { change: "apply", byDefault: "" },
    sourceHost: { change: "apply", valid: is.text, allowed: "a host name or address" },
    sourcePort: { change: "apply", byDefault: 3306, valid: is.port, allowed: "a port from 1 to 65535" },
    sourceProbeHost: { change: "apply", valid: is.text, allowed: "a host name or address" },
    sourceProbePort: { change: "apply", valid: is.port, allowed: "a port from 1 to 65535" },
    user: { change: "apply", valid: (v) => is.text(v) && v.length <= 32, allowed: "a user name of 1 to 32 characters" },
    password: { change: "apply", valid: is.text, allowed: "a non-empty string" },
    connectRetry: { change: "apply", byDefault: 2, valid: is.wholeFrom(1), allowed: "a whole number of seconds, at least 1" },
    retryCount: { change: "apply", byDefault: 86400, valid: is.wholeFrom(1), allowed: "a whole number, at least 1" },
    timeoutSeconds: { change: "record", byDefault: 120, valid: is.wholeFrom(1), allowed: "a whole number of seconds, at least 1" },
    // Older state, from before delays and seeding existed, has none of these.
    delaySeconds: { change: "apply", byDefault: 0, valid: is.wholeFrom(0), allowed: "a whole number of seconds, at least 0" },
    leftOut: { change: "apply", byDefault: "" },
    seed: { change: "record", byDefault: "auto", valid: is.oneOf(SEED_MODES), allowed: `one of ${SEED_MODES.join(", ")}` },
    donorUser: { change: "record", byDefault: "root" },
    donorPassword: { change: "record", byDefault: "" },
};

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
        return { inputs: news, failures: checkInputs(INPUTS, news) };
    },

    async diff(_id, olds, news) {
        return diffOf(changedInputs(INPUTS, olds, news), drifted(fromState(INPUTS, olds) as ReplicationOutputs));
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
        const o = fromState(INPUTS, olds) as ReplicationOutputs;
        if (news.leftOut) return { outs: leftOutRecord(news) };
        const seededBy = o.seededBy ?? "";
        // Rejoined (Topology pointed it at the source already): re-pointing here checks and records it.
        if (o.leftOut) return { outs: await pointReplica(news, seededBy) };
        if (changedInputs(INPUTS, olds, news).apply.length === 0 && !drifted(o)) {
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
            ...withDefaults(INPUTS, args),
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
