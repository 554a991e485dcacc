import * as pulumi from "@pulumi/pulumi";
import {
    AdminInputs, adminEndpoint, execAll, isGone, query, readServerVersion, sleep, withConnection, withSuperReadOnlyLifted,
} from "./connection";
import { type InputTable, changedInputs, checkInputs, diffOf, fromState, is, withDefaults } from "./inputs";
import { killSession, replicationDialect, sessionBinlog } from "./sql/replication";
import { type SemiSyncDialect, installPlugin, persistedFenceQuery, persistsRole, roleStatements, semiSyncDialect } from "./sql/roles";
import { binlogDumpsQuery, globalStatus, normaliseStatus, readOnlyQuery } from "./sql/status";
import { type Role, type ServerVersion } from "./sql/vocabulary";

/**
 * Every server starts read-only (its container does not know its role); this resource makes the
 * source writable and locks replicas down (super_read_only on MySQL) at run time, so a switchover is
 * a config change that never touches a container. Only the fence survives a restart (MySQL 8+
 * persists read-only for every server, the source included), so a restarted source comes back
 * read-only until the next `pulumi up` confirms it is still the source. A new container (a new image
 * or password replaces it) is a changed input: the same up applies the role to it again.
 */
export interface ServerRoleInputs extends AdminInputs {
    readonly serverName: string;
    /** The server's container id, "" when unknown: a new container gets its role again. */
    readonly serverInstance: string;
    readonly role: Role;
    /** Why the server is left out of replication (see Topology), or "": a left-out server is not touched. */
    readonly leftOut: string;
    /** Semi-synchronous replication: the source waits for a replica's acknowledgement, up to the timeout. */
    /** Off when left out. */
    readonly semiSync?: boolean;
    /** Defaults to 10000, the servers' own default. */
    readonly semiSyncTimeoutMs?: number;
}

export interface ServerRoleOutputs extends ServerRoleInputs {
    /** As read from the server. */
    readonly readOnly: boolean;
    /** null where the flavor has no super_read_only (MariaDB). */
    readonly superReadOnly: boolean | null;
    /** Whether read-only survives a restart (SET PERSIST), for every role. */
    readonly persisted: boolean;
    /** Whether this server's side of semi-sync (its role's) is enabled, as read; null where it was never set up. */
    readonly semiSyncEnabled: boolean | null;
    /**
     * Whether it will start read-only (super_read_only persisted ON), as read; null where nothing persists.
     * A source set up by an earlier version of the lab persisted itself writable: that is drift.
     */
    readonly startsFenced?: boolean | null;
}

/**
 * How long applying a role waits for its server. The server has answered (ServerReady) before its role
 * is applied, so a server that does not answer within this is stopped, paused or gone: the up fails in
 * time instead of waiting on it.
 */
const ANSWER_SECONDS = 20;

async function apply(i: ServerRoleInputs): Promise<ServerRoleOutputs> {
    // Topology fenced it if it answered; if not, it starts read-only.
    if (i.leftOut) return { ...i, readOnly: true, superReadOnly: null, persisted: false, semiSyncEnabled: null, startsFenced: null };
    return withConnection(adminEndpoint(i), ANSWER_SECONDS, `server ${i.serverName}`, async (conn) => {
        const v = await readServerVersion(conn);
        await execAll(conn, roleStatements(v, i.role));
        await applySemiSync(conn, v, i);
        return { ...i, ...(await readBack(conn, v, i.role)) };
    });
}

type Conn = import("mysql2/promise").Connection;

/** The semi-sync plugins present (MySQL); every one on MariaDB, where it is built in. */
async function semiSyncReady(conn: Conn, d: SemiSyncDialect): Promise<{ missing: { name: string; library: string }[] }> {
    if (d.plugins.length === 0) return { missing: [] };
    const rows = await query<{ name: string }>(conn, {
        sql: "SELECT PLUGIN_NAME AS name FROM information_schema.PLUGINS WHERE PLUGIN_STATUS = 'ACTIVE' AND PLUGIN_NAME IN (?)",
        params: [d.plugins.map((p) => p.name)],
    });
    return { missing: d.plugins.filter((p) => !rows.some((r) => r.name === p.name)) };
}

/**
 * Semi-sync for the server's role. Every server gets both sides' plugins (any may become the source);
 * a server that never had semi-sync on is left alone while it is off. A replica's IO thread restarts
 * when its side changes, as it registers as semi-synchronous only when it connects.
 */
async function applySemiSync(conn: Conn, v: ServerVersion, i: ServerRoleInputs): Promise<void> {
    const d = semiSyncDialect(v);
    const { missing } = await semiSyncReady(conn, d);
    const on = i.semiSync ?? false;
    if (missing.length > 0 && !on) return;
    if (missing.length > 0) {
        // The plugin table is written on this server alone: never binlogged, never an errant transaction.
        await withSuperReadOnlyLifted(conn, v, async () => {
            await query(conn, sessionBinlog(false));
            try {
                for (const p of missing) await query(conn, installPlugin(p));
            } finally {
                await query(conn, sessionBinlog(true));
            }
        });
    }
    const [before] = await query<{ replica_enabled: unknown }>(conn, d.readSettings);
    await execAll(conn, d.settings(i.role, on, i.semiSyncTimeoutMs ?? 10000));
    if (i.role === "replica" && (Number(before.replica_enabled) === 1) !== on) {
        const r = replicationDialect(v);
        const [st] = await query(conn, r.showStatus);
        if (normaliseStatus(st).ioRunning !== "No") {
            await execAll(conn, [r.stopIo, r.startIo]);
            // Connected again (registered with its source) before the role is reported.
            const deadline = Date.now() + 30_000;
            while (normaliseStatus((await query(conn, r.showStatus))[0]).ioRunning !== "Yes" && Date.now() < deadline) await sleep(200);
        }
    }
    if (i.role === "source" && on) await reconnectAsyncReplicas(conn, d);
}

/**
 * A MySQL replica registers as semi-synchronous only if its source had the plugin when it connected.
 * When fewer replicas acknowledge than are connected, the source ends their binlog dump threads;
 * each replica reconnects within its retry interval, this time as semi-synchronous.
 */
async function reconnectAsyncReplicas(conn: Conn, d: SemiSyncDialect): Promise<void> {
    const clients = async () => {
        const [row] = await query<{ Value: string }>(conn, globalStatus(`${d.sourcePrefix}_clients`));
        return Number(row?.Value ?? 0);
    };
    const dumps = await query<{ id: number }>(conn, binlogDumpsQuery);
    if ((await clients()) >= dumps.length) return;
    for (const t of dumps) await query(conn, killSession(Number(t.id))).catch(() => undefined);
    const deadline = Date.now() + 20_000;
    while ((await clients()) < dumps.length && Date.now() < deadline) await sleep(250);
}

async function readBack(conn: Conn, v: ServerVersion, role: Role) {
    const [row] = await query<{ read_only: unknown; super_read_only: unknown }>(conn, readOnlyQuery(v));
    const d = semiSyncDialect(v);
    let semiSyncEnabled: boolean | null = null;
    if ((await semiSyncReady(conn, d)).missing.length === 0) {
        const [ss] = await query<{ source_enabled: unknown; replica_enabled: unknown }>(conn, d.readSettings);
        semiSyncEnabled = Number(role === "source" ? ss.source_enabled : ss.replica_enabled) === 1;
    }
    const fenceQuery = persistedFenceQuery(v);
    const startsFenced = fenceQuery ? (await query<{ v: string }>(conn, fenceQuery)).some((r) => String(r.v).toUpperCase() === "ON") : null;
    return {
        readOnly: Number(row.read_only) === 1,
        superReadOnly: row.super_read_only === null ? null : Number(row.super_read_only) === 1,
        persisted: persistsRole(v),
        semiSyncEnabled,
        startsFenced,
    };
}

/** True when semi-sync as read differs from what the inputs ask (a MariaDB restart turns it off). */
function semiSyncDrifted(o: Partial<ServerRoleOutputs>): boolean {
    const wanted = o.semiSync ?? false;
    return o.semiSyncEnabled === null || o.semiSyncEnabled === undefined ? wanted : o.semiSyncEnabled !== wanted;
}

/** True when what was read matches what the role asks for. */
export function roleHolds(o: Pick<ServerRoleOutputs, "role" | "readOnly" | "superReadOnly">): boolean {
    const locked = o.role === "replica";
    return o.readOnly === locked && (o.superReadOnly === null || o.superReadOnly === locked);
}

/** Every input: another admin endpoint is another server (replaced); any other change applies the role again. */
const INPUTS: InputTable<ServerRoleInputs> = {
    adminHost: { change: "replace" },
    adminPort: { change: "replace" },
    adminUser: { change: "record", byDefault: "root" },
    adminPassword: { change: "record" },
    serverName: { change: "record" },
    // Older state lacks it: the first up with it applies every role again, which changes nothing.
    serverInstance: { change: "apply", byDefault: "" },
    role: { change: "apply", valid: is.oneOf(["source", "replica"]), allowed: "source or replica" },
    leftOut: { change: "apply", byDefault: "" },
    // Older state, from before semi-sync existed, has it off.
    semiSync: { change: "apply", byDefault: false },
    semiSyncTimeoutMs: { change: "apply", byDefault: 10000, matters: (n) => n.semiSync === true },
};

export const serverRoleProvider: pulumi.dynamic.ResourceProvider<ServerRoleInputs, ServerRoleOutputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkInputs(INPUTS, news) };
    },
    async diff(_id, olds, news) {
        const o = fromState(INPUTS, olds) as ServerRoleOutputs;
        const drifted = !o.leftOut && o.readOnly !== undefined && (!roleHolds(o) || semiSyncDrifted(o) || o.startsFenced === false);
        return diffOf(changedInputs(INPUTS, olds, news), drifted);
    },
    async create(inputs) {
        return { id: `${inputs.serverName}`, outs: await apply(inputs) };
    },
    async read(id, props) {
        const p = props as ServerRoleOutputs;
        if (p.leftOut) return { id, props: p };
        try {
            const state = await withConnection(adminEndpoint(p), 10, `server ${p.serverName}`, async (conn) =>
                readBack(conn, await readServerVersion(conn), p.role));
            return { id, props: { ...p, ...state } };
        } catch (err) {
            if (!isGone(err)) throw err;
            // Down: nothing is known, so the next up re-applies the role.
            return { id, props: { ...p, readOnly: p.role !== "replica", superReadOnly: null } };
        }
    },
    async update(_id, _olds, news) {
        return { outs: await apply(news) };
    },
    async delete() {
        // The role goes with the server; there is nothing to undo.
    },
};

export interface ServerRoleArgs {
    /** A name for messages, e.g. the container name. */
    readonly serverName: pulumi.Input<string>;
    /** The server's container id: a new container (a new image or password, or one recreated after removal) gets its role again. */
    readonly serverInstance?: pulumi.Input<string>;
    /** The server as Pulumi reaches it (its published address and port). */
    readonly adminHost: pulumi.Input<string>;
    readonly adminPort: pulumi.Input<number>;
    /** Defaults to root. */
    readonly adminUser?: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
    readonly role: pulumi.Input<Role>;
    /** Why the server is left out of replication (from Topology); "" (the default) when it is not. */
    readonly leftOut?: pulumi.Input<string>;
    /** Semi-synchronous replication; defaults to off. */
    readonly semiSync?: pulumi.Input<boolean>;
    /** How long the source waits for an acknowledgement before going on asynchronously; defaults to 10000. */
    readonly semiSyncTimeoutMs?: pulumi.Input<number>;
}

/** Applies a server's role at run time: writable source, read-only replicas. */
export class ServerRole extends pulumi.dynamic.Resource {
    declare public readonly readOnly: pulumi.Output<boolean>;
    declare public readonly superReadOnly: pulumi.Output<boolean | null>;
    declare public readonly persisted: pulumi.Output<boolean>;
    declare public readonly semiSyncEnabled: pulumi.Output<boolean | null>;
    constructor(name: string, args: ServerRoleArgs, opts?: pulumi.CustomResourceOptions) {
        super(serverRoleProvider, name, {
            ...withDefaults(INPUTS, args),
            adminPassword: pulumi.secret(args.adminPassword),
            readOnly: undefined,
            superReadOnly: undefined,
            persisted: undefined,
            semiSyncEnabled: undefined,
            startsFenced: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword"] },
        "replication", "ServerRole");
    }
}
