import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Flavor } from "./config";
import { ServerReady } from "./replication/serverReady";
import { healthcheck, serverArgs, serverEntrypoint, serverEnv } from "./serverOptions";

/** Arguments of one MySQL-family server. */
export interface MysqlServerArgs {
    /** Container name; also the host name other lab containers reach it by. */
    readonly containerName: string;
    /** Image id (not name: a name makes every up replace the container). */
    readonly imageId: pulumi.Input<string>;
    readonly flavor: Flavor;
    /** Version from the image tag; undefined means the newest option names. */
    readonly imageVersion?: string;
    /** Unique, nonzero server_id. */
    readonly serverId: number;
    /** The lab network. */
    readonly networkName: pulumi.Input<string>;
    /** Host address the port is published on. Defaults to 127.0.0.1. */
    readonly bindAddress?: string;
    readonly hostPort: number;
    readonly rootPassword: pulumi.Input<string>;
    /**
     * What fills this server's empty volume before its first start (the lab's DataTemplate, made once the
     * servers' volumes exist, hence a promise); the server program then starts directly. None: the image
     * initialises the volume itself.
     */
    readonly filledBy?: Promise<pulumi.Resource>;
    /** Labels for the container and its volume (project, stack, server index). */
    readonly labels: Record<string, string>;
}

/**
 * One server: a named data volume and a container that starts read-only, from its very first start.
 * Its role is applied at run time by ServerRole, so nothing here changes when the source moves.
 */
export class MysqlServer extends pulumi.ComponentResource {
    public readonly volume: docker.Volume;
    public readonly container: docker.Container;
    /** Done once the server in the current container takes connections: what talks to it depends on this. */
    public readonly ready: ServerReady;
    /** Where Pulumi and the user reach it: the published address and port. */
    public readonly host: string;
    public readonly port: number;
    /** Where other lab containers reach it. */
    public readonly internalHost: string;

    constructor(name: string, args: MysqlServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mysqllab:index:MysqlServer", name, {}, opts);
        const labels = Object.entries(args.labels).map(([label, value]) => ({ label, value }));
        const bindAddress = args.bindAddress ?? "127.0.0.1";

        this.volume = new docker.Volume(`${name}-data`, {
            name: `${args.containerName}-data`,
            labels,
        }, { parent: this });

        this.container = new docker.Container(`${name}-container`, {
            name: args.containerName,
            hostname: args.containerName,
            image: args.imageId,
            // On a copy of the lab's template the server program starts directly: the image would only skip its initialisation.
            entrypoints: args.filledBy ? serverEntrypoint(args.flavor) : undefined,
            command: serverArgs(args.flavor, args.imageVersion, args.serverId),
            envs: pulumi.secret(pulumi.output(args.rootPassword).apply((pw) => serverEnv(args.flavor, pw))),
            labels,
            volumes: [{ volumeName: this.volume.name, containerPath: "/var/lib/mysql" }],
            networksAdvanced: [{ name: args.networkName }],
            ports: [{ internal: 3306, external: args.hostPort, ip: bindAddress, protocol: "tcp" }],
            healthcheck: healthcheck(args.flavor),
            // The server is waited for by ServerReady below, which sees it answer as soon as it does;
            // Docker's first health check comes only one interval after the start.
            wait: false,
            restart: "unless-stopped",
            mustRun: true,
            // mysqld needs time to flush InnoDB and close its binary log; the default kills it.
            destroyGraceSeconds: 60,
        }, {
            parent: this,
            // Its first start comes after its empty volume got the lab's initialised data directory.
            dependsOn: args.filledBy ? [args.filledBy] : [],
            // A fixed name and port cannot exist twice, so the old container must go first.
            deleteBeforeReplace: true,
            // The docker provider neither applies nor reads back healthcheck edits.
            replaceOnChanges: ["healthcheck"],
            additionalSecretOutputs: ["envs"],
        });

        this.host = connectHost(bindAddress);
        this.port = args.hostPort;
        this.internalHost = args.containerName;
        this.ready = new ServerReady(`${name}-ready`, {
            serverName: args.containerName,
            containerId: this.container.id,
            adminHost: this.host,
            adminPort: this.port,
        }, { parent: this, deletedWith: this.container });
        this.registerOutputs({
            volume: this.volume, container: this.container, ready: this.ready, host: this.host, port: this.port,
            internalHost: this.internalHost,
        });
    }
}

/** The address to connect to for a bind address: a wildcard bind is reached on loopback. */
export function connectHost(bindAddress: string): string {
    if (bindAddress === "0.0.0.0") return "127.0.0.1";
    if (bindAddress === "::") return "::1";
    return bindAddress;
}
