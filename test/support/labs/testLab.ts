/**
 * Real MySQL or MariaDB servers (the test image's) for the integration suites, started with dockerode
 * the way the program starts them (../docker.ts: same mysqld options, environment and
 * health check as components/serverOptions.ts), on a network the run creates, each with a named volume and a port
 * published on 127.0.0.1. Everything is labelled mysql-replicas.test=integration, so a run cleans up
 * after itself and removes what an earlier, killed run left behind.
 */
import * as sql from "../../../components/replication/sql";
import {
    LabRun, type RunKind, createDataTemplate, createNetwork, createServerContainer, containerLogs, dataVolume, docker, ignoreMissing, ignoreNotModified,
    startHealthy, waitHealthy,
} from "../docker";
import { imageExists } from "../docker";
import { TEST_IMAGE } from "../images";
import { rows, withConn } from "../mysql";
import { readServerVersion } from "../../../components/replication/connection";

export { LABEL, objectsOfRun } from "../docker";
export type { LabObjects } from "../docker";

/** Host ports the integration suites may publish (other suites use other ranges). */
export const PORT_RANGE = { first: 23300, last: 23399 } as const;

export const LABEL_VALUE = "integration";
/** Jest runs the suites one after another in a process, each removing its lab before the next starts. */
export const KIND: RunKind = { value: LABEL_VALUE, ownProcessIsStale: true };

/** How long a server may take to become healthy (initialising an empty datadir included). */
const HEALTHY_TIMEOUT_MS = 120_000;

export interface TestServerSpec {
    /** Short name, unique in the lab; the container name is derived from it. */
    readonly name: string;
    readonly serverId: number;
    /** Host port on 127.0.0.1, within PORT_RANGE. */
    readonly hostPort: number;
    /** Restarted by Docker when mysqld exits, as the lab's servers are. */
    readonly restartUnlessStopped?: boolean;
}

export interface TestServer extends TestServerSpec {
    /** Container name: also the host name other containers on the network reach it by. */
    readonly containerName: string;
    readonly volumeName: string;
    /** Where the tests reach it. */
    readonly host: "127.0.0.1";
    readonly port: number;
    containerId: string;
}

/**
 * A network and the servers on it. `start` removes leftovers first; `cleanup` removes everything this
 * lab made and is safe to call more than once, also after a failed start.
 */
export class TestLab extends LabRun {
    readonly networkName: string;
    readonly rootPassword: string;
    /** The run's data template: every server starts on a copy, as the lab's do. */
    private templateVolume?: string;
    private readonly servers = new Map<string, TestServer>();

    private constructor(suite: string) {
        super(KIND, suite);
        this.networkName = `mrit-${suite}-${this.runId}`;
        this.rootPassword = `Root-${this.runId}-pw`;
    }

    /** Removes leftovers, creates the network and starts `specs` in parallel, waiting until all are healthy. */
    static async start(suite: string, specs: readonly TestServerSpec[]): Promise<TestLab> {
        const lab = new TestLab(suite);
        if (!imageExists(TEST_IMAGE)) throw new Error(`image ${TEST_IMAGE} is missing; build it with \`bash scripts/testbed.sh\``);
        return LabRun.launch(lab, async () => {
            await createNetwork(lab.networkName, lab.labels());
            lab.templateVolume = await createDataTemplate({
                volumeName: `${lab.networkName}-template`, image: TEST_IMAGE, rootPassword: lab.rootPassword, labels: lab.labels(),
            });
            await Promise.all(specs.map((s) => lab.addServer(s)));
        });
    }

    /**
     * The server's flavor and version, read with SELECT VERSION() (every server of a lab runs the same
     * image): tests take GTID formats, status columns and statements from it, not from the image name.
     */
    async version(name: string): Promise<sql.ServerVersion> {
        const { host, port } = this.server(name);
        return withConn({ host, port, ...this.root }, readServerVersion);
    }

    /** The program's replication statements for that server (sql.ts). */
    async dialect(name: string): Promise<sql.ReplicationDialect> {
        return sql.replicationDialect(await this.version(name));
    }

    /** What the server has executed, in its flavor's GTID format ("" when nothing). */
    async executedGtids(name: string): Promise<string> {
        const [{ gtids }] = await this.sql<{ gtids: string }>(name, (await this.dialect(name)).executedGtids.sql);
        return String(gtids ?? "");
    }

    /** Waits up to `seconds` until the server has applied `gtids` (another server's executedGtids); true when it did. */
    async waitForGtids(name: string, gtids: string, seconds: number): Promise<boolean> {
        const st = (await this.dialect(name)).waitForGtids(gtids, seconds);
        const [{ reached }] = await this.sql<{ reached: number | string }>(name, st.sql, [...(st.params ?? [])]);
        return Number(reached) === 1;
    }

    /** SHOW REPLICA STATUS in the program's flavor-neutral shape (sql.normaliseStatus). */
    async replicaStatus(name: string): Promise<sql.ReplicaStatus> {
        const rows = await this.sql(name, (await this.dialect(name)).showStatus.sql);
        return sql.normaliseStatus(rows[0]);
    }

    /** root, which the image creates for '%' from its root password variable. */
    get root(): Login {
        return { user: "root", password: this.rootPassword };
    }

    /** Runs one statement on a server, as root unless `login` says otherwise. */
    sql<T = Record<string, any>>(name: string, sql: string, params: unknown[] = [], login?: Login): Promise<T[]> {
        return runSql<T>(this.server(name), login ?? this.root, sql, params);
    }

    server(name: string): TestServer {
        const s = this.servers.get(name);
        if (!s) throw new Error(`no server ${name} in this lab`);
        return s;
    }

    /** Creates a volume and a container for `spec`, starts it and waits until Docker reports it healthy. */
    async addServer(spec: TestServerSpec): Promise<TestServer> {
        if (spec.hostPort < PORT_RANGE.first || spec.hostPort > PORT_RANGE.last) {
            throw new Error(`host port ${spec.hostPort} is outside ${PORT_RANGE.first}-${PORT_RANGE.last}`);
        }
        if (this.servers.has(spec.name)) throw new Error(`server ${spec.name} exists already`);
        const containerName = `${this.networkName}-${spec.name}`;
        const server: TestServer = {
            ...spec, containerName, volumeName: dataVolume(containerName), host: "127.0.0.1", port: spec.hostPort, containerId: "",
        };
        this.servers.set(spec.name, server);
        server.containerId = await createServerContainer({
            name: containerName, image: TEST_IMAGE, serverId: spec.serverId, rootPassword: this.rootPassword,
            network: this.networkName, hostPort: spec.hostPort, labels: this.labels(),
            containerLabels: { "mysql-replicas.test.server": spec.name }, restartUnlessStopped: spec.restartUnlessStopped,
            templateVolume: this.templateVolume,
        });
        await startHealthy(server.containerId, spec.name, HEALTHY_TIMEOUT_MS);
        return server;
    }

    /** Waits (bounded) until the server's container is healthy; fails early when it exits or turns unhealthy. */
    waitHealthy(name: string, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
        return waitHealthy(this.server(name).containerId, name, timeoutMs);
    }

    logs(name: string, lines = 30): Promise<string> {
        return containerLogs(this.server(name).containerId, lines);
    }

    /** Stops a server cleanly (SIGTERM); its published port closes with it. */
    async stop(name: string): Promise<void> {
        await docker.getContainer(this.server(name).containerId).stop({ t: 30 }).catch(ignoreNotModified);
    }

    /** Starts a stopped server again and waits until it is healthy. */
    restart(name: string): Promise<void> {
        return startHealthy(this.server(name).containerId, name, HEALTHY_TIMEOUT_MS);
    }

    /** Removes a server's container (its volume stays until cleanup). */
    async removeContainer(name: string): Promise<void> {
        await docker.getContainer(this.server(name).containerId).remove({ force: true }).catch(ignoreMissing);
    }
}

// ---------------------------------------------------------------- SQL

export interface Login {
    readonly user: string;
    readonly password: string;
    readonly database?: string;
}

/** Runs one statement as `login` on a server's published port and returns its rows. */
export async function runSql<T = Record<string, any>>(server: Pick<TestServer, "host" | "port">, login: Login,
    sql: string, params: unknown[] = []): Promise<T[]> {
    return withConn({ host: server.host, port: server.port, ...login }, (c) => rows<T>(c, sql, params));
}
