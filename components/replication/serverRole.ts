import * as pulumi from "@pulumi/pulumi";
import { AdminInputs, adminEndpoint, execAll, isGone, query, readServerVersion, withAdminKeys, withConnection } from "./connection";
import * as sql from "./sql";
import type { Role } from "./sql";

/**
 * Every server starts read-only (its container does not know its role); this resource makes the
 * source writable and locks replicas down (super_read_only on MySQL) at run time, so a switchover is
 * a config change that never touches a container. Only the fence survives a restart (MySQL 8+
 * persists read-only for every server, the source included), so a restarted source comes back
 * read-only until the next `pulumi up` confirms it is still the source.
 */
export interface ServerRoleInputs extends AdminInputs {
    readonly serverName: string;
    readonly role: Role;
    /** Why the server is left out of replication (see Topology), or "": a left-out server is not touched. */
    readonly leftOut: string;
}

export interface ServerRoleOutputs extends ServerRoleInputs {
    /** As read from the server. */
    readonly readOnly: boolean;
    /** null where the flavor has no super_read_only (MariaDB). */
    readonly superReadOnly: boolean | null;
    /** Whether read-only survives a restart (SET PERSIST), for every role. */
    readonly persisted: boolean;
}

async function apply(i: ServerRoleInputs): Promise<ServerRoleOutputs> {
    // Topology fenced it if it answered; if not, it starts read-only.
    if (i.leftOut) return { ...i, readOnly: true, superReadOnly: null, persisted: false };
    return withConnection(adminEndpoint(i), 120, `server ${i.serverName}`, async (conn) => {
        const v = await readServerVersion(conn);
        await execAll(conn, sql.roleStatements(v, i.role));
        return { ...i, ...(await readBack(conn, v)) };
    });
}

async function readBack(conn: import("mysql2/promise").Connection, v: sql.ServerVersion) {
    const [row] = await query<{ read_only: unknown; super_read_only: unknown }>(conn, sql.readOnlyQuery(v));
    return {
        readOnly: Number(row.read_only) === 1,
        superReadOnly: row.super_read_only === null ? null : Number(row.super_read_only) === 1,
        persisted: v.flavor === "mysql" && sql.atLeast(v, 8),
    };
}

/** True when what was read matches what the role asks for. */
export function roleHolds(o: Pick<ServerRoleOutputs, "role" | "readOnly" | "superReadOnly">): boolean {
    const locked = o.role === "replica";
    return o.readOnly === locked && (o.superReadOnly === null || o.superReadOnly === locked);
}

export const serverRoleProvider: pulumi.dynamic.ResourceProvider<ServerRoleInputs, ServerRoleOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (news.role !== "source" && news.role !== "replica") {
            failures.push({ property: "role", reason: `role must be source or replica, got ${JSON.stringify(news.role)}` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        // State written before the admin endpoint had one name across the providers says host/port.
        const o = withAdminKeys(olds);
        const replaces = (["adminHost", "adminPort"] as const).filter((k) => o[k] !== news[k]);
        const changed = (["role", "adminUser", "adminPassword", "serverName"] as const).filter((k) => o[k] !== news[k]);
        if ((o.leftOut ?? "") !== (news.leftOut ?? "")) changed.push("serverName");
        const drifted = !o.leftOut && o.readOnly !== undefined && !roleHolds(o);
        return { changes: replaces.length + changed.length > 0 || drifted, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        return { id: `${inputs.serverName}`, outs: await apply(inputs) };
    },
    async read(id, props) {
        const p = props as ServerRoleOutputs;
        if (p.leftOut) return { id, props: p };
        try {
            const state = await withConnection(adminEndpoint(p), 10, `server ${p.serverName}`, async (conn) =>
                readBack(conn, await readServerVersion(conn)));
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
    /** The server as Pulumi reaches it (its published address and port). */
    readonly adminHost: pulumi.Input<string>;
    readonly adminPort: pulumi.Input<number>;
    /** Defaults to root. */
    readonly adminUser?: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
    readonly role: pulumi.Input<Role>;
    /** Why the server is left out of replication (from Topology); "" (the default) when it is not. */
    readonly leftOut?: pulumi.Input<string>;
}

/** Applies a server's role at run time: writable source, read-only replicas. */
export class ServerRole extends pulumi.dynamic.Resource {
    declare public readonly readOnly: pulumi.Output<boolean>;
    declare public readonly superReadOnly: pulumi.Output<boolean | null>;
    declare public readonly persisted: pulumi.Output<boolean>;
    constructor(name: string, args: ServerRoleArgs, opts?: pulumi.CustomResourceOptions) {
        super(serverRoleProvider, name, {
            ...args,
            adminUser: args.adminUser ?? "root",
            adminPassword: pulumi.secret(args.adminPassword),
            leftOut: args.leftOut ?? "",
            readOnly: undefined,
            superReadOnly: undefined,
            persisted: undefined,
        }, { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword"] },
        "replication", "ServerRole");
    }
}
