/**
 * Real MariaDB servers for the integration suites, started with dockerode the way the program starts
 * them (same mysqld options and health check from components/serverOptions.ts), on a network the run
 * creates, each with a named volume and a port published on 127.0.0.1. Everything is labelled, so a
 * run cleans up after itself and removes what an earlier, killed run left behind.
 */
import Docker from "dockerode";
import type { Connection } from "mysql2/promise";
import { healthcheck, serverArgs } from "../../components/serverOptions";
import { TEST_IMAGE, imageExists } from "./docker";

/** Host ports the integration suites may publish (other suites use other ranges). */
export const PORT_RANGE = { first: 23300, last: 23399 } as const;

export const LABEL = "mysql-replicas.test";
export const LABEL_VALUE = "integration";
const RUN_LABEL = "mysql-replicas.test.run";
const SUITE_LABEL = "mysql-replicas.test.suite";
const PID_LABEL = "mysql-replicas.test.pid";

/** How long a server may take to become healthy (initialising an empty datadir included). */
const HEALTHY_TIMEOUT_MS = 120_000;

export interface ServerSpec {
    /** Short name, unique in the lab; the container name is derived from it. */
    readonly name: string;
    readonly serverId: number;
    /** Host port on 127.0.0.1, within PORT_RANGE. */
    readonly hostPort: number;
}

export interface TestServer extends ServerSpec {
    /** Container name: also the host name other containers on the network reach it by. */
    readonly containerName: string;
    readonly volumeName: string;
    /** Where the tests reach it. */
    readonly host: "127.0.0.1";
    readonly port: number;
    containerId: string;
}

const docker = new Docker();

function labels(runId: string, suite: string): Record<string, string> {
    return { [LABEL]: LABEL_VALUE, [RUN_LABEL]: runId, [SUITE_LABEL]: suite, [PID_LABEL]: String(process.pid) };
}

function seconds(duration: string): number {
    const match = /^(\d+)s$/.exec(duration);
    if (!match) throw new Error(`unexpected duration ${duration}`);
    return Number(match[1]);
}

function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Removes containers, networks and volumes an earlier run left: those of the same suite, and those of
 * any run whose process is gone. A run of another suite that is still going is left alone.
 */
export async function removeLeftovers(suite: string): Promise<void> {
    const filters = JSON.stringify({ label: [`${LABEL}=${LABEL_VALUE}`] });
    const stale = (l: Record<string, string> | undefined) => {
        if (!l) return false;
        if (l[SUITE_LABEL] === suite) return true;
        const pid = Number(l[PID_LABEL]);
        return !Number.isInteger(pid) || pid === process.pid || !processAlive(pid);
    };
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(containers.filter((c) => stale(c.Labels))
        .map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreMissing)));
    const networks = await docker.listNetworks({ filters });
    await Promise.all(networks.filter((n) => stale(n.Labels)).map((n) => docker.getNetwork(n.Id).remove().catch(ignoreMissing)));
    const { Volumes } = await docker.listVolumes({ filters });
    await Promise.all((Volumes ?? []).filter((v) => stale(v.Labels as Record<string, string>))
        .map((v) => docker.getVolume(v.Name).remove().catch(ignoreMissing)));
}

function ignoreMissing(err: unknown): void {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw err;
}

/** What this run made, by name, for assertions about cleanup. */
export interface LabObjects {
    readonly containers: string[];
    readonly volumes: string[];
    readonly networks: string[];
}

/** Lists the Docker objects carrying a run's label. */
export async function objectsOfRun(runId: string): Promise<LabObjects> {
    const filters = JSON.stringify({ label: [`${RUN_LABEL}=${runId}`] });
    const [containers, networks, volumes] = await Promise.all([
        docker.listContainers({ all: true, filters }),
        docker.listNetworks({ filters }),
        docker.listVolumes({ filters }),
    ]);
    return {
        containers: containers.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id),
        networks: networks.map((n) => n.Name),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    };
}

/**
 * A network and the servers on it. `start` removes leftovers first; `cleanup` removes everything this
 * lab made and is safe to call more than once, also after a failed start.
 */
export class TestLab {
    readonly runId: string;
    readonly networkName: string;
    readonly rootPassword: string;
    private readonly servers = new Map<string, TestServer>();
    private networkCreated = false;

    private constructor(readonly suite: string) {
        this.runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
        this.networkName = `mrit-${suite}-${this.runId}`;
        this.rootPassword = `Root-${this.runId}-pw`;
    }

    /** Removes leftovers, creates the network and starts `specs` in parallel, waiting until all are healthy. */
    static async start(suite: string, specs: readonly ServerSpec[]): Promise<TestLab> {
        if (!/^[a-z0-9-]+$/.test(suite)) throw new Error(`suite name ${suite} must be lower-case letters, digits and dashes`);
        if (!imageExists(TEST_IMAGE)) throw new Error(`image ${TEST_IMAGE} is missing; build it with \`bash scripts/testbed.sh\``);
        await removeLeftovers(suite);
        const lab = new TestLab(suite);
        try {
            await docker.createNetwork({ Name: lab.networkName, Driver: "bridge", CheckDuplicate: true, Labels: lab.labels() });
            lab.networkCreated = true;
            await Promise.all(specs.map((s) => lab.addServer(s)));
            return lab;
        } catch (err) {
            await lab.cleanup().catch(() => undefined);
            throw err;
        }
    }

    /** root, which the image creates for '%' from MARIADB_ROOT_PASSWORD. */
    get root(): Login {
        return { user: "root", password: this.rootPassword };
    }

    /** Runs one statement on a server, as root unless `login` says otherwise. */
    sql<T = Record<string, any>>(name: string, sql: string, params: unknown[] = [], login?: Login): Promise<T[]> {
        return runSql<T>(this.server(name), login ?? this.root, sql, params);
    }

    labels(): Record<string, string> {
        return labels(this.runId, this.suite);
    }

    server(name: string): TestServer {
        const s = this.servers.get(name);
        if (!s) throw new Error(`no server ${name} in this lab`);
        return s;
    }

    /** Creates a volume and a container for `spec`, starts it and waits until Docker reports it healthy. */
    async addServer(spec: ServerSpec): Promise<TestServer> {
        if (spec.hostPort < PORT_RANGE.first || spec.hostPort > PORT_RANGE.last) {
            throw new Error(`host port ${spec.hostPort} is outside ${PORT_RANGE.first}-${PORT_RANGE.last}`);
        }
        if (this.servers.has(spec.name)) throw new Error(`server ${spec.name} exists already`);
        const containerName = `${this.networkName}-${spec.name}`;
        const server: TestServer = {
            ...spec, containerName, volumeName: `${containerName}-data`, host: "127.0.0.1", port: spec.hostPort, containerId: "",
        };
        this.servers.set(spec.name, server);
        await docker.createVolume({ Name: server.volumeName, Labels: this.labels() });
        const hc = healthcheck("mariadb");
        const container = await docker.createContainer({
            name: containerName,
            Hostname: containerName,
            Image: TEST_IMAGE,
            Cmd: serverArgs("mariadb", "10.11", spec.serverId),
            Env: [`MARIADB_ROOT_PASSWORD=${this.rootPassword}`],
            Labels: { ...this.labels(), "mysql-replicas.test.server": spec.name },
            ExposedPorts: { "3306/tcp": {} },
            Healthcheck: {
                Test: hc.tests,
                Interval: seconds(hc.interval) * 1e9,
                Timeout: seconds(hc.timeout) * 1e9,
                StartPeriod: seconds(hc.startPeriod) * 1e9,
                Retries: hc.retries,
            },
            StopTimeout: 30,
            HostConfig: {
                NetworkMode: this.networkName,
                PortBindings: { "3306/tcp": [{ HostIp: "127.0.0.1", HostPort: String(spec.hostPort) }] },
                Mounts: [{ Type: "volume", Source: server.volumeName, Target: "/var/lib/mysql" }],
            },
        });
        server.containerId = container.id;
        await container.start();
        await this.waitHealthy(spec.name);
        return server;
    }

    /** Waits (bounded) until the server's container is healthy; fails early when it exits or turns unhealthy. */
    async waitHealthy(name: string, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
        const s = this.server(name);
        const container = docker.getContainer(s.containerId);
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const info = await container.inspect();
            const health = info.State.Health?.Status;
            if (health === "healthy") return;
            if (!info.State.Running || health === "unhealthy") {
                throw new Error(`server ${name} ${info.State.Running ? "is unhealthy" : `exited (${info.State.ExitCode})`}; ` +
                    `log tail:\n${await this.logs(name)}`);
            }
            if (Date.now() > deadline) {
                throw new Error(`server ${name} was not healthy within ${timeoutMs / 1000} s (health: ${health}); ` +
                    `log tail:\n${await this.logs(name)}`);
            }
            await new Promise((r) => setTimeout(r, 500));
        }
    }

    async logs(name: string, lines = 30): Promise<string> {
        const buf = await docker.getContainer(this.server(name).containerId)
            .logs({ stdout: true, stderr: true, tail: lines }).catch((e) => Buffer.from(String(e)));
        // Strip the 8-byte multiplexing headers.
        return (buf as Buffer).toString("utf8").replace(/[\x00-\x08]/g, "");
    }

    /** Stops a server cleanly (SIGTERM); its published port closes with it. */
    async stop(name: string): Promise<void> {
        await docker.getContainer(this.server(name).containerId).stop({ t: 30 }).catch(ignoreNotModified);
    }

    /** Starts a stopped server again and waits until it is healthy. */
    async restart(name: string): Promise<void> {
        await docker.getContainer(this.server(name).containerId).start().catch(ignoreNotModified);
        await this.waitHealthy(name);
    }

    /** Removes a server's container (its volume stays until cleanup). */
    async removeContainer(name: string): Promise<void> {
        await docker.getContainer(this.server(name).containerId).remove({ force: true }).catch(ignoreMissing);
    }

    /** Removes every container, volume and network of this run. */
    async cleanup(): Promise<void> {
        const filters = JSON.stringify({ label: [`${RUN_LABEL}=${this.runId}`] });
        const errors: unknown[] = [];
        const attempt = (p: Promise<unknown>) => p.catch((e) => {
            try { ignoreMissing(e); } catch (err) { errors.push(err); }
        });
        const containers = await docker.listContainers({ all: true, filters });
        await Promise.all(containers.map((c) => attempt(docker.getContainer(c.Id).remove({ force: true, v: true }))));
        const { Volumes } = await docker.listVolumes({ filters });
        await Promise.all((Volumes ?? []).map((v) => attempt(docker.getVolume(v.Name).remove())));
        if (this.networkCreated || (await docker.listNetworks({ filters })).length > 0) {
            const networks = await docker.listNetworks({ filters });
            await Promise.all(networks.map((n) => attempt(docker.getNetwork(n.Id).remove())));
        }
        if (errors.length > 0) throw new Error(`cleanup of run ${this.runId} failed: ${errors.map(String).join("; ")}`);
    }
}

function ignoreNotModified(err: unknown): void {
    if ((err as { statusCode?: number }).statusCode !== 304) throw err;
}

// ---------------------------------------------------------------- SQL

export interface Login {
    readonly user: string;
    readonly password: string;
    readonly database?: string;
}

/** Opens a connection to a published port as `login`. */
export async function connectTo(server: Pick<TestServer, "host" | "port">, login: Login): Promise<Connection> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    return mysql.createConnection({
        host: server.host, port: server.port, user: login.user, password: login.password, database: login.database,
        connectTimeout: 10_000, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
    });
}

/** Runs one statement as `login` and returns its rows. */
export async function runSql<T = Record<string, any>>(server: Pick<TestServer, "host" | "port">, login: Login,
    sql: string, params: unknown[] = []): Promise<T[]> {
    const conn = await connectTo(server, login);
    try {
        const [rows] = await conn.query(sql, params);
        return (Array.isArray(rows) ? rows : []) as T[];
    } finally {
        await conn.end().catch(() => conn.destroy());
    }
}

/** Polls `probe` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await probe().catch(() => false)) return true;
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}
