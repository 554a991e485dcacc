/**
 * What the lab's SQL resources (accounts.ts, labTables.ts) share: how they reach their server, how long
 * they wait, and how a read or delete treats a server that is gone. Not a provider itself.
 */
import * as pulumi from "@pulumi/pulumi";
import { AdminInputs, adminEndpoint, isGone, withConnection } from "./connection";
import type { InputTable } from "./inputs";

/** How a resource reaches its server, as seen from where Pulumi runs. */
export type ServerInputs = AdminInputs;

/** Pulumi input form of ServerInputs. */
export interface SqlServerArgs {
    readonly adminHost: pulumi.Input<string>;
    readonly adminPort: pulumi.Input<number>;
    /** Defaults to root. */
    readonly adminUser?: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
}

export const TIMEOUT_SECONDS = 60;
/** How long delete waits for a server before taking it (and what it held) for gone. */
export const GONE_AFTER_SECONDS = 3;
/** How long read waits for a server before reporting it unknown. */
export const READ_TIMEOUT_SECONDS = 10;

/** Moving to another server (the source moved) or another login is recorded: the object is the same. */
export const SERVER_INPUTS: InputTable<ServerInputs> = {
    adminHost: { change: "record" },
    adminPort: { change: "record" },
    adminUser: { change: "record", byDefault: "root" },
    adminPassword: { change: "record" },
};

export function serverProps(args: SqlServerArgs) {
    return {
        adminHost: args.adminHost,
        adminPort: args.adminPort,
        adminUser: args.adminUser ?? "root",
        adminPassword: pulumi.secret(args.adminPassword),
    };
}

/**
 * Runs a read against the server; undefined when the server is gone (its container removed or
 * stopped), so a refresh still completes and keeps what it knew: the next up recreates the server.
 */
export async function readOrUnknown<T>(s: ServerInputs, fn: (conn: import("mysql2/promise").Connection) => Promise<T>): Promise<T | undefined> {
    try {
        return await withConnection(adminEndpoint(s), READ_TIMEOUT_SECONDS, "server", fn);
    } catch (err) {
        if (isGone(err)) return undefined;
        throw err;
    }
}

export async function unlessServerGone(fn: () => Promise<unknown>): Promise<void> {
    try {
        await fn();
    } catch (err) {
        // The server is gone, and what it held with it.
        if (!isGone(err)) throw err;
    }
}

export function secretOpts(opts: pulumi.CustomResourceOptions | undefined, keys: string[]): pulumi.CustomResourceOptions {
    return { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...keys] };
}
