/**
 * What the integration suites share: the lab each file starts before its tests and removes after them,
 * inputs for the lab's dynamic providers as the engine hands them over (plain values, the classes'
 * defaults applied), and checks: SHOW GRANTS parsing and a scan of every provider result for passwords.
 */
import type { Role } from "../../components/replication/sql";
import type { ReplicationInputs } from "../../components/replication/replication";
import type { ServerRoleInputs } from "../../components/replication/serverRole";
import { providerDrivers, type CallRecord, type ClassRegistration, type ProviderKind } from "../support/mocks/providers";
import { TestLab, objectsOfRun, type TestServerSpec, type TestServer } from "../support/labs/testLab";

export type Drivers = Awaited<ReturnType<typeof providerDrivers>>;

/** What a file's tests work on. */
export interface LabFixture {
    readonly lab: TestLab;
    readonly drivers: Drivers;
}

/**
 * The hooks every integration file starts and ends with. Before its tests: the provider drivers load
 * while `specs` start as suite `suite`, then `ready` takes them (and may set the servers up). After
 * them: the lab is removed, and nothing of its run may be left in Docker.
 */
export function useLab(suite: string, specs: readonly TestServerSpec[], ready: (fixture: LabFixture) => void | Promise<void>): void {
    let lab: TestLab | undefined;
    beforeAll(async () => {
        const [drivers, started] = await Promise.all([providerDrivers(), TestLab.start(suite, specs).then((l) => (lab = l))]);
        await ready({ lab: started, drivers });
    }, 180_000);

    afterAll(async () => {
        if (!lab) return;
        const runId = lab.runId;
        await lab.cleanup();
        expect(await objectsOfRun(runId)).toEqual({ containers: [], networks: [], volumes: [] });
    }, 60_000);
}

/** The admin endpoint every provider of the lab takes (AdminInputs, with the classes' default adminUser root). */
export function serverOf(lab: TestLab, server: TestServer) {
    return { adminHost: server.host, adminPort: server.port, adminUser: "root", adminPassword: lab.rootPassword };
}

export function databaseInputs(lab: TestLab, server: TestServer, name: string) {
    // SqlDatabase passes "" for an unset character set and collation.
    return { ...serverOf(lab, server), name, defaultCharacterSet: "", defaultCollation: "" };
}

export function userInputs(lab: TestLab, server: TestServer, user: string, plaintextPassword: string, host = "%") {
    return { ...serverOf(lab, server), user, host, plaintextPassword };
}

export function grantInputs(lab: TestLab, server: TestServer, user: string, database: string, privileges: string[],
    host = "%", table = "*") {
    return { ...serverOf(lab, server), user, host, database, table, privileges };
}

/** Replication inputs with the Replication class's defaults, replica and source from the test lab. */
export function replicationInputs(lab: TestLab, replica: TestServer, source: TestServer, user: string, password: string,
    overrides: Partial<ReplicationInputs> = {}): ReplicationInputs {
    return {
        ...serverOf(lab, replica),
        replicaName: replica.containerName,
        replicaInstance: replica.containerId,
        sourceHost: source.containerName,
        sourcePort: 3306,
        sourceProbeHost: source.host,
        sourceProbePort: source.port,
        user,
        password,
        connectRetry: 1,
        retryCount: 86400,
        timeoutSeconds: 60,
        leftOut: "",
        ...overrides,
    };
}

/** A source as the lab sets it up: writable (its role), with the replication account and its grants. */
export async function setUpSource(drivers: Drivers, lab: TestLab, source: TestServer, user: string, password: string): Promise<void> {
    await drivers.serverRole.create(roleInputs(lab, source, "source"));
    await drivers.user.create(userInputs(lab, source, user, password));
    await drivers.grant.create(grantInputs(lab, source, user, "*", ["REPLICATION SLAVE", "REPLICATION CLIENT"]));
}

export function roleInputs(lab: TestLab, server: TestServer, role: Role): ServerRoleInputs {
    return { ...serverOf(lab, server), serverName: server.containerName, serverInstance: "", role, leftOut: "" };
}

/** Names MariaDB prints for privileges granted under another name. */
const ALIASES: Record<string, string> = {
    "BINLOG MONITOR": "REPLICATION CLIENT",
    "REPLICATION REPLICA": "REPLICATION SLAVE",
    "ALL": "ALL PRIVILEGES",
};

/**
 * SHOW GRANTS for a user as object -> sorted privileges, e.g. { "*.*": ["USAGE"], "app.*": ["SELECT"] }.
 * Written independently of sql.ts so that a parser bug there cannot hide itself.
 */
export async function grantsOf(lab: TestLab, server: string, user: string, host = "%"): Promise<Record<string, string[]>> {
    const rows = await lab.sql(server, "SHOW GRANTS FOR ?@?", [user, host]);
    const out: Record<string, string[]> = {};
    for (const row of rows) {
        const line = String(Object.values(row)[0]);
        const m = /^GRANT (.+?) ON (\S+) TO /.exec(line);
        if (!m) throw new Error(`unexpected SHOW GRANTS line: ${line}`);
        const object = m[2].replace(/`/g, "");
        const privileges = m[1].split(",").map((p) => p.trim().toUpperCase()).map((p) => ALIASES[p] ?? p);
        out[object] = [...new Set([...(out[object] ?? []), ...privileges])].sort();
    }
    return out;
}

/** The user's accounts rows: whether it exists. */
export async function userExists(lab: TestLab, server: string, user: string, host = "%"): Promise<boolean> {
    const [row] = await lab.sql(server, "SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?", [user, host]);
    return Number(row.n) === 1;
}

/** SHOW REPLICA STATUS as one raw row, or undefined when the server has no replication configured. */
export async function replicaStatusRow(lab: TestLab, server: string): Promise<Record<string, any> | undefined> {
    const rows = await lab.sql(server, (await lab.dialect(server)).showStatus.sql);
    return rows[0];
}

/** True when a server is not replicating and has no source configured. */
export async function unconfigured(lab: TestLab, server: string): Promise<boolean> {
    const s = await lab.replicaStatus(server);
    return !s.configured && s.ioRunning === "No" && s.sqlRunning === "No";
}

/** Rejects with the error a promise rejected with, and how long it took; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<{ error: Error; elapsedMs: number }> {
    const started = Date.now();
    try {
        await p;
    } catch (err) {
        return { error: err as Error, elapsedMs: Date.now() - started };
    }
    throw new Error("expected the call to fail, but it succeeded");
}

/** A place a secret was found where it must not be. */
export interface Leak {
    readonly kind: string;
    readonly method: string;
    readonly where: string;
}

/**
 * Every place in the recorded calls where one of `secrets` shows up outside the fields the resource
 * class keeps secret: inputs returned by check may hold it only in secret inputs, state (create, read,
 * update) only in additionalSecretOutputs; ids, diffs, check failures and errors never.
 */
export function findLeaks(calls: readonly CallRecord[], secrets: readonly string[],
    registrations: Record<ProviderKind, ClassRegistration>): Leak[] {
    const leaks: Leak[] = [];
    const contains = (v: unknown) => {
        const text = typeof v === "string" ? v : JSON.stringify(v) ?? "";
        return secrets.some((s) => s.length > 0 && text.includes(s));
    };
    for (const c of calls) {
        const reg = registrations[c.kind as ProviderKind];
        const at = (where: string) => leaks.push({ kind: c.kind, method: c.method, where });
        if (c.error !== undefined) {
            if (contains(c.error)) at("error message");
            continue;
        }
        const r = c.result as Record<string, any> | undefined;
        if (r === undefined) continue;
        if (c.method === "check") {
            for (const [k, v] of Object.entries(r.inputs ?? {})) if (contains(v) && !reg.secretInputs.includes(k)) at(`inputs.${k}`);
            if (contains(r.failures)) at("failures");
        } else if (c.method === "diff") {
            if (contains(r)) at("diff result");
        } else {
            if (contains(r.id)) at("id");
            for (const [k, v] of Object.entries(r.outs ?? {})) {
                if (contains(v) && !reg.additionalSecretOutputs.includes(k)) at(`outs.${k}`);
            }
        }
    }
    return leaks;
}
