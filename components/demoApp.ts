import * as fs from "node:fs";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { bundleDemoApp } from "../app/bundle";
import { INFORMATION_TABLE, informationTableDdl } from "../app/schema";
import type { DemoAppConfig } from "../app/types";
import type { Flavor } from "./config";
import { versionBefore } from "./imageName";
import { connectHost } from "./mysqlServer";
import { DESIRED_TABLE_NAME, type DesiredServer, LAB_SCHEMA } from "./replication/labTablesSql";
import { DesiredTopology, SqlTable } from "./replication/labTables";
import { SqlGrant, SqlUser } from "./replication/accounts";

/** Where the app listens in its container, and where its files go. */
export const APP_PORT = 8080;
const APP_FILE = "/opt/mysql-replicas/app.js";
const CONFIG_FILE = "/etc/mysql-replicas/app.json";
/** Where the app writes the time of each /healthz it answered itself. */
const HEALTH_FILE = "/tmp/mysql-replicas-app.alive";
/** Where the bundle is written for the docker provider to upload (`source`: not kept in state). */
const BUNDLE_DIR = path.resolve(__dirname, "..", ".build");

/** The app's two accounts: what each may do, and no more. */
export const DEMO_USERS = { app: "demo_app", monitor: "demo_monitor" } as const;

/**
 * The monitor's global privileges: reading replication state and binary log positions. MariaDB 10.5.2+
 * split REPLICATION CLIENT into BINLOG MONITOR and (10.5.9+) SLAVE MONITOR, which SHOW REPLICA STATUS needs.
 */
export function monitorPrivileges(flavor: Flavor, imageVersion: string | undefined): string[] {
    if (flavor === "mariadb" && !versionBefore(imageVersion, "10.5.9")) return ["BINLOG MONITOR", "SLAVE MONITOR"];
    return ["REPLICATION CLIENT"];
}

export interface DemoAppArgs {
    readonly containerName: string;
    readonly imageId: pulumi.Input<string>;
    readonly networkName: pulumi.Input<string>;
    readonly bindAddress: string;
    readonly hostPort: number;
    readonly flavor: Flavor;
    readonly imageVersion?: string;
    readonly database: string;
    /** How the lab's containers reach server N: this name with `{index}` replaced by N. */
    readonly serverHost: string;
    /** The read endpoint's container name. */
    readonly readEndpointHost: string;
    /** The current source, as Pulumi reaches it: the accounts and tables are written there. */
    readonly source: { host: string; port: number; container: docker.Container };
    readonly rootPassword: pulumi.Input<string>;
    /** The config's roles, delays and left-out servers, for the page. */
    readonly desired: pulumi.Input<DesiredServer[]>;
    /** The app database, and what must be done before anything is written on the source. */
    readonly databaseResource: pulumi.Resource;
    readonly after: pulumi.Resource[];
    readonly labels: Record<string, string>;
}

/**
 * The demo app (app/): one bundled file on a Node image, on the lab's network, with its own
 * least-privilege accounts. It finds the source itself and reads which servers there are from the
 * desired topology table, so neither a switchover nor a scale-up replaces it.
 */
export class DemoApp extends pulumi.ComponentResource {
    public readonly container: docker.Container;
    /** http://host:port of the app and its page, as published. */
    public readonly url: string;

    constructor(name: string, args: DemoAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mysqllab:index:DemoApp", name, {}, opts);
        const server = { adminHost: args.source.host, adminPort: args.source.port, adminPassword: args.rootPassword };
        const sqlOpts = { parent: this, deletedWith: args.source.container, dependsOn: [args.source.container, args.databaseResource, ...args.after] };

        const password = (key: string) => pulumi.secret(new random.RandomPassword(`${name}-${key}-password`,
            { length: 24, special: false }, { parent: this }).result);
        const appPassword = password("app");
        const monitorPassword = password("monitor");

        const appUser = new SqlUser(`${name}-app`, { ...server, user: DEMO_USERS.app, plaintextPassword: appPassword }, sqlOpts);
        new SqlGrant(`${name}-app-grant`, {
            ...server, user: appUser.user, database: args.database, privileges: ["SELECT", "INSERT"], onlyGrant: true,
        }, { ...sqlOpts, dependsOn: [...sqlOpts.dependsOn, appUser] });
        const monitorUser = new SqlUser(`${name}-monitor`, { ...server, user: DEMO_USERS.monitor, plaintextPassword: monitorPassword }, sqlOpts);
        new SqlGrant(`${name}-monitor-grant`, {
            ...server, user: monitorUser.user, database: "*", privileges: monitorPrivileges(args.flavor, args.imageVersion),
        }, { ...sqlOpts, dependsOn: [...sqlOpts.dependsOn, monitorUser] });
        new SqlGrant(`${name}-monitor-lab-grant`, {
            ...server, user: monitorUser.user, database: LAB_SCHEMA, privileges: ["SELECT"],
        }, { ...sqlOpts, dependsOn: [...sqlOpts.dependsOn, monitorUser] });
        new SqlTable(`${name}-table`, {
            ...server, database: args.database, table: INFORMATION_TABLE, ddl: informationTableDdl(args.database),
        }, sqlOpts);
        new DesiredTopology(`${name}-desired`, { ...server, servers: args.desired }, sqlOpts);

        const config = pulumi.secret(pulumi.all([appPassword, monitorPassword]).apply(([app, monitor]) => JSON.stringify(demoAppConfig(args, app, monitor))));
        const bundle = writeBundle();
        this.container = new docker.Container(`${name}-container`, {
            name: args.containerName,
            hostname: args.containerName,
            image: args.imageId,
            command: ["node", APP_FILE],
            envs: [`DEMO_APP_CONFIG=${CONFIG_FILE}`],
            labels: Object.entries(args.labels).map(([label, value]) => ({ label, value })),
            networksAdvanced: [{ name: args.networkName }],
            ports: [{ internal: APP_PORT, external: args.hostPort, ip: args.bindAddress, protocol: "tcp" }],
            uploads: [
                { file: APP_FILE, source: bundle.file, sourceHash: bundle.sha256 },
                { file: CONFIG_FILE, content: config },
            ],
            healthcheck: appHealthcheck(),
            wait: true,
            // It starts with the servers and turns healthy once its accounts let it poll them.
            waitTimeout: 300,
            restart: "unless-stopped",
            mustRun: true,
            destroyGraceSeconds: 5,
        }, {
            parent: this,
            // Not after its accounts: it only needs them to poll, and it retries, so it starts beside the
            // servers and its first answer comes right after its grants. A dependency on them would put its
            // start, upload and first check after everything else the lab does.
            dependsOn: [],
            deleteBeforeReplace: true,
            replaceOnChanges: ["healthcheck"],
        });
        this.url = `http://${urlHost(args.bindAddress)}:${args.hostPort}`;
        this.registerOutputs({ container: this.container, url: this.url });
    }
}

/**
 * The app's Docker health check: its health file is at most 3 s old (the app refreshes it each second
 * while it answers /healthz). `sh`, `date` and `cat` are in the Alpine and Debian node images alike;
 * a node process per check cost half a core of a 2-core machine at one check a second.
 */
export function appHealthcheck(): { tests: string[]; interval: string; timeout: string; startPeriod: string; retries: number } {
    const check = `[ $(( $(date +%s) - $(cat ${HEALTH_FILE} 2>/dev/null || echo 0) )) -le 3 ]`;
    // Failures before the first success do not count: the app waits for the servers and its accounts.
    return { tests: ["CMD", "sh", "-c", check], interval: "1s", timeout: "10s", startPeriod: "300s", retries: 30 };
}

/** The app's config file (secret: it holds the two passwords). */
export function demoAppConfig(args: Pick<DemoAppArgs, "flavor" | "database" | "serverHost" | "readEndpointHost">, app: string, monitor: string): DemoAppConfig {
    return {
        listenPort: APP_PORT,
        flavor: args.flavor,
        database: args.database,
        table: INFORMATION_TABLE,
        serverHost: args.serverHost,
        serverPort: 3306,
        readEndpoint: { host: args.readEndpointHost, port: 3306, statsUrl: `http://${args.readEndpointHost}:8404/;csv` },
        app: { user: DEMO_USERS.app, password: app },
        monitor: { user: DEMO_USERS.monitor, password: monitor },
        desiredTable: DESIRED_TABLE_NAME,
        healthFile: HEALTH_FILE,
    };
}

/** The bundle, written where the docker provider reads it; its hash replaces the container when it changes. */
function writeBundle(): { file: string; sha256: string } {
    const { code, sha256 } = bundleDemoApp();
    const file = path.join(BUNDLE_DIR, "demo-app.js");
    fs.mkdirSync(BUNDLE_DIR, { recursive: true });
    // Whole or not at all: another stack's program may write the same file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
    return { file, sha256 };
}

/** A bind address as a URL host: where it is reached (connectHost), IPv6 in brackets. */
function urlHost(bindAddress: string): string {
    const host = connectHost(bindAddress);
    return host.includes(":") ? `[${host}]` : host;
}
