/**
 * @pulumi/mysql 3.x for the mock-runtime engine: the explicit provider (`pulumi:providers:mysql`) and
 * its Database, User and Grant, applied by the SQL that the wrapped hashicorp/terraform-provider-mysql
 * v1.9.0 issues, with its diff and read behaviour. Each function cites the Go function it follows
 * (mysql/provider.go, resource_database.go, resource_user.go, resource_grant.go at v1.9.0). Anything
 * else (roles, IAM or no-login users, TLS, proxies, socket endpoints) fails loudly.
 */
import { createHash } from "node:crypto";
import type { Connection } from "mysql2/promise";
import { Handler, HandlerContext, NotImplemented, onlyKnownKeys } from "./handler";
import { Props, UNKNOWN, changedKeys, deepEqual } from "./values";

export const MYSQL_PROVIDER_TYPE = "pulumi:providers:mysql";

// ------------------------------------------------------------------ provider

const PROVIDER_KEYS = ["endpoint", "username", "password", "tls", "proxy", "maxConnLifetimeSec", "maxOpenConns",
    "authenticationPlugin", "version", "pluginDownloadURL"] as const;

/** provider.go Provider(): endpoint and username required, tls "false", authenticationPlugin "native". */
export const mysqlProviderHandler: Handler = {
    schemaSecrets: ["password"],
    async check(news) {
        onlyKnownKeys(MYSQL_PROVIDER_TYPE, news, PROVIDER_KEYS);
        const p: Props = { tls: "false", authenticationPlugin: "native", ...news };
        for (const key of ["endpoint", "username"]) {
            if (p[key] === undefined || p[key] === "") throw new Error(`${MYSQL_PROVIDER_TYPE}: ${key} is required`);
        }
        if (p.tls !== "false" && p.tls !== UNKNOWN) throw new NotImplemented(`${MYSQL_PROVIDER_TYPE} tls=${String(p.tls)}`);
        if (p.proxy !== undefined) throw new NotImplemented(`${MYSQL_PROVIDER_TYPE} proxy`);
        if (p.authenticationPlugin !== "native") throw new NotImplemented(`${MYSQL_PROVIDER_TYPE} authenticationPlugin=${String(p.authenticationPlugin)}`);
        return p;
    },
    async diff(_id, oldInputs, _oldOutputs, news) {
        // The provider marks no config key as forcing replacement (DiffConfig): a new endpoint or
        // password is an update, and nothing using the provider is replaced for it.
        const keys = changedKeys(oldInputs, news);
        return { changes: keys.length > 0, replaces: [], changedKeys: keys };
    },
    async create(inputs) {
        // providerConfigure makes no connection: nothing exists outside the state.
        return { id: createHash("sha256").update(JSON.stringify(inputs) + Date.now()).digest("hex").slice(0, 36), outputs: inputs };
    },
    async update(_id, _oldInputs, _oldOutputs, news) {
        return news;
    },
    async delete() {
        // Nothing to remove.
    },
    async read(id, _inputs, outputs) {
        return { id, outputs };
    },
};

// ------------------------------------------------------------------ connections

/** Where an explicit provider's config says to connect; the engine hands it over in the context. */
function providerConfig(ctx: HandlerContext): { host: string; port: number; user: string; password: string } {
    const p = ctx.provider;
    if (!p) throw new NotImplemented(`${ctx.urn}: @pulumi/mysql without an explicit provider (its default provider reads MYSQL_* variables)`);
    const endpoint = String(p.endpoint);
    // provider.go providerConfigure: an endpoint starting with "/" is a unix socket, else host:port as the Go driver parses it.
    if (endpoint.startsWith("/")) throw new NotImplemented(`${ctx.urn}: a unix socket endpoint`);
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(endpoint);
    if (!m) throw new Error(`${ctx.urn}: endpoint ${JSON.stringify(endpoint)} is not host:port`);
    return { host: m[1] ?? m[2], port: Number(m[3]), user: String(p.username), password: String(p.password ?? "") };
}

const CONNECT_RETRY_MS = 5 * 60_000;

/**
 * provider.go connectToMySQL: a new connection per operation, every error retried for 5 minutes
 * (resource.Retry), wrong passwords included; the only query is the driver's ping.
 */
async function withServer<T>(ctx: HandlerContext, fn: (c: Connection) => Promise<T>): Promise<T> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const cfg = providerConfig(ctx);
    const deadline = Date.now() + CONNECT_RETRY_MS;
    let wait = 500;
    for (;;) {
        let conn: Connection | undefined;
        try {
            conn = await mysql.createConnection({ ...cfg, connectTimeout: 10_000 });
            await conn.ping();
        } catch (err) {
            await conn?.end().catch(() => conn?.destroy());
            if (Date.now() > deadline) throw new Error(`Could not connect to server: ${(err as Error).message}`);
            ctx.log(`connecting to ${cfg.host}:${cfg.port} failed (${(err as Error).message}); retrying, as the provider does for 5 minutes`);
            await new Promise((r) => setTimeout(r, wait));
            wait = Math.min(wait * 2, 10_000);
            continue;
        }
        try {
            return await fn(conn);
        } finally {
            await conn.end().catch(() => conn!.destroy());
        }
    }
}

async function exec(c: Connection, sql: string): Promise<Record<string, unknown>[]> {
    try {
        const [rows] = await c.query(sql);
        return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    } catch (err) {
        // The provider's own wording (with the statement only where it prints it) and never a password.
        const e = err as { errno?: number; message?: string };
        const error = new Error(e.message ?? String(err)) as Error & { errno?: number };
        error.errno = e.errno;
        throw error;
    }
}

/** provider.go serverVersion: `SELECT @@GLOBAL.innodb_version`, compared as a version (MariaDB 10.10+ lacks it). */
async function innodbVersion(c: Connection): Promise<number[]> {
    const [row] = await exec(c, "SELECT @@GLOBAL.innodb_version AS v");
    return String(row.v).split(/[.-]/).slice(0, 3).map((x) => Number.parseInt(x, 10) || 0);
}

function compare(a: number[], b: number[]): number {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
}

/** The provider puts values into SQL text unescaped ('%s'); refuse what would break that text here. */
function literal(ctx: HandlerContext, key: string, value: unknown): string {
    const s = String(value ?? "");
    if (/['\\]/.test(s)) throw new NotImplemented(`${ctx.urn}: ${key} containing a quote or backslash (the provider would build broken SQL)`);
    return s;
}

/** provider.go quoteIdentifier: backquoted, backquotes doubled. */
const quoteIdentifier = (s: string) => `\`${s.replace(/`/g, "``")}\``;

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

// ------------------------------------------------------------------ Database

const DATABASE_KEYS = ["name", "defaultCharacterSet", "defaultCollation"] as const;

/** resource_database.go databaseConfigSQL: CREATE or ALTER, with the character set and collation clauses. */
function databaseSql(verb: "CREATE" | "ALTER", p: Props): string {
    const charset = p.defaultCharacterSet ? `CHARACTER SET ${quoteIdentifier(String(p.defaultCharacterSet))}` : "";
    const collation = p.defaultCollation ? `COLLATE ${quoteIdentifier(String(p.defaultCollation))}` : "";
    return `${verb} DATABASE ${quoteIdentifier(String(p.name))} ${charset} ${collation}`;
}

/** resource_database.go ReadDatabase: SHOW CREATE DATABASE; error 1049 means gone. */
async function readDatabase(c: Connection, name: string): Promise<Props | undefined> {
    let create: string;
    try {
        const [row] = await exec(c, `SHOW CREATE DATABASE ${quoteIdentifier(name)}`);
        create = String(row["Create Database"]);
    } catch (err) {
        if ((err as { errno?: number }).errno === 1049) return undefined;
        throw new Error(`Error during show create database: ${(err as Error).message}`);
    }
    // extractIdentAfter: the word after the keyword, up to the next space.
    const after = (keyword: string) => {
        const i = create.indexOf(keyword);
        return i < 0 ? "" : create.slice(i + keyword.length).split(" ")[0];
    };
    let collation = after("COLLATE ");
    const charset = after("CHARACTER SET ");
    if (collation === "" && charset !== "") {
        const [row] = await exec(c, `SHOW COLLATION WHERE \`Charset\` = ${c.escape(charset)} AND \`Default\` = 'Yes'`);
        if (!row) throw new Error(`Charset ${charset} has no default collation`);
        collation = String(row.Collation);
    }
    return { name, defaultCharacterSet: charset, defaultCollation: collation };
}

/** mysql:index/database:Database (resource_database.go): name forces a new database; the rest is ALTERed. */
export const mysqlDatabaseHandler: Handler = {
    async check(news, _olds, ctx) {
        onlyKnownKeys(ctx.urn, news, DATABASE_KEYS);
        if (news.name === undefined) throw new NotImplemented(`${ctx.urn}: an auto-named Database (set name)`);
        return { defaultCharacterSet: "utf8", defaultCollation: "utf8_general_ci", ...news };
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        // Terraform diffs configuration against state (the outputs as last read).
        const keys = changedKeys(oldOutputs, news, DATABASE_KEYS);
        return { changes: keys.length > 0, replaces: keys.filter((k) => k === "name"), changedKeys: keys };
    },
    async create(inputs, ctx) {
        return withServer(ctx, async (c) => {
            await exec(c, databaseSql("CREATE", inputs));
            const read = await readDatabase(c, String(inputs.name));
            if (!read) throw new Error(`${ctx.urn}: database ${String(inputs.name)} is missing right after CREATE DATABASE`);
            return { id: String(inputs.name), outputs: read };
        });
    },
    async update(id, _oldInputs, _oldOutputs, news, ctx) {
        return withServer(ctx, async (c) => {
            await exec(c, databaseSql("ALTER", news));
            const read = await readDatabase(c, id);
            if (!read) throw new Error(`${ctx.urn}: database ${id} is missing right after ALTER DATABASE`);
            return read;
        });
    },
    async delete(id, _inputs, _outputs, ctx) {
        await withServer(ctx, (c) => exec(c, `DROP DATABASE ${quoteIdentifier(id)}`));
    },
    async read(id, _inputs, _outputs, ctx) {
        const read = await withServer(ctx, (c) => readDatabase(c, id));
        return read && { id, outputs: read };
    },
};

// ------------------------------------------------------------------ User

const USER_KEYS = ["user", "host", "plaintextPassword", "password", "authPlugin", "tlsOption"] as const;

/**
 * mysql:index/user:User (resource_user.go): user, host, authPlugin and tlsOption force a new user;
 * a password change is ALTERed. plaintextPassword is kept in state as its SHA-256 (StateFunc hashSum).
 */
export const mysqlUserHandler: Handler = {
    schemaSecrets: ["plaintextPassword", "password"],
    async check(news, _olds, ctx) {
        onlyKnownKeys(ctx.urn, news, USER_KEYS);
        if (news.authPlugin !== undefined) throw new NotImplemented(`${ctx.urn}: authPlugin`);
        if (news.password !== undefined) throw new NotImplemented(`${ctx.urn}: the deprecated password input`);
        return { host: "localhost", tlsOption: "NONE", ...news };
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        // State holds the password's hash; configuration is hashed by the StateFunc before comparing.
        const desired = { ...news, plaintextPassword: typeof news.plaintextPassword === "string" && news.plaintextPassword !== UNKNOWN
            ? sha256Hex(news.plaintextPassword) : news.plaintextPassword };
        const keys = changedKeys(oldOutputs, desired, USER_KEYS);
        return { changes: keys.length > 0, replaces: keys.filter((k) => ["user", "host", "authPlugin", "tlsOption"].includes(k)), changedKeys: keys };
    },
    async create(inputs, ctx) {
        // CreateUser: IDENTIFIED BY the password ('' when none), REQUIRE <tls_option> after 5.7.0.
        const user = literal(ctx, "user", inputs.user);
        const host = literal(ctx, "host", inputs.host);
        let sql = `CREATE USER '${user}'@'${host}' IDENTIFIED BY '${literal(ctx, "plaintextPassword", inputs.plaintextPassword)}'`;
        await withServer(ctx, async (c) => {
            if (compare(await innodbVersion(c), [5, 7, 0]) > 0 && inputs.tlsOption) sql += ` REQUIRE ${literal(ctx, "tlsOption", inputs.tlsOption)}`;
            await exec(c, sql);
        });
        return { id: `${user}@${host}`, outputs: userState(inputs) };
    },
    async update(_id, oldInputs, _oldOutputs, news, ctx) {
        // UpdateUser: only a password change does anything; SET PASSWORD before 5.7.6, else ALTER USER.
        if (!deepEqual(oldInputs.plaintextPassword, news.plaintextPassword)) {
            const user = literal(ctx, "user", news.user);
            const host = literal(ctx, "host", news.host);
            const pw = literal(ctx, "plaintextPassword", news.plaintextPassword);
            await withServer(ctx, async (c) => {
                const sql = compare(await innodbVersion(c), [5, 7, 6]) < 0
                    ? `SET PASSWORD FOR '${user}'@'${host}' = PASSWORD('${pw}')`
                    : `ALTER USER '${user}'@'${host}' IDENTIFIED BY '${pw}'`;
                await exec(c, sql);
            });
        }
        return userState(news);
    },
    async delete(_id, inputs, _outputs, ctx) {
        await withServer(ctx, (c) => exec(c, `DROP USER '${literal(ctx, "user", inputs.user)}'@'${literal(ctx, "host", inputs.host)}'`));
    },
    async read(id, inputs, outputs, ctx) {
        // ReadUser: only whether a user of that name exists (any host); nothing else is read back.
        const rows = await withServer(ctx, (c) => exec(c, `SELECT USER FROM mysql.user WHERE USER='${literal(ctx, "user", inputs.user)}'`));
        return rows.length > 0 ? { id, outputs } : undefined;
    },
};

function userState(inputs: Props): Props {
    return { ...inputs, plaintextPassword: inputs.plaintextPassword === undefined ? undefined : sha256Hex(String(inputs.plaintextPassword)) };
}

// ------------------------------------------------------------------ Grant

const GRANT_KEYS = ["user", "host", "role", "database", "table", "privileges", "roles", "grant", "tlsOption"] as const;

/** resource_grant.go formatDatabaseName / formatTableName. */
const formatDatabase = (d: string) => (d === "*" || d.endsWith("`") ? d : `\`${d}\``);
const formatTable = (t: string) => (t === "" || t === "*" ? "*" : `\`${t}\``);

/** mysql:index/grant:Grant (resource_grant.go): no Update, so any change replaces the grant. */
export const mysqlGrantHandler: Handler = {
    async check(news, _olds, ctx) {
        onlyKnownKeys(ctx.urn, news, GRANT_KEYS);
        if (news.role !== undefined || news.roles !== undefined) throw new NotImplemented(`${ctx.urn}: role grants`);
        if (news.database === undefined) throw new Error(`${ctx.urn}: database is required`);
        if (!Array.isArray(news.privileges) || news.privileges.length === 0) throw new Error(`${ctx.urn}: One of privileges or roles is required`);
        return { host: "localhost", table: "*", grant: false, tlsOption: "NONE", ...news };
    },
    async diff(_id, oldInputs, _oldOutputs, news) {
        // privileges is a set: order does not matter.
        const asSet = (p: Props) => ({ ...p, privileges: Array.isArray(p.privileges) ? [...new Set(p.privileges as string[])].sort() : p.privileges });
        const keys = changedKeys(asSet(oldInputs), asSet(news), GRANT_KEYS);
        return { changes: keys.length > 0, replaces: keys, changedKeys: keys };
    },
    async create(inputs, ctx) {
        const target = `'${literal(ctx, "user", inputs.user)}'@'${literal(ctx, "host", inputs.host)}'`;
        const database = formatDatabase(literal(ctx, "database", inputs.database));
        const table = formatTable(literal(ctx, "table", inputs.table));
        const privileges = [...new Set(inputs.privileges as string[])].map((p) => literal(ctx, "privileges", p)).join(", ");
        await withServer(ctx, async (c) => {
            // CreateGrant: REQUIRE and WITH GRANT OPTION only where roles are not supported (innodb_version <= 8.0.0).
            const hasRoles = compare(await innodbVersion(c), [8, 0, 0]) > 0;
            let sql = `GRANT ${privileges} ON ${database}.${table} TO ${target}`;
            if (!hasRoles && inputs.tlsOption) sql += ` REQUIRE ${literal(ctx, "tlsOption", inputs.tlsOption)}`;
            if (!hasRoles && inputs.grant === true) sql += " WITH GRANT OPTION";
            try {
                await exec(c, sql);
            } catch (err) {
                throw new Error(`Error running SQL (${sql}): ${(err as Error).message}`);
            }
        });
        return { id: `${String(inputs.user)}@${String(inputs.host)}:${database}`, outputs: { ...inputs } };
    },
    async update() {
        throw new NotImplemented("an in-place update of mysql Grant (every input replaces)");
    },
    async delete(_id, inputs, _outputs, ctx) {
        // DeleteGrant: REVOKE GRANT OPTION first (whatever `grant` was), then the privileges.
        const target = `'${literal(ctx, "user", inputs.user)}'@'${literal(ctx, "host", inputs.host)}'`;
        const on = `${formatDatabase(String(inputs.database))}.${formatTable(String(inputs.table))}`;
        const privileges = [...new Set(inputs.privileges as string[])].join(", ");
        await withServer(ctx, async (c) => {
            for (const [what, sql] of [["GRANT", `REVOKE GRANT OPTION ON ${on} FROM ${target}`], ["ALL", `REVOKE ${privileges} ON ${on} FROM ${target}`]]) {
                try {
                    await exec(c, sql);
                } catch (err) {
                    throw new Error(`error revoking ${what} (${sql}): ${(err as Error).message}`);
                }
            }
        });
    },
    async read(id, inputs, outputs, ctx) {
        // ReadGrant: SHOW GRANTS FOR succeeding is all it checks; any error drops the grant from state.
        const target = `'${literal(ctx, "user", inputs.user)}'@'${literal(ctx, "host", inputs.host)}'`;
        const ok = await withServer(ctx, (c) => exec(c, `SHOW GRANTS FOR ${target}`).then(() => true, () => false));
        return ok ? { id, outputs } : undefined;
    },
};
