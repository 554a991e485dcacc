/** The database, users and grants: statements, and SHOW GRANTS read back. */
import { type Statement, ident } from "./vocabulary";

/** What to create for a database, user or grant; the same inputs @pulumi/mysql takes. */
export interface DatabaseSpec {
    readonly name: string;
    readonly defaultCharacterSet?: string;
    readonly defaultCollation?: string;
}
export interface UserSpec {
    readonly user: string;
    readonly host: string;
}
export interface GrantSpec extends UserSpec {
    /** Schema name, or "*" for global privileges. */
    readonly database: string;
    /** Table name, or "*" for every table. */
    readonly table: string;
    readonly privileges: readonly string[];
}

export function createDatabase(d: DatabaseSpec): Statement {
    let sql = `CREATE DATABASE IF NOT EXISTS ${ident(d.name)}`;
    if (d.defaultCharacterSet) sql += ` CHARACTER SET ${word(d.defaultCharacterSet)}`;
    if (d.defaultCollation) sql += ` COLLATE ${word(d.defaultCollation)}`;
    return { sql };
}
export const dropDatabase = (d: DatabaseSpec): Statement => ({ sql: `DROP DATABASE IF EXISTS ${ident(d.name)}` });
export const databaseExists = (d: DatabaseSpec): Statement => ({
    sql: "SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    params: [d.name],
});

export const createUser = (u: UserSpec, password: string): Statement => ({
    sql: "CREATE USER ?@? IDENTIFIED BY ?",
    params: [u.user, u.host, password],
});
export const alterUserPassword = (u: UserSpec, password: string): Statement => ({
    sql: "ALTER USER ?@? IDENTIFIED BY ?",
    params: [u.user, u.host, password],
});
export const dropUser = (u: UserSpec): Statement => ({ sql: "DROP USER IF EXISTS ?@?", params: [u.user, u.host] });
export const userExists = (u: UserSpec): Statement => ({
    sql: "SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?",
    params: [u.user, u.host],
});

export function grant(g: GrantSpec): Statement {
    return { sql: `GRANT ${privilegeList(g.privileges)} ON ${onClause(g)} TO ?@?`, params: [g.user, g.host] };
}
export function revoke(g: GrantSpec): Statement {
    return { sql: `REVOKE ${privilegeList(g.privileges)} ON ${onClause(g)} FROM ?@?`, params: [g.user, g.host] };
}
export const showGrants = (u: UserSpec): Statement => ({ sql: "SHOW GRANTS FOR ?@?", params: [u.user, u.host] });

/**
 * The privileges SHOW GRANTS lists for `g`'s user on `g`'s object, upper-case and sorted.
 * "ALL PRIVILEGES" stands for ALL; USAGE (no privilege) is left out.
 */
export function grantedPrivileges(showGrantsLines: readonly string[], g: Pick<GrantSpec, "database" | "table">): string[] {
    const target = onClause(g).replace(/`/g, "").toLowerCase();
    const found = new Set<string>();
    for (const line of showGrantsLines) {
        const match = /^GRANT (.+?) ON (\S+) TO /i.exec(line);
        if (!match || match[2].replace(/`/g, "").toLowerCase() !== target) continue;
        for (const p of splitPrivileges(match[1])) if (p !== "USAGE") found.add(p);
    }
    return [...found].sort();
}

/** Privileges on one object (a schema's tables, one table, or *.* for global ones). */
export interface ObjectPrivileges {
    readonly database: string;
    readonly table: string;
    readonly privileges: string[];
}

const GRANT_LINE = /^GRANT (.+?) ON (\*|`(?:[^`]|``)+`)\.(\*|`(?:[^`]|``)+`) TO /i;
const unquote = (name: string) => (name === "*" ? "*" : name.slice(1, -1).replace(/``/g, "`"));

/**
 * What SHOW GRANTS lists for a user on objects other than `g`'s, USAGE left out, one entry per object.
 * For an account whose only grant is `g` (every account of the lab), each of these was added behind
 * the lab's back. Schema, table and global grants are read; routine grants, proxies and roles are not.
 */
export function otherGrants(showGrantsLines: readonly string[], g: Pick<GrantSpec, "database" | "table">): ObjectPrivileges[] {
    const byObject = new Map<string, ObjectPrivileges>();
    for (const line of showGrantsLines) {
        const match = GRANT_LINE.exec(line);
        if (!match) continue;
        const database = unquote(match[2]);
        const table = unquote(match[3]);
        if (database.toLowerCase() === g.database.toLowerCase() && table.toLowerCase() === g.table.toLowerCase()) continue;
        const privileges = splitPrivileges(match[1]).filter((p) => p !== "USAGE");
        if (privileges.length === 0) continue;
        const key = `${database}.${table}`;
        const seen = byObject.get(key);
        byObject.set(key, { database, table, privileges: normalisePrivileges([...(seen?.privileges ?? []), ...privileges]) });
    }
    return [...byObject.values()].sort((a, b) => describeObjectPrivileges(a).localeCompare(describeObjectPrivileges(b)));
}

/** "DELETE, INSERT ON app.*": how the state records a privilege found beyond what is declared. */
export function describeObjectPrivileges(o: ObjectPrivileges): string {
    return `${o.privileges.join(", ")} ON ${o.database}.${o.table}`;
}

/** Normalises a privilege list the way SHOW GRANTS prints it: upper-case, ALL PRIVILEGES, sorted. */
export function normalisePrivileges(privileges: readonly string[]): string[] {
    return [...new Set(privileges.map((p) => {
        const up = p.trim().replace(/\s+/g, " ").toUpperCase();
        return PRIVILEGE_ALIASES[up] ?? up;
    }))].sort();
}

/** Names servers print for privileges granted under another name (MariaDB 10.5 renamed two). */
const PRIVILEGE_ALIASES: Record<string, string> = {
    "ALL": "ALL PRIVILEGES",
    "BINLOG MONITOR": "REPLICATION CLIENT",
    "REPLICATION REPLICA": "REPLICATION SLAVE",
};

function splitPrivileges(list: string): string[] {
    // Column privileges carry parentheses with commas inside; the lab uses none, but do not split them.
    const parts: string[] = [];
    let depth = 0;
    let current = "";
    for (const ch of list) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (ch === "," && depth === 0) {
            parts.push(current);
            current = "";
        } else current += ch;
    }
    parts.push(current);
    return normalisePrivileges(parts);
}

function privilegeList(privileges: readonly string[]): string {
    if (privileges.length === 0) throw new Error("a grant needs at least one privilege");
    for (const p of privileges) {
        if (!/^[A-Za-z][A-Za-z _]*$/.test(p.trim())) throw new Error(`not a privilege name: ${JSON.stringify(p)}`);
    }
    return normalisePrivileges(privileges).join(", ");
}

function onClause(g: Pick<GrantSpec, "database" | "table">): string {
    const db = g.database === "*" ? "*" : ident(g.database);
    const table = g.table === "*" ? "*" : ident(g.table);
    return `${db}.${table}`;
}

function word(value: string): string {
    if (!/^[A-Za-z0-9_]+$/.test(value)) throw new Error(`not a charset or collation name: ${JSON.stringify(value)}`);
    return value;
}

/** Schemas every server has; a replica holding any other schema is not fresh. */
export const SYSTEM_SCHEMAS: readonly string[] = ["information_schema", "mysql", "performance_schema", "sys"];

/** Accounts the images create at initialisation; any other account was made by someone. */
export const IMAGE_ACCOUNTS: readonly string[] = ["root", "mysql.sys", "mysql.session", "mysql.infoschema", "mariadb.sys", "healthcheck"];
