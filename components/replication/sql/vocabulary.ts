/**
 * The words every SQL module shares: a server's flavor, version and role, a statement, and how a name
 * or a number goes into statement text. Nothing here depends on anything else of the lab.
 * Values that come from users (hosts, names, passwords) travel as `?` parameters, never in the text.
 */

/** The server family: it decides server options and SQL dialect. */
export type Flavor = "mysql" | "mariadb";

/** What a server does in the lab. Roles are data, never part of a container. */
export type Role = "source" | "replica";

/** A statement and its parameters, as mysql2's `query(sql, params)` takes them. */
export interface Statement {
    readonly sql: string;
    readonly params?: readonly unknown[];
}

/** A server's family and numeric version, e.g. mysql 8.4.3 or mariadb 10.11.6. */
export interface ServerVersion {
    readonly flavor: Flavor;
    readonly major: number;
    readonly minor: number;
    readonly patch: number;
}

/** Reads `SELECT VERSION()` output such as "8.4.3" or "10.11.6-MariaDB-0+deb12u1-log". */
export function parseServerVersion(version: string): ServerVersion {
    const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
    if (!match) throw new Error(`cannot read the server version from ${JSON.stringify(version)}`);
    return {
        flavor: /mariadb/i.test(version) ? "mariadb" : "mysql",
        major: Number(match[1]),
        minor: Number(match[2]),
        patch: Number(match[3]),
    };
}

/** A version as the lab writes it in outputs and messages, e.g. "mysql 8.4.3". */
export function describeVersion(v: ServerVersion): string {
    return `${v.flavor} ${v.major}.${v.minor}.${v.patch}`;
}

/** True when `v` is at least major.minor.patch. */
export function atLeast(v: Pick<ServerVersion, "major" | "minor" | "patch">, major: number, minor = 0, patch = 0): boolean {
    if (v.major !== major) return v.major > major;
    if (v.minor !== minor) return v.minor > minor;
    return v.patch >= patch;
}

/** Quotes an identifier with backticks. */
export function ident(name: string): string {
    if (name.length === 0 || name.length > 64) throw new Error(`not an identifier: ${JSON.stringify(name)}`);
    return "`" + name.replace(/`/g, "``") + "`";
}

/** A number for statement text, checked to be a whole number from 0. */
export function int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${n}`);
    return n;
}
