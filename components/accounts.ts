import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SqlDatabase, SqlGrant, SqlUser } from "./replication/accounts";

/** The lab's accounts, by purpose. */
export type AccountKey = "replication" | "app" | "readonly";

export interface AccountPlan {
    readonly key: AccountKey;
    readonly user: string;
    readonly host: string;
    /** "*" for global privileges. */
    readonly database: string;
    readonly privileges: readonly string[];
}

/**
 * What the lab grants, whichever provider declares it: the replication user gets replication
 * privileges only, the app user everything on the app database, the read-only user SELECT there.
 */
export function accountPlan(database: string): AccountPlan[] {
    return [
        { key: "replication", user: "repl", host: "%", database: "*", privileges: ["REPLICATION CLIENT", "REPLICATION SLAVE"] },
        { key: "app", user: "app", host: "%", database, privileges: ["ALL PRIVILEGES"] },
        { key: "readonly", user: "reader", host: "%", database, privileges: ["SELECT"] },
    ];
}

export interface LabAccountsArgs {
    /** The source server, as Pulumi reaches it. */
    readonly host: string;
    readonly port: number;
    readonly rootPassword: pulumi.Input<string>;
    readonly database: string;
    readonly passwords: Record<AccountKey, pulumi.Input<string>>;
    /** The source's container: when it goes, every account goes with it. */
    readonly serverContainer: docker.Container;
    /** What must be done before the accounts are declared or moved (the lab's topology). */
    readonly after?: pulumi.Resource[];
    /** A passwordless account without privileges for a load balancer's health checks, if any. */
    readonly checkUser?: string;
}

/**
 * The app database and the three accounts, declared on the source (replicas get them by replication),
 * as the lab's own SQL resources on every flavor: each reads back what the server really holds, so
 * drift shows in a refresh and the next up repairs it (docs/design.md, "Why the lab manages accounts itself").
 */
export class LabAccounts extends pulumi.ComponentResource {
    public readonly database: pulumi.Resource;
    /** The grant each account depends on, by key. */
    public readonly grants: Record<AccountKey, pulumi.Resource>;
    public readonly users: Record<AccountKey, { user: string; host: string }>;
    /** The health-check account, when one was asked for. */
    public readonly checkUser?: pulumi.Resource;

    constructor(name: string, args: LabAccountsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mysqllab:index:LabAccounts", name, {}, opts);
        const plan = accountPlan(args.database);
        // Gone with the server: a destroy must not wait on a server that no longer answers.
        const childOpts = { parent: this, deletedWith: args.serverContainer, dependsOn: [args.serverContainer, ...(args.after ?? [])] };
        const grants = {} as Record<AccountKey, pulumi.Resource>;

        const server = { adminHost: args.host, adminPort: args.port, adminPassword: args.rootPassword };
        // No character set: the server's own default, which never reads back as drift.
        this.database = new SqlDatabase(`${name}-db`, { ...server, name: args.database }, childOpts);
        for (const a of plan) {
            const user = new SqlUser(`${name}-${a.key}`, {
                ...server, user: a.user, host: a.host, plaintextPassword: args.passwords[a.key],
            }, childOpts);
            grants[a.key] = new SqlGrant(`${name}-${a.key}-grant`, {
                ...server, user: user.user, host: user.host, database: a.database, table: "*", privileges: [...a.privileges],
                // The account's one grant: a privilege added on any other object is drift too.
                onlyGrant: true,
            }, { ...childOpts, dependsOn: [...childOpts.dependsOn, user, this.database] });
        }
        if (args.checkUser) {
            // No password and no grant: it can log in and nothing else.
            this.checkUser = new SqlUser(`${name}-check`, { ...server, user: args.checkUser, host: "%", plaintextPassword: "" }, childOpts);
        }
        this.grants = grants;
        this.users = Object.fromEntries(plan.map((a) => [a.key, { user: a.user, host: a.host }])) as LabAccounts["users"];
        this.registerOutputs({ database: this.database, grants: this.grants, users: this.users, checkUser: this.checkUser });
    }
}
