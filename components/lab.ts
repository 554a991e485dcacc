import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccountKey, LabAccounts, accountPlan } from "./accounts";
import { LabSettings, PASSWORD_KEYS, PasswordKey } from "./config";
import { MysqlServer } from "./mysqlServer";
import { DemoApp } from "./demoApp";
import { DataTemplate } from "./replication/dataDirectory";
import { healthcheck, initFiles, serverArgs, serverEnv, templateInitArgs } from "./serverOptions";
import { CHECK_USER, ReadEndpoint, checkAuthPlugin, haproxyConfig } from "./readEndpoint";
import { Replication } from "./replication/replication";
import { hostPort } from "./replication/connection";
import { ServerRole } from "./replication/serverRole";
import { Topology } from "./replication/topology";

/** Arguments of the whole lab. */
export interface MysqlLabArgs {
    /** Validated settings (see components/config.ts). */
    readonly settings: LabSettings;
    /** Prefix of every Docker object's name; include the stack so stacks live side by side. */
    readonly namePrefix: string;
    /** Labels put on every Docker object (project and stack). */
    readonly labels: Record<string, string>;
    /** Passwords from config; each one missing is generated and kept as a secret. */
    readonly passwords?: Partial<Record<PasswordKey, pulumi.Input<string>>>;
}

const ACCOUNT_PASSWORD: Record<AccountKey, PasswordKey> = {
    replication: "replicationPassword",
    app: "appPassword",
    readonly: "readonlyPassword",
};

/**
 * A source and N replicas on one Docker network, the app database and accounts on the source, and
 * GTID replication from the source to every replica.
 */
export class MysqlLab extends pulumi.ComponentResource {
    public readonly network: docker.Network;
    public readonly servers: MysqlServer[];
    public readonly source: MysqlServer;
    public readonly replicas: MysqlServer[];
    public readonly accounts: LabAccounts;
    public readonly replications: Replication[];
    public readonly roles: ServerRole[];
    /** Which server is the source; moving it is a planned switchover. */
    public readonly topology: Topology;
    /** Every password, secret. */
    public readonly passwords: Record<PasswordKey, pulumi.Output<string>>;
    /** The app database's name. */
    public readonly database: string;
    /** The load balancer over the replicas, when config asks for one. */
    public readonly readEndpoint?: ReadEndpoint;
    /** The demo app and its page, when config asks for them. */
    public readonly demoApp?: DemoApp;

    constructor(name: string, args: MysqlLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mysqllab:index:MysqlLab", name, {}, opts);
        const s = args.settings;
        this.database = s.database;
        this.passwords = this.makePasswords(name, args);
        this.network = new docker.Network(`${name}-net`, {
            name: `${args.namePrefix}-net`,
            driver: "bridge",
            labels: Object.entries(args.labels).map(([label, value]) => ({ label, value })),
        }, { parent: this });
        this.servers = this.makeServers(name, args);
        const sourceSpec = s.servers.find((x) => x.role === "source")!;
        this.source = this.servers[sourceSpec.index];
        this.replicas = s.servers.filter((x) => x.role === "replica").map((x) => this.servers[x.index]);
        this.topology = this.makeTopology(name, s);
        const sourceRole = this.makeRole(name, s, sourceSpec.index, "source", []);
        this.accounts = this.makeAccounts(name, s, sourceRole);
        const { replications, roles } = this.makeReplicas(name, s);
        this.replications = replications;
        this.roles = [sourceRole, ...roles];
        this.readEndpoint = s.readEndpoint ? this.makeReadEndpoint(name, args) : undefined;
        this.demoApp = s.demoApp && this.readEndpoint ? this.makeDemoApp(name, args, sourceRole) : undefined;
        this.registerOutputs({
            network: this.network, servers: this.servers, topology: this.topology, accounts: this.accounts,
            replications: this.replications, roles: this.roles, readEndpoint: this.readEndpoint, demoApp: this.demoApp,
        });
    }

    /** Every password: from config, or generated, secret either way. */
    private makePasswords(name: string, args: MysqlLabArgs): Record<PasswordKey, pulumi.Output<string>> {
        const passwords = {} as Record<PasswordKey, pulumi.Output<string>>;
        for (const key of PASSWORD_KEYS) {
            const given = args.passwords?.[key];
            passwords[key] = given !== undefined
                ? pulumi.secret(given)
                // Alphanumeric: the passwords travel in URLs and shell examples.
                : pulumi.secret(new random.RandomPassword(`${name}-${key}`, { length: 24, special: false }, { parent: this }).result);
        }
        return passwords;
    }

    /** The servers, each on a copy of the lab's data template where there is one. */
    private makeServers(name: string, args: MysqlLabArgs): MysqlServer[] {
        const s = args.settings;
        const imageId = this.imageId(`${name}-image`, s.image, s.pullImage);
        const templateArgs = templateInitArgs(s.flavor, s.imageVersion);
        // The template fills the servers' volumes, so it is made after them; their containers wait for it.
        let filled: (template: DataTemplate) => void = () => undefined;
        const filledBy = templateArgs === undefined ? undefined : new Promise<DataTemplate>((resolve) => { filled = resolve; });

        const servers = s.servers.map((spec) => new MysqlServer(`${name}-server-${spec.index}`, {
            containerName: serverContainerName(args.namePrefix, spec.index),
            imageId,
            flavor: s.flavor,
            imageVersion: s.imageVersion,
            serverId: spec.serverId,
            networkName: this.network.name,
            bindAddress: s.bindAddress,
            hostPort: spec.hostPort,
            rootPassword: this.passwords.rootPassword,
            filledBy,
            labels: { ...args.labels, "mysql-replicas.server": String(spec.index) },
        }, { parent: this }));

        // One initialisation for the whole lab: every server's empty volume starts as a copy of this
        // (the fence persisted on MySQL 8+), with its own server_id (and, on MySQL, a new server UUID).
        if (templateArgs !== undefined) {
            filled(new DataTemplate(`${name}-data-template`, {
                volumeName: `${args.namePrefix}-template`,
                image: imageId,
                flavor: s.flavor,
                command: templateArgs,
                rootPassword: this.passwords.rootPassword,
                initFiles: initFiles(s.flavor, s.imageVersion),
                serverVolumes: servers.map((server) => server.volume.name),
                labels: args.labels,
            }, { parent: this }));
        }
        return servers;
    }

    /**
     * Which server is the source. A new sourceIndex moves the source here, by a planned switchover,
     * before anything that follows the source (accounts, roles, replication) is touched.
     */
    private makeTopology(name: string, s: LabSettings): Topology {
        return new Topology(`${name}-topology`, {
            servers: this.servers.map((server) => ({ name: server.internalHost, adminHost: server.host, adminPort: server.port })),
            sourceIndex: s.sourceIndex,
            adminPassword: this.passwords.rootPassword,
            user: accountPlan(s.database).find((a) => a.key === "replication")!.user,
            password: this.passwords.replicationPassword,
            connectRetry: s.connectRetrySeconds,
            timeoutSeconds: s.replicationTimeoutSeconds,
            allowFailover: s.allowFailover,
        }, { parent: this, dependsOn: this.servers.map((server) => server.ready) });
    }

    /** Why server `index` is left out of replication, or "". */
    private leftOut(index: number): pulumi.Output<string> {
        return this.topology.leftOut.apply((l) => l?.[String(index)] ?? "");
    }

    /**
     * A server's role. The source's comes first: the accounts are written on it, and a source that
     * restarted comes back fenced. With semi-sync on, its plugin is then in place before any replica
     * connects. A replica's comes after its replication.
     */
    private makeRole(name: string, s: LabSettings, index: number, role: "source" | "replica", after: pulumi.Resource[]): ServerRole {
        const server = this.servers[index];
        return new ServerRole(`${name}-server-${index}-role`, {
            serverName: server.internalHost,
            serverInstance: server.container.id,
            adminHost: server.host,
            adminPort: server.port,
            adminPassword: this.passwords.rootPassword,
            role,
            ...(role === "replica" ? { leftOut: this.leftOut(index) } : {}),
            semiSync: s.semiSync,
            semiSyncTimeoutMs: s.semiSyncTimeoutMs,
        }, role === "source"
            ? { parent: this, dependsOn: [server.ready, this.topology] }
            : { parent: this, dependsOn: [...after, this.topology], deletedWith: server.container });
    }

    /** The app database and accounts, written on the source once it is open. */
    private makeAccounts(name: string, s: LabSettings, sourceRole: ServerRole): LabAccounts {
        return new LabAccounts(`${name}-accounts`, {
            host: this.source.host,
            port: this.source.port,
            rootPassword: this.passwords.rootPassword,
            database: s.database,
            passwords: {
                replication: this.passwords[ACCOUNT_PASSWORD.replication],
                app: this.passwords[ACCOUNT_PASSWORD.app],
                readonly: this.passwords[ACCOUNT_PASSWORD.readonly],
            },
            serverContainer: this.source.container,
            after: [this.topology, sourceRole],
            checkUser: s.readEndpoint ? CHECK_USER : undefined,
        }, { parent: this });
    }

    /** Each replica's replication from the source, then its role. */
    private makeReplicas(name: string, s: LabSettings): { replications: Replication[]; roles: ServerRole[] } {
        const replications: Replication[] = [];
        const roles: ServerRole[] = [];
        for (const spec of s.servers.filter((x) => x.role === "replica")) {
            const replica = this.servers[spec.index];
            const replication = new Replication(`${name}-server-${spec.index}-replication`, {
                replicaName: replica.internalHost,
                adminHost: replica.host,
                adminPort: replica.port,
                replicaInstance: replica.container.id,
                adminPassword: this.passwords.rootPassword,
                sourceHost: this.source.internalHost,
                sourcePort: 3306,
                sourceProbeHost: this.source.host,
                sourceProbePort: this.source.port,
                user: this.accounts.users.replication.user,
                password: this.passwords.replicationPassword,
                connectRetry: s.connectRetrySeconds,
                leftOut: this.leftOut(spec.index),
                delaySeconds: spec.delaySeconds,
                seed: s.seed,
                timeoutSeconds: s.replicationTimeoutSeconds,
                // Root copies the source: it makes the one-off clone account (MySQL), or reads everything for a dump (MariaDB).
                donorUser: "root",
                donorPassword: this.passwords.rootPassword,
            }, {
                parent: this,
                // After the read endpoint's check account too: a replica is caught up with it once its
                // replication is in place, so the endpoint's first check finds the account on every replica.
                dependsOn: [replica.ready, this.source.ready, this.accounts.grants.replication, this.topology,
                    ...(this.accounts.checkUser ? [this.accounts.checkUser] : [])],
                // The replica's server going away ends its replication too.
                deletedWith: replica.container,
            });
            replications.push(replication);
            roles.push(this.makeRole(name, s, spec.index, "replica", [replication]));
        }
        return { replications, roles };
    }

    /**
     * HAProxy over the replicas. A left-out server holds data the source may not have, and a delayed
     * one old data: neither serves reads (a delayed one may, if its config says serveReads).
     */
    private makeReadEndpoint(name: string, args: MysqlLabArgs): ReadEndpoint {
        const s = args.settings;
        return new ReadEndpoint(`${name}-read`, {
            containerName: `${args.namePrefix}-read`,
            imageId: this.imageId(`${name}-proxy-image`, s.proxyImage, s.pullImage),
            networkName: this.network.name,
            bindAddress: s.bindAddress,
            hostPort: s.readEndpointPort,
            config: this.topology.leftOut.apply((out) => haproxyConfig({
                readers: s.servers.filter((x) => x.role === "replica" && !out?.[String(x.index)] && (x.delaySeconds === 0 || x.serveReads))
                    .map((x) => this.servers[x.index].internalHost),
                fallback: this.source.internalHost,
                checkPlugin: checkAuthPlugin(s.flavor, s.imageVersion),
            })),
            labels: args.labels,
            after: [...this.roles, ...this.replications, ...(this.accounts.checkUser ? [this.accounts.checkUser] : [])],
        }, { parent: this });
    }

    /**
     * The demo app and its page, once the source is open for its accounts and tables. It starts beside
     * the replications and the read endpoint, not after them: it polls every server and the endpoint
     * each second and shows what it finds, so a replica still being set up shows as one.
     */
    private makeDemoApp(name: string, args: MysqlLabArgs, sourceRole: ServerRole): DemoApp {
        const s = args.settings;
        return new DemoApp(`${name}-app`, {
            containerName: `${args.namePrefix}-app`,
            imageId: this.imageId(`${name}-app-image`, s.demoAppImage, s.pullImage),
            networkName: this.network.name,
            bindAddress: s.bindAddress,
            hostPort: s.demoAppPort,
            flavor: s.flavor,
            imageVersion: s.imageVersion,
            database: s.database,
            serverHost: serverContainerName(args.namePrefix, "{index}"),
            readEndpointHost: `${args.namePrefix}-read`,
            source: { host: this.source.host, port: this.source.port, container: this.source.container },
            rootPassword: this.passwords.rootPassword,
            desired: this.topology.leftOut.apply((out) => s.servers.map((x) => ({
                serverIndex: x.index, role: x.role, delaySeconds: x.delaySeconds, leftOut: out?.[String(x.index)] ?? "",
            }))),
            databaseResource: this.accounts.database,
            after: [this.topology, sourceRole],
            labels: args.labels,
        }, { parent: this });
    }

    /** An image's id: pulled if missing, or (pull = false) looked up on the Docker host. */
    private imageId(name: string, image: string, pull: boolean): pulumi.Output<string> {
        return pull
            // keepLocally: the image is shared with other stacks and outlives this one.
            ? new docker.RemoteImage(name, { name: image, keepLocally: true }, { parent: this }).imageId
            : docker.getRemoteImageOutput({ name: image }, { parent: this }).id;
    }

    /** A mysql:// URL for one account ("admin" is root) against one server; secret, as it carries the password. */
    connectionString(account: AccountKey | "admin", server: MysqlServer): pulumi.Output<string> {
        const user = account === "admin" ? "root" : this.accounts.users[account].user;
        const password = this.passwords[account === "admin" ? "rootPassword" : ACCOUNT_PASSWORD[account]];
        // Encoded: a configured password may hold characters that end the user-info part of a URL.
        return pulumi.secret(pulumi.interpolate`mysql://${encodeURIComponent(user)}:${pulumi.output(password).apply(encodeURIComponent)}@${hostPort(server.host, server.port)}/${this.database}`);
    }
}

/** Server `index`'s container name, which is also its name on the lab's network. */
function serverContainerName(namePrefix: string, index: number | string): string {
    return `${namePrefix}-server-${index}`;
}
