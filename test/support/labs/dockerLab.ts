/**
 * A small lab started with dockerode, without Pulumi: a source and N replicas of a MySQL or MariaDB
 * image (the program's mysqld options and health check, from components/serverOptions.ts), roles and
 * GTID replication set up by the program's own providers (serverRole.ts, replication.ts), the app
 * database and the program's accounts (accountPlan, CHECK_USER) on the source, and an HAProxy read
 * endpoint with the program's configuration (components/readEndpoint.ts).
 * It writes the same outputs JSON a stack gives, so the tools run against it unchanged.
 *
 * Used by test/integration/tools.test.ts and by test/bench/lab.ts. Everything it creates carries
 * the label mysql-replicas.test=tools and its run's label, and `cleanup` removes it all. The server
 * containers, labels, health waiting and cleanup are ../docker.ts's, which the integration suites'
 * TestLab (testLab.ts) uses too.
 */
import type { Role } from "../../../components/replication/sql";
import { randomBytes } from "node:crypto";
import { type AccountKey, type AccountPlan, accountPlan } from "../../../components/accounts";
import { CHECK_USER, HAPROXY_CONFIG_PATH, PROXY_DNS, checkAuthPlugin, haproxyConfig } from "../../../components/readEndpoint";
import { replicationProvider } from "../../../components/replication/replication";
import { serverRoleProvider } from "../../../components/replication/serverRole";
import * as fs from "node:fs";
import type { Connection } from "mysql2/promise";
import { sleep } from "../../../components/replication/connection";
import * as sql from "../../../components/replication/sql";
import {
    LabRun, type RunKind, containerLogs, createDataTemplate, createNetwork, createServerContainer, docker, ignoreMissingOrStopped, imageServer, objectsOfRun,
    startHealthy, tarOneFile, waitHealthy,
} from "../docker";
import { close, open, query, serverVersion } from "../../../scripts/lib/db";
import { MysqlUrl } from "../../../scripts/lib/outputs";

export { LABEL } from "../docker";
export const LABEL_VALUE = "tools";
/** Leftovers are those of the same suite or of a process that is gone; another lab of this process is left alone. */
export const KIND: RunKind = { value: LABEL_VALUE, ownProcessIsStale: false };

/** How long a server may take to become healthy (initialising an empty datadir included). */
const HEALTHY_TIMEOUT_MS = 180_000;

export interface DockerLabOptions {
    /** Lower-case name of this use (e.g. "it", "bench"); a new start removes what an earlier one of the same suite left. */
    readonly suite: string;
    /** Host port of the source; replica i gets basePort + i, the read endpoint basePort + replicas + 1. */
    readonly basePort: number;
    readonly replicas: number;
    readonly image: string;
    readonly proxyImage: string;
    /** Defaults to "app". */
    readonly database?: string;
    /** Progress messages. */
    readonly log?: (message: string) => void;
}

export interface LabContainer {
    readonly index: number;
    readonly name: string;
    readonly role: Role;
    readonly serverId: number;
    readonly hostPort: number;
    id: string;
}

const password = () => randomBytes(12).toString("hex");

export class DockerLab extends LabRun {
    readonly prefix: string;
    readonly networkName: string;
    readonly database: string;
    /** root's password and each account's, by the program's account keys (components/accounts.ts). */
    readonly passwords: Record<"root" | AccountKey, string> = { root: password(), replication: password(), app: password(), readonly: password() };
    /** The accounts the program declares, as accountPlan() plans them. */
    readonly accounts: readonly AccountPlan[];
    readonly servers: LabContainer[] = [];
    /** The run's data template: every server starts on a copy, as the lab's do. */
    private templateVolume?: string;
    readonly readEndpointPort: number;
    proxyId = "";
    private readonly log: (m: string) => void;

    private constructor(readonly options: DockerLabOptions) {
        super(KIND, options.suite);
        this.prefix = `mrtools-${options.suite}-${this.runId}`;
        this.networkName = `${this.prefix}-net`;
        this.database = options.database ?? "app";
        this.accounts = accountPlan(this.database);
        this.readEndpointPort = options.basePort + options.replicas + 1;
        this.log = options.log ?? (() => undefined);
    }

    /** Starts the whole lab; on failure removes what it made and rethrows. */
    static async start(options: DockerLabOptions): Promise<DockerLab> {
        const lab = new DockerLab(options);
        return LabRun.launch(lab, () => lab.build());
    }

    get source(): LabContainer {
        return this.servers[0];
    }

    get replicas(): LabContainer[] {
        return this.servers.slice(1);
    }

    url(user: string, pw: string, port: number): MysqlUrl {
        return { user, password: pw, host: "127.0.0.1", port, database: this.database };
    }

    root(index: number): MysqlUrl {
        return this.url("root", this.passwords.root, this.servers[index].hostPort);
    }

    /** Runs statements on a server as root, on one connection; returns the last one's rows. */
    async sql<T = Record<string, unknown>>(index: number, ...stmts: sql.Statement[]): Promise<T[]> {
        const conn = await open(this.root(index), 30, this.servers[index].name);
        try {
            let rows: T[] = [];
            for (const s of stmts) rows = await query<T>(conn, s);
            return rows;
        } finally {
            await close(conn);
        }
    }

    /** The flavor and version a server reports. */
    async version(index: number): Promise<sql.ServerVersion> {
        const conn = await open(this.root(index), 30, this.servers[index].name);
        try {
            return await serverVersion(conn);
        } finally {
            await close(conn);
        }
    }

    private async build(): Promise<void> {
        const o = this.options;
        await createNetwork(this.networkName, this.labels());
        for (let i = 0; i <= o.replicas; i++) {
            this.servers.push({
                index: i, name: `${this.prefix}-server-${i}`, role: i === 0 ? "source" : "replica", serverId: i + 1,
                hostPort: o.basePort + i, id: "",
            });
        }
        this.log(`starting ${this.servers.length} servers of ${o.image} on network ${this.networkName}`);
        this.templateVolume = await createDataTemplate({
            volumeName: `${this.networkName}-template`, image: o.image, rootPassword: this.passwords.root, labels: this.labels(),
        });
        await Promise.all(this.servers.map((s) => this.startServer(s)));
        await this.setUpSource();
        await Promise.all(this.replicas.map((r) => this.setUpReplica(r)));
        await this.startProxy();
        this.log("lab ready");
    }

    private async startServer(s: LabContainer): Promise<void> {
        s.id = await createServerContainer({
            name: s.name, image: this.options.image, serverId: s.serverId, rootPassword: this.passwords.root,
            network: this.networkName, hostPort: s.hostPort, labels: this.labels(), templateVolume: this.templateVolume,
        });
        await startHealthy(s.id, s.name, HEALTHY_TIMEOUT_MS);
    }

    waitHealthy(s: LabContainer, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
        return waitHealthy(s.id, s.name, timeoutMs);
    }

    /** An account's user name, as the program names it. */
    user(key: AccountKey): string {
        return this.accounts.find((a) => a.key === key)!.user;
    }

    /** Writable source, the app database, and the program's accounts (accountPlan, CHECK_USER). */
    private async setUpSource(): Promise<void> {
        await serverRoleProvider.create!({ ...this.admin(0), serverName: this.source.name, serverInstance: "", role: "source", leftOut: "" });
        const conn = await open(this.root(0), 60, "source");
        try {
            await query(conn, sql.createDatabase({ name: this.database }));
            for (const a of this.accounts) {
                await query(conn, sql.createUser({ user: a.user, host: a.host }, this.passwords[a.key]));
                await query(conn, sql.grant({ user: a.user, host: a.host, database: a.database, table: "*", privileges: a.privileges }));
            }
            // The read endpoint's health-check account: no password, no privileges.
            await query(conn, sql.createUser({ user: CHECK_USER, host: "%" }, ""));
        } finally {
            await close(conn);
        }
    }

    /** Where the lab reaches server `index` as root, as the providers take it. */
    private admin(index: number) {
        return { adminHost: "127.0.0.1", adminPort: this.servers[index].hostPort, adminUser: "root", adminPassword: this.passwords.root };
    }

    /** Replication from the source and the replica role, by the program's own providers. */
    private async setUpReplica(r: LabContainer): Promise<void> {
        await replicationProvider.create!({
            ...this.admin(r.index), replicaName: r.name, replicaInstance: r.id,
            sourceHost: this.source.name, sourcePort: 3306, sourceProbeHost: "127.0.0.1", sourceProbePort: this.source.hostPort,
            user: this.user("replication"), password: this.passwords.replication, connectRetry: 1, retryCount: 86400, timeoutSeconds: 60, leftOut: "",
        });
        await serverRoleProvider.create!({ ...this.admin(r.index), serverName: r.name, serverInstance: "", role: "replica", leftOut: "" });
    }

    /** HAProxy with the program's configuration, its file put in place before it starts. */
    private async startProxy(): Promise<void> {
        const { flavor, version } = imageServer(this.options.image);
        const config = haproxyConfig({
            readers: this.replicas.map((r) => r.name), fallback: this.source.name, checkPlugin: checkAuthPlugin(flavor, version),
        });
        const container = await docker.createContainer({
            name: `${this.prefix}-read`,
            Image: this.options.proxyImage,
            Labels: this.labels(),
            ExposedPorts: { "3306/tcp": {} },
            HostConfig: {
                NetworkMode: this.networkName,
                PortBindings: { "3306/tcp": [{ HostIp: "127.0.0.1", HostPort: String(this.readEndpointPort) }] },
                Dns: [...PROXY_DNS],
            },
        });
        this.proxyId = container.id;
        const dir = HAPROXY_CONFIG_PATH.slice(0, HAPROXY_CONFIG_PATH.lastIndexOf("/"));
        const file = HAPROXY_CONFIG_PATH.slice(dir.length + 1);
        await container.putArchive(tarOneFile(file, config), { path: dir });
        await container.start();
        // Ready when a login through it reaches a replica.
        const deadline = Date.now() + 30_000;
        for (;;) {
            let conn: Connection | undefined;
            try {
                conn = await open(this.url(this.user("readonly"), this.passwords.readonly, this.readEndpointPort), 2, "read endpoint");
                const [row] = await query<{ id: string | number }>(conn, { sql: "SELECT @@server_id AS id" });
                if (this.options.replicas === 0 || Number(row.id) !== this.source.serverId) return;
            } catch (err) {
                if (Date.now() > deadline) {
                    throw new Error(`the read endpoint did not answer: ${(err as Error).message}\n${await containerLogs(container.id)}`);
                }
            } finally {
                await close(conn);
            }
            await sleep(250);
        }
    }

    /** The stack outputs index.ts would export for this lab (secrets in plain text, as --show-secrets gives them). */
    outputs(): Record<string, unknown> {
        const u = (user: string, pw: string, port: number) => `mysql://${user}:${pw}@127.0.0.1:${port}/${this.database}`;
        return {
            sourceEndpoint: `127.0.0.1:${this.source.hostPort}`,
            replicaEndpoints: this.replicas.map((r) => `127.0.0.1:${r.hostPort}`),
            replicaCount: this.replicas.length,
            serverIds: this.servers.map((s) => s.serverId),
            roles: this.servers.map((s) => s.role),
            serverNames: this.servers.map((s) => s.name),
            adminConnectionStrings: this.servers.map((s) => u("root", this.passwords.root, s.hostPort)),
            flavor: imageServer(this.options.image).flavor,
            database: this.database,
            appConnectionString: u(this.user("app"), this.passwords.app, this.source.hostPort),
            readonlyConnectionStrings: this.replicas.map((r) => u(this.user("readonly"), this.passwords.readonly, r.hostPort)),
            readEndpoint: `127.0.0.1:${this.readEndpointPort}`,
        };
    }

    writeOutputs(file: string): void {
        fs.writeFileSync(file, JSON.stringify(this.outputs(), null, 2) + "\n", { mode: 0o600 });
    }

    /** `docker stop` of a server (mysqld shuts down cleanly). */
    async stopServer(index: number): Promise<void> {
        await docker.getContainer(this.servers[index].id).stop({ t: 30 }).catch(ignoreMissingOrStopped);
    }

    /** What is left of this run in Docker (for asserting a clean teardown). */
    async leftovers(): Promise<string[]> {
        const o = await objectsOfRun(this.runId);
        return [...o.containers.map((x) => `container ${x}`), ...o.networks.map((x) => `network ${x}`), ...o.volumes.map((x) => `volume ${x}`)];
    }
}
