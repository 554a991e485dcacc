/**
 * The lab's stack outputs, as the tools read them: from a JSON file (`--outputs FILE`, the output of
 * `pulumi stack output --json --show-secrets`) or from the Pulumi CLI when one is on PATH. Every
 * password met on the way is remembered, so that no message the tools print can carry it.
 */
import { hostPort } from "../../components/replication/connection";
import type { Role } from "../../components/replication/sql";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { installedPulumiCli } from "./pulumiCli";

/** A problem with the tools' input (bad option, missing outputs): exit code 2, not a lab problem. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** The outputs the tools use (see index.ts). Connection strings are plaintext here: keep them to yourself. */
export interface LabOutputs {
    /** host:port of the source. */
    readonly sourceEndpoint: string;
    /** host:port of each replica, in server order. */
    readonly replicaEndpoints: readonly string[];
    /** host:port of the read endpoint, when the lab has one. */
    readonly readEndpoint?: string;
    /** Role of each server, in server order (index 0 is the source). */
    readonly roles: readonly Role[];
    /** Container name of each server, in server order. */
    readonly serverNames: readonly string[];
    /** server_id of each server, in server order (index + 1 when the outputs leave it out, as the program assigns). */
    readonly serverIds: readonly number[];
    /** mysql:// URL of root on each server, in server order. */
    readonly adminConnectionStrings: readonly string[];
    /** mysql:// URL of the app user on the source (verify and bench need it). */
    readonly appConnectionString?: string;
    /** mysql:// URL of the read-only user on each replica. */
    readonly readonlyConnectionStrings: readonly string[];
    /** The app database (from the `database` output, else the app URL's path, else an admin URL's); "" if none. */
    readonly database: string;
    readonly flavor?: string;
    /** Servers left out of replication (after a forced failover), by index, with the reason. */
    readonly leftOut: Readonly<Record<string, string>>;
}

/** One mysql:// URL, taken apart. */
export interface MysqlUrl {
    readonly user: string;
    readonly password: string;
    /** Without IPv6 brackets. */
    readonly host: string;
    readonly port: number;
    /** "" when the URL names none. */
    readonly database: string;
}

// ------------------------------------------------------------------ secrets and masking

const secrets = new Set<string>();

/** Remembers a secret so that `redact` removes it from any text. */
export function rememberSecret(secret: string): void {
    if (secret.length > 0) secrets.add(secret);
}

/** Replaces the credentials of every URL (user:password@) in `text` with `user:***@`. */
export function maskUrls(text: string): string {
    // Up to the last "@" of the URL: the lab does not encode passwords, so one may hold "@" or ":".
    return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s"']*):[^\s"']*@/gi, "$1:***@");
}

/**
 * One URL fit to print: scheme://user:***@host:port/db. A string that does not look like a URL with
 * credentials is shown as little as possible, since it may be a password put in the wrong place.
 */
export function maskUrl(url: string): string {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
    if (!scheme) return "***";
    const at = url.lastIndexOf("@");
    if (at < scheme.length) return `${scheme}***`;
    const user = url.slice(scheme.length, at).split(":")[0];
    return `${scheme}${user}:***@${url.slice(at + 1)}`;
}

/** `text` without any remembered secret and without credentials in URLs. */
export function redact(text: string, extra: readonly string[] = []): string {
    let out = maskUrls(text);
    // Longest first, so that a secret containing another one is removed whole.
    for (const s of [...secrets, ...extra].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) {
        out = out.split(s).join("***");
    }
    return out;
}

// ------------------------------------------------------------------ URLs and endpoints

/**
 * Reads mysql://user:password@host:port/db. The password is taken as everything between the first ":"
 * after the user and the last "@" before host:port, so unencoded passwords with "@" or "/" still parse;
 * %XX escapes are decoded as in any URL.
 */
export function parseMysqlUrl(url: string, what = "connection string"): MysqlUrl {
    const m = /^mysql:\/\/([^:/@]*):(.*)@(\[[0-9A-Fa-f:.]+\]|[^@:/\[\]]+):(\d{1,5})(?:\/([^/?#]*))?(?:[?#].*)?$/s.exec(url);
    if (!m) {
        throw new UsageError(`${what} is not a mysql://user:password@host:port/database URL: ${maskUrl(url)}`);
    }
    const port = Number(m[4]);
    if (port < 1 || port > 65535) throw new UsageError(`${what} has port ${port}, outside 1..65535: ${maskUrl(url)}`);
    const password = decode(m[2]);
    rememberSecret(password);
    rememberSecret(m[2]);
    return { user: decode(m[1]), password, host: m[3].replace(/^\[|\]$/g, ""), port, database: decode(m[5] ?? "") };
}

function decode(s: string): string {
    try {
        return decodeURIComponent(s);
    } catch {
        return s;
    }
}

/** Reads host:port or [v6]:port. */
export function parseEndpoint(endpoint: string, what = "endpoint"): { host: string; port: number } {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\[\]\s]+):(\d{1,5})$/.exec(endpoint.trim());
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        throw new UsageError(`${what} ${JSON.stringify(endpoint)} is not host:port`);
    }
    return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** host:port, with brackets around an IPv6 address. */
export function formatEndpoint(e: { host: string; port: number }): string {
    return hostPort(e.host, e.port);
}

// ------------------------------------------------------------------ parsing the outputs

const SECRET_PLACEHOLDER = "[secret]";

/**
 * Checks and types the outputs JSON. Names every missing or malformed output at once. `origin` says
 * where the JSON came from, for messages.
 */
export function parseOutputs(json: unknown, origin: string): LabOutputs {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new UsageError(`${origin}: expected a JSON object of stack outputs`);
    }
    const o = json as Record<string, unknown>;
    const problems: string[] = [];
    // Remember every secret first, so that no message below can show one.
    for (const key of ["adminConnectionStrings", "readonlyConnectionStrings", "appConnectionString"]) {
        for (const v of ([] as unknown[]).concat(o[key] ?? [])) {
            if (typeof v === "string") {
                try {
                    parseMysqlUrl(v, key);
                } catch {
                    // reported below
                }
            }
        }
    }
    if (JSON.stringify(o).includes(`"${SECRET_PLACEHOLDER}"`)) {
        throw new UsageError(`${origin}: secret outputs show as "${SECRET_PLACEHOLDER}"; ` +
            "export them with `pulumi stack output --json --show-secrets`");
    }
    const str = (key: string, optional = false): string | undefined => {
        const v = o[key];
        if (v === undefined || v === null) {
            if (!optional) problems.push(`${key} is missing`);
            return undefined;
        }
        if (typeof v !== "string" || v.length === 0) {
            problems.push(`${key} must be a non-empty string`);
            return undefined;
        }
        return v;
    };
    const list = <T>(key: string, ok: (v: unknown) => v is T, what: string, optional = false): T[] | undefined => {
        const v = o[key];
        if (v === undefined || v === null) {
            if (!optional) problems.push(`${key} is missing`);
            return undefined;
        }
        if (!Array.isArray(v) || !v.every(ok)) {
            problems.push(`${key} must be a list of ${what}`);
            return undefined;
        }
        return v;
    };
    const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
    const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
    const isRole = (v: unknown): v is Role => v === "source" || v === "replica";

    // Only roles and adminConnectionStrings are required (enough for status): a hand-written file may
    // give just those. verify and bench ask for what else they need (requireApp, benchTargets).
    const roles = list("roles", isRole, '"source" or "replica"') ?? [];
    const adminConnectionStrings = list("adminConnectionStrings", isString, "mysql:// URLs") ?? [];
    const sourceEndpoint = str("sourceEndpoint", true);
    const replicaEndpoints = list("replicaEndpoints", isString, "host:port strings", true);
    const readEndpoint = str("readEndpoint", true);
    const serverNames = list("serverNames", isString, "names", true);
    const serverIds = list("serverIds", isId, "positive integers", true);
    const appConnectionString = str("appConnectionString", true);
    const readonlyConnectionStrings = list("readonlyConnectionStrings", isString, "mysql:// URLs", true) ?? [];
    const flavor = str("flavor", true);
    let leftOut: Record<string, string> = {};
    if (o.leftOut !== undefined && o.leftOut !== null) {
        const l = o.leftOut;
        if (typeof l !== "object" || Array.isArray(l) || !Object.entries(l).every(([k, v]) => /^\d+$/.test(k) && typeof v === "string")) {
            problems.push("leftOut must map server indexes to reasons");
        } else {
            leftOut = l as Record<string, string>;
        }
    }

    const check = <T>(what: string, f: () => T): T | undefined => {
        try {
            return f();
        } catch (err) {
            problems.push(`${what}: ${(err as Error).message}`);
            return undefined;
        }
    };
    if (sourceEndpoint) check("sourceEndpoint", () => parseEndpoint(sourceEndpoint, "sourceEndpoint"));
    replicaEndpoints?.forEach((e, i) => check(`replicaEndpoints[${i}]`, () => parseEndpoint(e, "endpoint")));
    if (readEndpoint) check("readEndpoint", () => parseEndpoint(readEndpoint, "readEndpoint"));
    const admins = adminConnectionStrings.map((u, i) => check(`adminConnectionStrings[${i}]`, () => parseMysqlUrl(u, "the URL")));
    readonlyConnectionStrings.forEach((u, i) => check(`readonlyConnectionStrings[${i}]`, () => parseMysqlUrl(u, "the URL")));
    const app = appConnectionString ? check("appConnectionString", () => parseMysqlUrl(appConnectionString, "the URL")) : undefined;
    const database = (typeof o.database === "string" && o.database) || app?.database || admins.find((a) => a?.database)?.database || "";

    const n = roles.length;
    for (const [key, value] of [["serverNames", serverNames], ["serverIds", serverIds], ["adminConnectionStrings", adminConnectionStrings]] as const) {
        if (value && n > 0 && value.length !== n) {
            problems.push(`${key} has ${value.length} entries but roles has ${n}: one per server is expected`);
        }
    }
    if (n > 0 && roles.filter((r) => r === "source").length !== 1) problems.push("roles must name exactly one source");
    const replicaCount = roles.filter((r) => r === "replica").length;
    if (n > 0 && replicaEndpoints && replicaEndpoints.length !== replicaCount) {
        problems.push(`replicaEndpoints has ${replicaEndpoints.length} entries but roles names ${replicaCount} replicas`);
    }

    if (problems.length > 0) {
        throw new UsageError(`${origin}: the stack outputs are not usable:\n  ${problems.map((p) => redact(p)).join("\n  ")}`);
    }
    // What the file leaves out is derived as the program would have it.
    const endpointOf = (i: number) => formatEndpoint(admins[i]!);
    return {
        sourceEndpoint: sourceEndpoint ?? endpointOf(roles.indexOf("source")),
        replicaEndpoints: replicaEndpoints ?? roles.flatMap((r, i) => (r === "replica" ? [endpointOf(i)] : [])),
        readEndpoint,
        roles,
        serverNames: serverNames ?? roles.map((_, i) => `server-${i}`),
        serverIds: serverIds ?? roles.map((_, i) => i + 1),
        adminConnectionStrings,
        appConnectionString,
        readonlyConnectionStrings,
        database,
        flavor,
        leftOut,
    };
}

/** The app user's URL, which verify and bench need; a clear error when the outputs have none. */
export function requireApp(o: LabOutputs, tool: string): MysqlUrl {
    if (!o.appConnectionString) throw new UsageError(`${tool} needs appConnectionString in the outputs (it writes as the app user)`);
    const app = parseMysqlUrl(o.appConnectionString, "appConnectionString");
    if (!o.database) throw new UsageError(`${tool} needs the app database: set database in the outputs or a path in appConnectionString`);
    return app;
}

// ------------------------------------------------------------------ finding the outputs

export interface OutputSource {
    /** `--outputs FILE`: a JSON file from `pulumi stack output --json --show-secrets`. */
    readonly outputsFile?: string;
    /** `--stack NAME` for the Pulumi CLI. */
    readonly stack?: string;
}

/** The directory of Pulumi.yaml: the CLI runs there. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The outputs from `--outputs FILE`, else from the Pulumi CLI, else an error explaining both. */
export function loadOutputs(src: OutputSource, pulumiCli = installedPulumiCli()): LabOutputs {
    if (src.outputsFile) {
        let text: string;
        try {
            text = fs.readFileSync(src.outputsFile, "utf8");
        } catch (err) {
            throw new UsageError(`cannot read --outputs ${src.outputsFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
        let json: unknown;
        try {
            json = JSON.parse(text);
        } catch (err) {
            throw new UsageError(`--outputs ${src.outputsFile} is not JSON: ${redact((err as Error).message)}`);
        }
        return parseOutputs(json, src.outputsFile);
    }
    if (!pulumiCli) {
        throw new UsageError("no stack outputs: pass --outputs FILE (the JSON of " +
            "`pulumi stack output --json --show-secrets [--stack NAME]`), or install the Pulumi CLI so the tool " +
            "can run that itself (https://www.pulumi.com/docs/iac/download-install/)");
    }
    const args = ["stack", "output", "--json", "--show-secrets", ...(src.stack ? ["--stack", src.stack] : [])];
    let stdout: string;
    try {
        stdout = execFileSync(pulumiCli, args, { cwd: PROJECT_DIR, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
    } catch (err) {
        const e = err as { stderr?: string; message?: string };
        const detail = (e.stderr || e.message || String(err)).trim().split("\n").slice(-3).join(" ");
        throw new UsageError(`\`pulumi ${args.join(" ")}\` failed: ${redact(detail)}. ` +
            "Select the stack with --stack NAME (and log in to its backend, e.g. PULUMI_BACKEND_URL), " +
            "or pass --outputs FILE");
    }
    let json: unknown;
    try {
        json = JSON.parse(stdout);
    } catch {
        throw new UsageError(`\`pulumi ${args.join(" ")}\` did not print JSON`);
    }
    return parseOutputs(json, `stack ${src.stack ?? "(selected)"}`);
}

/** One server of the lab, with its admin URL taken apart. */
export interface LabServer {
    readonly index: number;
    readonly name: string;
    readonly role: Role;
    /** Why it is left out of replication, or "". */
    readonly leftOut: string;
    readonly serverId: number;
    readonly admin: MysqlUrl;
}

/** The servers, in server order. */
export function labServers(o: LabOutputs): LabServer[] {
    return o.roles.map((role, index) => ({
        index,
        role,
        leftOut: o.leftOut?.[String(index)] ?? "",
        name: o.serverNames[index],
        serverId: o.serverIds[index],
        admin: parseMysqlUrl(o.adminConnectionStrings[index], `adminConnectionStrings[${index}]`),
    }));
}
