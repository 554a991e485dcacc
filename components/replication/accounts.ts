/**
 * Database, user and grant as dynamic resources written with mysql2, on every flavor. Each read
 * reports what the server really holds (the database, the user, whether its password still logs in,
 * the privileges granted), so drift shows in a refresh; a server that does not answer is unknown, not
 * gone. Inputs follow @pulumi/mysql's Database, User and Grant, which the lab used before.
 */
import * as pulumi from "@pulumi/pulumi";
import { adminEndpoint, query, withConnection } from "./connection";
import { type InputTable, changedInputs, checkInputs, diffOf, is, withDefaults } from "./inputs";
import { type DatabaseSpec, type GrantSpec, type UserSpec, alterUserPassword, createDatabase, createUser, databaseExists, describeObjectPrivileges, dropDatabase, dropUser, grant, grantedPrivileges, normalisePrivileges, otherGrants, revoke, showGrants, userExists } from "./sql/accounts";
import {
    GONE_AFTER_SECONDS, READ_TIMEOUT_SECONDS, SERVER_INPUTS, type ServerInputs, type SqlServerArgs, TIMEOUT_SECONDS,
    readOrUnknown, secretOpts, serverProps, unlessServerGone,
} from "./sqlResource";

export type { SqlServerArgs } from "./sqlResource";

// ---------------------------------------------------------------- database

export interface DatabaseInputs extends ServerInputs, DatabaseSpec {}

const DATABASE_INPUTS: InputTable<DatabaseInputs> = {
    ...SERVER_INPUTS,
    name: { change: "replace" },
    defaultCharacterSet: { change: "replace", byDefault: "" },
    defaultCollation: { change: "replace", byDefault: "" },
};

export const databaseProvider: pulumi.dynamic.ResourceProvider<DatabaseInputs, DatabaseInputs> = {
    async diff(_id, olds, news) {
        return diffOf(changedInputs(DATABASE_INPUTS, olds, news));
    },
    async create(inputs) {
        await withConnection(adminEndpoint(inputs), TIMEOUT_SECONDS, "server", (conn) => query(conn, createDatabase(inputs)));
        return { id: inputs.name, outs: inputs };
    },
    async read(id, props) {
        const p = props as DatabaseInputs;
        const rows = await readOrUnknown(p, (conn) => query(conn, databaseExists(p)));
        // An empty id tells the engine the database is gone.
        return rows !== undefined && rows.length === 0 ? { id: "", props: p } : { id, props: p };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
    async delete(_id, props) {
        await unlessServerGone(() => withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "server", (conn) => query(conn, dropDatabase(props))));
    },
};

export interface SqlDatabaseArgs extends SqlServerArgs {
    readonly name: pulumi.Input<string>;
    readonly defaultCharacterSet?: pulumi.Input<string>;
    readonly defaultCollation?: pulumi.Input<string>;
}

/** A schema, like mysql.Database. */
export class SqlDatabase extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    constructor(name: string, args: SqlDatabaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(databaseProvider, name, withDefaults(DATABASE_INPUTS, { ...serverProps(args), name: args.name,
            defaultCharacterSet: args.defaultCharacterSet, defaultCollation: args.defaultCollation }),
        secretOpts(opts, ["adminPassword"]), "sql", "Database");
    }
}

// ---------------------------------------------------------------- user

export interface UserInputs extends ServerInputs, UserSpec {
    readonly plaintextPassword: string;
}

const USER_INPUTS: InputTable<UserInputs> = {
    ...SERVER_INPUTS,
    user: { change: "replace", valid: (v) => typeof v === "string" && v.length > 0 && v.length <= 32, allowed: "1 to 32 characters" },
    host: { change: "replace", byDefault: "%" },
    // An empty password is allowed on purpose: a health-check account has one and no privileges.
    plaintextPassword: { change: "apply", valid: is.string, allowed: "a string" },
};

export const userProvider: pulumi.dynamic.ResourceProvider<UserInputs, UserInputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkInputs(USER_INPUTS, news) };
    },
    async diff(_id, olds, news) {
        return diffOf(changedInputs(USER_INPUTS, olds, news));
    },
    async create(inputs) {
        await withConnection(adminEndpoint(inputs), TIMEOUT_SECONDS, "server",
            (conn) => query(conn, createUser(inputs, inputs.plaintextPassword)));
        return { id: `${inputs.user}@${inputs.host}`, outs: inputs };
    },
    async read(id, props) {
        const p = props as UserInputs;
        const rows = await readOrUnknown(p, (conn) => query<{ n: number | string }>(conn, userExists(p)));
        if (rows === undefined) return { id, props: p };
        if (Number(rows[0].n) === 0) return { id: "", props: p };
        // No server shows a password, so it is tried: a login refused means it was changed behind the lab.
        return (await logsIn(p)) ? { id, props: p } : { id, props: { ...p, plaintextPassword: PASSWORD_DRIFTED } };
    },
    async update(_id, olds, news) {
        if (olds.plaintextPassword !== news.plaintextPassword) {
            await withConnection(adminEndpoint(news), TIMEOUT_SECONDS, "server",
                (conn) => query(conn, alterUserPassword(news, news.plaintextPassword)));
        }
        return { outs: news };
    },
    async delete(_id, props) {
        await unlessServerGone(() => withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "server", (conn) => query(conn, dropUser(props))));
    },
};

/** What a refresh records for a password the server no longer accepts: never equal to a declared one. */
export const PASSWORD_DRIFTED = "\u0000changed on the server";

/**
 * Whether the account logs in with its declared password, from where Pulumi runs (so only for an
 * account of any host). Any answer but a refused login (the server gone, a host-bound account) is
 * taken as yes: only a wrong password is drift.
 */
async function logsIn(u: UserInputs): Promise<boolean> {
    if (u.host !== "%") return true;
    const own = { ...adminEndpoint(u), user: u.user, password: u.plaintextPassword };
    try {
        await withConnection(own, READ_TIMEOUT_SECONDS, "server", async () => undefined);
        return true;
    } catch (err) {
        return !/cannot log in/.test((err as Error).message);
    }
}

export interface SqlUserArgs extends SqlServerArgs {
    readonly user: pulumi.Input<string>;
    /** Defaults to "%". */
    readonly host?: pulumi.Input<string>;
    readonly plaintextPassword: pulumi.Input<string>;
}

/** An account, like mysql.User with plaintextPassword. The password is a secret in and out. */
export class SqlUser extends pulumi.dynamic.Resource {
    declare public readonly user: pulumi.Output<string>;
    declare public readonly host: pulumi.Output<string>;
    constructor(name: string, args: SqlUserArgs, opts?: pulumi.CustomResourceOptions) {
        super(userProvider, name, withDefaults(USER_INPUTS, { ...serverProps(args), user: args.user, host: args.host,
            plaintextPassword: pulumi.secret(args.plaintextPassword) }),
        secretOpts(opts, ["adminPassword", "plaintextPassword"]), "sql", "User");
    }
}

// ---------------------------------------------------------------- grant

export interface GrantInputs extends ServerInputs, GrantSpec {
    /**
     * The account's only grant: privileges it holds on any other object were added behind the lab's
     * back, and are taken away. Missing in older state: false.
     */
    readonly onlyGrant?: boolean;
    /** Privileges found on other objects ("DELETE ON *.*"), as read; declared as none. */
    readonly otherPrivileges?: readonly string[];
}

const GRANT_INPUTS: InputTable<GrantInputs> = {
    ...SERVER_INPUTS,
    user: { change: "replace" },
    host: { change: "replace", byDefault: "%" },
    database: { change: "replace" },
    table: { change: "replace", byDefault: "*" },
    privileges: { change: "apply", valid: (v) => Array.isArray(v) && v.length > 0, allowed: "a list of at least one privilege" },
    // Older state has neither of these.
    onlyGrant: { change: "apply", byDefault: false },
    otherPrivileges: { change: "apply", byDefault: [] },
};

export const grantProvider: pulumi.dynamic.ResourceProvider<GrantInputs, GrantInputs> = {
    async check(_olds, news) {
        return { inputs: { ...news, privileges: normalisePrivileges(news.privileges ?? []) }, failures: checkInputs(GRANT_INPUTS, news) };
    },
    async diff(_id, olds, news) {
        return diffOf(changedInputs(GRANT_INPUTS, olds, { ...news, privileges: normalisePrivileges(news.privileges) }));
    },
    async create(inputs) {
        await withConnection(adminEndpoint(inputs), TIMEOUT_SECONDS, "server", (conn) => query(conn, grant(inputs)));
        return { id: `${inputs.user}@${inputs.host}:${inputs.database}.${inputs.table}`, outs: inputs };
    },
    async read(id, props) {
        const p = props as GrantInputs;
        const lines = await readOrUnknown(p, (conn) => showGrantLines(conn, p));
        if (lines === undefined) return { id, props: p };
        if (lines === null) return { id: "", props: p };
        // Report what is really granted; a grant revoked or added behind our back shows as a diff.
        const others = p.onlyGrant ? otherGrants(lines, p).map(describeObjectPrivileges) : [];
        return { id, props: { ...p, privileges: grantedPrivileges(lines, p), otherPrivileges: others } };
    },
    async update(_id, olds, news) {
        const outs = { ...news, privileges: normalisePrivileges(news.privileges), otherPrivileges: [] };
        // Only the server changed (the source moved): the grant is there already, by replication.
        if (changedInputs(GRANT_INPUTS, olds, news).replace.length === 0 &&
            JSON.stringify(normalisePrivileges(olds.privileges)) === JSON.stringify(outs.privileges) &&
            (olds.otherPrivileges ?? []).length === 0) {
            return { outs };
        }
        await withConnection(adminEndpoint(news), TIMEOUT_SECONDS, "server", async (conn) => {
            const lines = (await showGrantLines(conn, news)) ?? [];
            const extra = grantedPrivileges(lines, news).filter((p) => !outs.privileges.includes(p));
            if (extra.length > 0) await query(conn, revoke({ ...news, privileges: extra }));
            await query(conn, grant({ ...news, privileges: outs.privileges }));
            if (news.onlyGrant) {
                for (const o of otherGrants(lines, news)) await query(conn, revoke({ ...news, ...o }));
            }
        });
        return { outs };
    },
    async delete(_id, props) {
        await unlessServerGone(() => withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "server", async (conn) => {
            const have = grantedPrivileges((await showGrantLines(conn, props)) ?? [], props);
            if (have.length > 0) await query(conn, revoke({ ...props, privileges: have }));
        }));
    },
};

/** SHOW GRANTS for the grant's user, a line each; null when the user is gone. */
async function showGrantLines(conn: import("mysql2/promise").Connection, g: GrantInputs): Promise<string[] | null> {
    const [exists] = await query<{ n: number | string }>(conn, userExists(g));
    if (Number(exists.n) === 0) return null;
    const rows = await query<Record<string, string>>(conn, showGrants(g));
    return rows.map((r) => Object.values(r)[0]);
}

export interface SqlGrantArgs extends SqlServerArgs {
    readonly user: pulumi.Input<string>;
    /** Defaults to "%". */
    readonly host?: pulumi.Input<string>;
    /** A schema, or "*" for global privileges. */
    readonly database: pulumi.Input<string>;
    /** Defaults to "*". */
    readonly table?: pulumi.Input<string>;
    readonly privileges: pulumi.Input<pulumi.Input<string>[]>;
    /** The account's only grant: privileges on any other object are drift. Defaults to false. */
    readonly onlyGrant?: pulumi.Input<boolean>;
}

/** Privileges on a schema or globally, like mysql.Grant. Read reports what SHOW GRANTS really says. */
export class SqlGrant extends pulumi.dynamic.Resource {
    declare public readonly privileges: pulumi.Output<string[]>;
    constructor(name: string, args: SqlGrantArgs, opts?: pulumi.CustomResourceOptions) {
        super(grantProvider, name, withDefaults(GRANT_INPUTS, { ...serverProps(args), user: args.user, host: args.host,
            database: args.database, table: args.table, privileges: args.privileges, onlyGrant: args.onlyGrant, otherPrivileges: [] }),
        secretOpts(opts, ["adminPassword"]), "sql", "Grant");
    }
}
