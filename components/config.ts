import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { imageTagVersion, inferFlavor } from "./imageName";
import { type Flavor, type Role, SEED_MODES, type SeedMode, SYSTEM_SCHEMAS } from "./replication/sql";

export { imageTagVersion, inferFlavor } from "./imageName";
/** The server family an image belongs to; it decides server options and SQL dialect. */
export type { Flavor } from "./replication/sql";

export type { Role } from "./replication/sql";

/** Highest replica count the lab accepts: ten servers in all fit one laptop and one port range. */
export const MAX_REPLICAS = 9;

/** Defaults for every plain config key. Pulumi.yaml repeats them (a unit test keeps the two equal). */
export const DEFAULTS = {
    replicaCount: 2,
    sourceIndex: 0,
    allowFailover: false,
    image: "mysql:9.7",
    flavor: "auto",
    pullImage: true,
    database: "app",
    bindAddress: "127.0.0.1",
    basePort: 13306,
    connectRetrySeconds: 2,
    semiSync: false,
    semiSyncTimeoutMs: 10000,
    seed: "auto",
    replicationTimeoutSeconds: 300,
    readEndpoint: true,
    readEndpointPort: 13399,
    proxyImage: "haproxy:2.8",
    demoApp: true,
    demoAppPort: 18080,
    demoAppImage: "node:22-alpine",
} as const;

/** One server of the lab, derived from config. */
export interface ServerSpec {
    /** Position in the lab; names and ports follow it. */
    readonly index: number;
    readonly role: Role;
    /** MySQL server_id: unique and nonzero across the lab. */
    readonly serverId: number;
    /** Host port published on `bindAddress`. */
    readonly hostPort: number;
    /** Seconds this server, as a replica, stays behind its source on purpose (0: none). */
    readonly delaySeconds: number;
    /** Whether the read endpoint may send readers to it although it is delayed. */
    readonly serveReads: boolean;
}

/** What `replicas` may say of one server. */
export const REPLICA_OPTIONS = ["delaySeconds", "serveReads"] as const;
/** Longest delay a replica may have: a week (MySQL and MariaDB take up to 2^31-1 s). */
export const MAX_DELAY_SECONDS = 604800;

/** Validated, typed config (passwords excluded: they stay Outputs). */
export interface LabSettings {
    readonly replicaCount: number;
    /** Index of the source server; every other server replicates from it. */
    readonly sourceIndex: number;
    /**
     * Whether moving the source may promote a replica while the current source does not answer,
     * losing what the dead source had not shipped (a forced failover).
     */
    readonly allowFailover: boolean;
    readonly image: string;
    readonly flavor: Flavor;
    /** Version from the image tag (`mysql:8.0.22` gives "8.0.22"); undefined for `latest` and the like. */
    readonly imageVersion?: string;
    readonly pullImage: boolean;
    readonly database: string;
    readonly bindAddress: string;
    readonly basePort: number;
    readonly connectRetrySeconds: number;
    /** Semi-synchronous replication: a commit on the source waits for a replica's acknowledgement. */
    readonly semiSync: boolean;
    /** How long it waits before it goes on asynchronously. */
    readonly semiSyncTimeoutMs: number;
    /** How a new replica gets the source's history: by its binary log, by a copy of its data, or whichever works. */
    readonly seed: SeedMode;
    /** Bound on seeding a replica or re-pointing it, and its catching up. */
    readonly replicationTimeoutSeconds: number;
    readonly readEndpoint: boolean;
    readonly readEndpointPort: number;
    readonly proxyImage: string;
    /** The demo app and its live page (app/), reading through the read endpoint and writing on the source. */
    readonly demoApp: boolean;
    readonly demoAppPort: number;
    /** A Node.js image (20 or later) the app's one bundled file runs on. */
    readonly demoAppImage: string;
    readonly servers: readonly ServerSpec[];
}

/** Raised for bad config: one line per problem, each naming the key, the value and what is allowed. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`invalid stack config:\n  ${problems.join("\n  ")}`);
        this.name = "ConfigError";
    }
}

/** Raw config values as the engine hands them over (strings), keyed without the project prefix. */
export type RawConfig = Record<string, string | undefined>;

const IDENTIFIER = /^[A-Za-z0-9_]{1,64}$/;
// A Docker image reference: [registry[:port]/]path[:tag][@digest], lower-case path.
const IMAGE_REF = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** Reads raw config values one key at a time, noting each bad one (with what is allowed) in `problems`. */
function configReader(raw: RawConfig, project: string) {
    const problems: string[] = [];
    const bad = (key: string, value: string, allowed: string) =>
        problems.push(`${project}:${key}: ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
    const int = (key: string, fallback: number, min: number, max: number): number => {
        const value = raw[key];
        if (value === undefined) return fallback;
        const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
            bad(key, value, `an integer from ${min} to ${max}`);
            return fallback;
        }
        return n;
    };
    const bool = (key: string, fallback: boolean): boolean => {
        const value = raw[key];
        if (value === undefined) return fallback;
        if (value === "true" || value === "false") return value === "true";
        bad(key, value, "true or false");
        return fallback;
    };
    const str = (key: string, fallback: string, ok: (v: string) => boolean, allowed: string): string => {
        const value = raw[key];
        if (value === undefined) return fallback;
        if (!ok(value)) {
            bad(key, value, allowed);
            return fallback;
        }
        return value;
    };
    return { problems, int, bool, str };
}

type Settings = Omit<LabSettings, "flavor" | "imageVersion" | "servers">;

/** Every key read and checked on its own. */
function readKeys(raw: RawConfig, r: ReturnType<typeof configReader>): Settings & { flavorSetting: string } {
    const { int, bool, str } = r;
    const replicaCount = int("replicaCount", DEFAULTS.replicaCount, 0, MAX_REPLICAS);
    const readEndpoint = bool("readEndpoint", DEFAULTS.readEndpoint);
    const image = (key: keyof typeof DEFAULTS, example: string) =>
        str(key, DEFAULTS[key] as string, (v) => IMAGE_REF.test(v), `a Docker image reference such as ${example}`);
    return {
        replicaCount,
        sourceIndex: int("sourceIndex", DEFAULTS.sourceIndex, 0, replicaCount),
        allowFailover: bool("allowFailover", DEFAULTS.allowFailover),
        image: image("image", "mysql:9.7 or mariadb:11.8"),
        flavorSetting: str("flavor", DEFAULTS.flavor, (v) => ["auto", "mysql", "mariadb"].includes(v), "auto, mysql or mariadb"),
        pullImage: bool("pullImage", DEFAULTS.pullImage),
        database: str("database", DEFAULTS.database, (v) => IDENTIFIER.test(v) && !SYSTEM_SCHEMAS.includes(v.toLowerCase()),
            "1 to 64 letters, digits or underscores, not a system schema"),
        bindAddress: str("bindAddress", DEFAULTS.bindAddress, (v) => net.isIP(v) !== 0, "an IPv4 or IPv6 address such as 127.0.0.1"),
        basePort: int("basePort", DEFAULTS.basePort, 1, 65535),
        connectRetrySeconds: int("connectRetrySeconds", DEFAULTS.connectRetrySeconds, 1, 3600),
        semiSync: bool("semiSync", DEFAULTS.semiSync),
        semiSyncTimeoutMs: int("semiSyncTimeoutMs", DEFAULTS.semiSyncTimeoutMs, 1, 3600000),
        seed: str("seed", DEFAULTS.seed, (v) => (SEED_MODES as readonly string[]).includes(v), SEED_MODES.join(", ").replace(/, (\w+)$/, " or $1")) as SeedMode,
        replicationTimeoutSeconds: int("replicationTimeoutSeconds", DEFAULTS.replicationTimeoutSeconds, 10, 86400),
        readEndpoint,
        readEndpointPort: int("readEndpointPort", DEFAULTS.readEndpointPort, 1, 65535),
        proxyImage: image("proxyImage", "haproxy:2.8"),
        // Unset, it follows readEndpoint: the app reads through the endpoint, and a lab without one has no app.
        demoApp: bool("demoApp", DEFAULTS.demoApp && readEndpoint),
        demoAppPort: int("demoAppPort", DEFAULTS.demoAppPort, 1, 65535),
        demoAppImage: image("demoAppImage", "node:22-alpine"),
    };
}

/** What keys allow only together: ports that must not collide, the app without the endpoint, semi-sync without a replica. */
function combinationProblems(v: Settings, project: string): string[] {
    const problems: string[] = [];
    const { basePort, replicaCount, readEndpoint, readEndpointPort, demoApp, demoAppPort } = v;
    const last = basePort + replicaCount;
    if (last > 65535) {
        problems.push(`${project}:basePort: ${basePort} is not allowed with replicaCount ${replicaCount}; ports ${basePort}..${last} must stay within 1..65535`);
    }
    if (readEndpoint && readEndpointPort >= basePort && readEndpointPort <= last) {
        problems.push(`${project}:readEndpointPort: ${readEndpointPort} is not allowed; it collides with the server ports ${basePort}..${last}`);
    }
    if (demoApp && !readEndpoint) {
        problems.push(`${project}:demoApp: true is not allowed with readEndpoint false; the app reads through the read endpoint ` +
            "(set demoApp to false, or readEndpoint to true)");
    }
    if (demoApp && demoAppPort >= basePort && demoAppPort <= last) {
        problems.push(`${project}:demoAppPort: ${demoAppPort} is not allowed; it collides with the server ports ${basePort}..${last}`);
    } else if (demoApp && readEndpoint && demoAppPort === readEndpointPort) {
        problems.push(`${project}:demoAppPort: ${demoAppPort} is not allowed; it is readEndpointPort too`);
    }
    if (v.semiSync && replicaCount === 0) {
        problems.push(`${project}:semiSync: true is not allowed with replicaCount 0; semi-synchronous replication needs a replica to acknowledge`);
    }
    return problems;
}

/** The flavor config names, or the one the image's name tells when it says auto. */
function resolveFlavor(setting: string, image: string, project: string, problems: string[]): Flavor {
    if (setting !== "auto") return setting as Flavor;
    const inferred = inferFlavor(image);
    if (inferred !== undefined) return inferred;
    problems.push(`${project}:flavor: "auto" cannot tell the flavor of image ${JSON.stringify(image)}; set flavor to mysql or mariadb`);
    return "mysql";
}

/**
 * Validates raw config and derives the servers. Pure: no Pulumi calls, so every error is unit-tested.
 * Throws a ConfigError listing every bad key before any resource is declared.
 */
export function parseConfig(raw: RawConfig, project = "mysql-replicas"): LabSettings {
    const r = configReader(raw, project);
    const known = new Set([...Object.keys(DEFAULTS), ...PASSWORD_KEYS, "replicas"]);
    for (const key of Object.keys(raw)) {
        if (!known.has(key)) r.problems.push(`${project}:${key}: unknown key; expected one of ${[...known].sort().join(", ")}`);
    }
    const { flavorSetting, ...v } = readKeys(raw, r);
    const problems = [...r.problems, ...combinationProblems(v, project)];
    const flavor = resolveFlavor(flavorSetting, v.image, project, problems);
    const perServer = replicaOptions(raw.replicas, v.replicaCount, v.sourceIndex, project, problems);
    if (problems.length > 0) throw new ConfigError(problems);

    const servers = Array.from({ length: v.replicaCount + 1 }, (_, index): ServerSpec => ({
        index,
        role: index === v.sourceIndex ? "source" : "replica",
        serverId: index + 1,
        hostPort: v.basePort + index,
        delaySeconds: perServer[index]?.delaySeconds ?? 0,
        serveReads: perServer[index]?.serveReads ?? false,
    }));
    return { ...v, flavor, imageVersion: imageTagVersion(v.image), servers };
}

/**
 * `replicas`: options per server index, as `pulumi config set --path 'replicas["2"].delaySeconds' 3600`
 * writes them (a JSON object). Each problem is added to `problems`, naming the path and what is allowed.
 */
function replicaOptions(text: string | undefined, replicaCount: number, sourceIndex: number, project: string,
    problems: string[]): Record<number, { delaySeconds?: number; serveReads?: boolean }> {
    if (text === undefined) return {};
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch {
        problems.push(`${project}:replicas: ${JSON.stringify(text)} is not allowed; expected an object such as {"2": {"delaySeconds": 3600}}`);
        return {};
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.push(`${project}:replicas: ${JSON.stringify(text)} is not allowed; expected an object such as {"2": {"delaySeconds": 3600}}`);
        return {};
    }
    const out: Record<number, { delaySeconds?: number; serveReads?: boolean }> = {};
    for (const [key, options] of Object.entries(value)) {
        const where = `${project}:replicas["${key}"]`;
        const index = /^\d+$/.test(key) ? Number(key) : NaN;
        if (!Number.isInteger(index) || index > replicaCount) {
            problems.push(`${where}: ${JSON.stringify(key)} is not allowed; expected a server index from 0 to ${replicaCount}`);
            continue;
        }
        if (typeof options !== "object" || options === null || Array.isArray(options)) {
            problems.push(`${where}: ${JSON.stringify(options)} is not allowed; expected an object with ${REPLICA_OPTIONS.join(" and/or ")}`);
            continue;
        }
        const o = options as Record<string, unknown>;
        for (const k of Object.keys(o).filter((k) => !(REPLICA_OPTIONS as readonly string[]).includes(k))) {
            problems.push(`${where}.${k}: unknown key; expected one of ${REPLICA_OPTIONS.join(", ")}`);
        }
        const entry: { delaySeconds?: number; serveReads?: boolean } = {};
        if (o.delaySeconds !== undefined) {
            const d = o.delaySeconds;
            if (!Number.isInteger(d) || (d as number) < 0 || (d as number) > MAX_DELAY_SECONDS) {
                problems.push(`${where}.delaySeconds: ${JSON.stringify(d)} is not allowed; expected an integer from 0 to ${MAX_DELAY_SECONDS}`);
            } else if ((d as number) > 0 && index === sourceIndex) {
                problems.push(`${where}.delaySeconds: ${d} is not allowed; server ${index} is the source (sourceIndex), and a source ` +
                    "cannot be delayed: remove its delay in one up, then move the source");
            } else {
                entry.delaySeconds = d as number;
            }
        }
        if (o.serveReads !== undefined) {
            if (typeof o.serveReads !== "boolean") problems.push(`${where}.serveReads: ${JSON.stringify(o.serveReads)} is not allowed; expected true or false`);
            else entry.serveReads = o.serveReads;
        }
        out[index] = entry;
    }
    return out;
}

/** Secret config keys; each is generated with @pulumi/random when unset. */
export const PASSWORD_KEYS = ["rootPassword", "replicationPassword", "appPassword", "readonlyPassword"] as const;
export type PasswordKey = (typeof PASSWORD_KEYS)[number];

/** Reads and validates the stack's config. The only place that reads config. */
export function loadConfig(): LabSettings & { passwords: Partial<Record<PasswordKey, pulumi.Output<string>>> } {
    const config = new pulumi.Config();
    const raw: RawConfig = {};
    for (const key of Object.keys(DEFAULTS)) raw[key] = config.get(key);
    for (const key of Object.keys(allProjectConfig(config.name))) {
        if (!(key in raw) && !(PASSWORD_KEYS as readonly string[]).includes(key)) raw[key] = config.get(key);
    }
    for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
    const settings = parseConfig(raw, config.name);
    const passwords: Partial<Record<PasswordKey, pulumi.Output<string>>> = {};
    for (const key of PASSWORD_KEYS) {
        const value = config.getSecret(key);
        if (value !== undefined) passwords[key] = value;
    }
    return { ...settings, passwords };
}

/** Every key the stack sets in this project's namespace, so a misspelt key is reported, not ignored. */
function allProjectConfig(project: string): Record<string, string> {
    const all = pulumi.runtime.allConfig();
    const ours: Record<string, string> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(`${project}:`)) ours[key.slice(project.length + 1)] = value;
    }
    return ours;
}
