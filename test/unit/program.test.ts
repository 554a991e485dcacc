/**
 * The real index.ts under Pulumi's mock runtime: what it declares, with which options, for several configs.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { accountPlan } from "../../components/accounts";
import { type CheckAuthPlugin, checkLoginPacket } from "../../components/readEndpoint";
import { ProgramRun, Registration, TYPES, isSecret, ofType, reveal, runProgram } from "../support/mocks/program";

jest.setTimeout(60_000);

const byUrn = (run: ProgramRun, urn: string) => run.registrations.find((r) => r.urn === urn);
const named = (run: ProgramRun, type: string, name: string) => {
    const found = ofType(run, type).find((r) => r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}`);
    return found;
};

/** The server containers (the read endpoint's proxy is a container too). */
const serverContainers = (run: ProgramRun): Registration[] => ofType(run, TYPES.container).filter((c) => c.name.startsWith("lab-server-"));
/** The lab's own accounts and grants (not the demo app's), other than the proxy's health-check user. */
const ofLabAccounts = (run: ProgramRun, type: string) => ofType(run, type).filter((r) => r.parent.includes("mysqllab:index:LabAccounts"));
const labUsers = (run: ProgramRun, type: string) => ofLabAccounts(run, type).filter((u) => u.inputs.user !== "haproxy_check");

async function program(config: Record<string, string>,
    opts: { stack?: string; secrets?: Record<string, string>; extraState?: Record<string, Record<string, unknown>> } = {}) {
    const run = await runProgram({ config, ...opts });
    if (run.error) throw run.error;
    return run;
}

describe.each([0, 1, 3])("replicaCount %i", (n) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await program({ replicaCount: String(n) });
    });

    test("one container and one volume per server, one network", () => {
        expect(serverContainers(run)).toHaveLength(n + 1);
        expect(ofType(run, TYPES.volume)).toHaveLength(n + 1);
        expect(ofType(run, TYPES.network)).toHaveLength(1);
    });

    test("one Replication and one replica role per replica", () => {
        expect(ofType(run, TYPES.replication)).toHaveLength(n);
        const roles = ofType(run, TYPES.serverRole).map((r) => r.inputs.role);
        expect(roles.filter((r) => r === "replica")).toHaveLength(n);
        expect(roles.filter((r) => r === "source")).toHaveLength(1);
    });

    test("the database, three users and three grants, on the source only", () => {
        expect(ofType(run, TYPES.sqlDatabase)).toHaveLength(1);
        // The server's own default character set (@pulumi/mysql's utf8 read back as utf8mb3 on MySQL 8.0.30+: drift).
        expect(ofType(run, TYPES.sqlDatabase)[0].inputs).toMatchObject({ name: "app", defaultCharacterSet: "", defaultCollation: "" });
        expect(labUsers(run, TYPES.sqlUser)).toHaveLength(3);
        expect(ofLabAccounts(run, TYPES.sqlGrant)).toHaveLength(3);
        for (const r of [...ofType(run, TYPES.sqlDatabase), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlGrant)]) {
            expect([r.inputs.adminHost, r.inputs.adminPort]).toEqual(["127.0.0.1", 13306]);
        }
    });

    test("outputs: endpoints, count, server ids; connection strings are secret", () => {
        expect(run.outputs.sourceEndpoint).toBe("127.0.0.1:13306");
        expect(run.outputs.replicaEndpoints).toEqual(Array.from({ length: n }, (_, i) => `127.0.0.1:${13307 + i}`));
        expect(run.outputs.replicaCount).toBe(n);
        expect(run.outputs.serverIds).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
        expect(run.outputs.appConnectionString).toEqual({ secret: expect.stringMatching(/^mysql:\/\/app:.+@127\.0\.0\.1:13306\/app$/) });
        const readonly = run.outputs.readonlyConnectionStrings as unknown[];
        expect(readonly).toHaveLength(Math.max(1, n));
        for (const r of readonly) expect(r).toEqual({ secret: expect.stringMatching(/^mysql:\/\/reader:/) });
    });
});

describe("servers", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await program({ replicaCount: "3", bindAddress: "127.0.0.2", basePort: "20000" });
    });

    test("unique server ids, all nonzero", () => {
        const ids = serverContainers(run).map((c) => (c.inputs.command as string[]).find((a) => a.startsWith("--server-id=")));
        expect(new Set(ids).size).toBe(4);
        expect(ids).not.toContain("--server-id=0");
    });

    test("every server starts read-only; replicas are locked by their role, the source opened", () => {
        for (const c of serverContainers(run)) expect(c.inputs.command).toContain("--read-only=ON");
        const roles = Object.fromEntries(ofType(run, TYPES.serverRole).map((r) => [r.name, r.inputs.role]));
        expect(roles).toEqual({ "lab-server-0-role": "source", "lab-server-1-role": "replica", "lab-server-2-role": "replica", "lab-server-3-role": "replica" });
    });

    test("semi-sync off by default; the source is opened before its accounts are written and before any replica replicates", () => {
        const all = ofType(run, TYPES.serverRole);
        for (const r of all) expect([r.inputs.semiSync, r.inputs.semiSyncTimeoutMs]).toEqual([false, 10000]);
        const source = all.find((r) => r.inputs.role === "source")!;
        for (const r of [...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlDatabase)]) expect(r.dependencies).toContain(source.urn);
        for (const r of all.filter((x) => x.inputs.role === "replica")) expect(source.dependencies).not.toContain(r.urn);
    });

    test("no container carries its role: not in name, command, environment or labels", () => {
        const containers = serverContainers(run);
        for (const c of containers) {
            const text = JSON.stringify([c.inputs.name, c.inputs.command, reveal(c.inputs.envs), c.inputs.labels, c.inputs.hostname]);
            // The project name and an option every server gets alike are not roles.
            const roleFree = text.replace(/mysql-replicas/g, "").replace(/log-(replica|slave)-updates/g, "");
            expect(roleFree).not.toMatch(/source|replica|master|slave|primary/i);
        }
        // Apart from the index, every container is declared alike.
        const shape = (c: Registration) => JSON.stringify({ ...c.inputs, name: 0, hostname: 0, ports: 0, volumes: 0, labels: 0,
            command: (c.inputs.command as string[]).filter((a) => !a.startsWith("--server-id")) });
        expect(new Set(containers.map(shape)).size).toBe(1);
    });

    test("ports are published on bindAddress only, basePort + index", () => {
        const ports = serverContainers(run).map((c) => c.inputs.ports);
        expect(ports).toEqual([0, 1, 2, 3].map((i) => [{ internal: 3306, external: 20000 + i, ip: "127.0.0.2", protocol: "tcp" }]));
    });

    test("containers wait for a TCP health check, replace on healthcheck change, delete before replace, stop gracefully", () => {
        for (const c of serverContainers(run)) {
            expect(c.inputs).toMatchObject({ wait: true, mustRun: true, destroyGraceSeconds: 60, restart: "unless-stopped" });
            expect(c.inputs.healthcheck).toMatchObject({ interval: "2s", startPeriod: "120s", tests: expect.arrayContaining(["--host=127.0.0.1"]) });
            expect(c.deleteBeforeReplace).toBe(true);
            expect(c.replaceOnChanges).toEqual(["healthcheck"]);
            expect(c.additionalSecretOutputs).toContain("envs");
        }
    });

    test("containers use the image id, not its name, and keep the image on destroy", () => {
        const image = ofType(run, TYPES.remoteImage)[0];
        expect(image.inputs).toMatchObject({ name: "mysql:9.7", keepLocally: true });
        for (const c of serverContainers(run)) expect(c.inputs.image).toBe("sha256:mock-mysql:9.7");
    });

    test("pullImage=false looks the image up on the host instead of pulling", async () => {
        const local = await program({ pullImage: "false", image: "mysql-replicas/mariadb:10.11" });
        expect(ofType(local, TYPES.remoteImage)).toHaveLength(0);
        for (const c of serverContainers(local)) expect(c.inputs.image).toBe("sha256:local-mysql-replicas/mariadb:10.11");
    });

    test("the data directory is a named volume per server", () => {
        for (const c of serverContainers(run)) {
            const volumes = c.inputs.volumes as { volumeName: string; containerPath: string }[];
            expect(volumes).toEqual([{ volumeName: `${c.inputs.name}-data`, containerPath: "/var/lib/mysql" }]);
        }
    });

    test("every Docker object is labelled with project and stack", () => {
        for (const r of [...serverContainers(run), ...ofType(run, TYPES.volume), ...ofType(run, TYPES.network)]) {
            expect(r.inputs.labels).toEqual(expect.arrayContaining([
                { label: "mysql-replicas.project", value: "mysql-replicas" },
                { label: "mysql-replicas.stack", value: "dev" },
            ]));
        }
    });
});

test("names are unique per stack: dev and ci can live side by side", async () => {
    const [dev, ci] = await Promise.all([program({}, { stack: "dev" }), program({ basePort: "14306" }, { stack: "ci" })]);
    const names = (run: ProgramRun) => [TYPES.container, TYPES.volume, TYPES.network]
        .flatMap((t) => ofType(run, t).map((r) => reveal<string>(r.inputs.name)));
    const devNames = names(dev);
    expect(new Set(devNames).size).toBe(devNames.length);
    expect(devNames.every((n) => n.startsWith("mysql-replicas-dev-"))).toBe(true);
    expect(names(ci).filter((n) => devNames.includes(n))).toEqual([]);
});

describe("the source is chosen by sourceIndex", () => {
    test("sourceIndex 1: server 1 is the source and takes the accounts; the others replicate; no name or port moves", async () => {
        const [zero, one] = await Promise.all([program({ replicaCount: "2" }), program({ replicaCount: "2", sourceIndex: "1" })]);
        const containers = (run: ProgramRun) => serverContainers(run).map((c) => [c.name, c.inputs.name, c.inputs.command, c.inputs.ports]);
        expect(containers(one)).toEqual(containers(zero));
        expect(ofType(one, TYPES.volume).map((v) => v.inputs.name)).toEqual(ofType(zero, TYPES.volume).map((v) => v.inputs.name));
        expect(one.outputs.sourceEndpoint).toBe("127.0.0.1:13307");
        expect(one.outputs.roles).toEqual(["replica", "source", "replica"]);
        expect(ofType(one, TYPES.replication).map((r) => r.name).sort()).toEqual(["lab-server-0-replication", "lab-server-2-replication"]);
        for (const r of ofType(one, TYPES.replication)) expect(r.inputs.sourceHost).toBe("mysql-replicas-dev-server-1");
        for (const u of ofType(one, TYPES.sqlUser)) expect(u.inputs.adminPort).toBe(13307);
        const topology = ofType(one, TYPES.topology)[0];
        expect(topology.inputs).toMatchObject({ sourceIndex: 1 });
        expect((topology.inputs.servers as { name: string }[]).map((s) => s.name))
            .toEqual(["mysql-replicas-dev-server-0", "mysql-replicas-dev-server-1", "mysql-replicas-dev-server-2"]);
        // The switchover comes first: replication, roles and accounts wait for it.
        for (const r of [...ofType(one, TYPES.replication), ...ofType(one, TYPES.serverRole), ...ofType(one, TYPES.sqlUser), ...ofType(one, TYPES.sqlGrant)]) {
            expect(r.dependencies).toContain(topology.urn);
        }
        expect(isSecret(topology.inputs.adminPassword)).toBe(true);
        expect(isSecret(topology.inputs.password)).toBe(true);
        expect(topology.inputs.allowFailover).toBe(false);
    });

    test("after a forced failover: allowFailover reaches the topology; a left-out server is left alone, serves no reads, and is an output", async () => {
        const reason = "did not answer when server 1 was promoted";
        const run = await program({ replicaCount: "2", sourceIndex: "1", allowFailover: "true" },
            { extraState: { [TYPES.topology]: { leftOut: { 0: reason } } } });
        expect(ofType(run, TYPES.topology)[0].inputs.allowFailover).toBe(true);
        const byServer = (type: string, index: number) => ofType(run, type).find((r) => r.name.startsWith(`lab-server-${index}-`))!;
        expect(byServer(TYPES.replication, 0).inputs.leftOut).toBe(reason);
        expect(byServer(TYPES.serverRole, 0).inputs.leftOut).toBe(reason);
        expect(byServer(TYPES.replication, 2).inputs.leftOut).toBe("");
        expect(byServer(TYPES.serverRole, 2).inputs.leftOut).toBe("");
        const proxy = ofType(run, TYPES.container).find((c) => c.name === "lab-read-container")!;
        const content = (proxy.inputs.uploads as { content: string }[])[0].content;
        expect(content.split("\n").filter((l) => l.trim().startsWith("server "))).toEqual([
            "    server mysql-replicas-dev-server-2 mysql-replicas-dev-server-2:3306 check",
            "    server mysql-replicas-dev-server-1 mysql-replicas-dev-server-1:3306 check backup",
        ]);
        expect(run.outputs.leftOut).toEqual({ 0: reason });
    });
});

test("a delayed replica: its Replication carries the delay, and the read endpoint leaves it out unless serveReads", async () => {
    const run = await program({ replicaCount: "3", replicas: JSON.stringify({ 2: { delaySeconds: 3600 }, 3: { delaySeconds: 60, serveReads: true } }) });
    const delays = Object.fromEntries(ofType(run, TYPES.replication).map((r) => [r.name, r.inputs.delaySeconds]));
    expect(delays).toEqual({ "lab-server-1-replication": 0, "lab-server-2-replication": 3600, "lab-server-3-replication": 60 });
    const proxy = ofType(run, TYPES.container).find((c) => c.name === "lab-read-container")!;
    const content = (proxy.inputs.uploads as { content: string }[])[0].content;
    expect(content.split("\n").filter((l) => l.trim().startsWith("server ")).map((l) => l.trim().split(" ")[1])).toEqual([
        "mysql-replicas-dev-server-1", "mysql-replicas-dev-server-3", "mysql-replicas-dev-server-0",
    ]);
});

test("seed and the replication timeout reach every replica's Replication, with root on the source as the donor", async () => {
    const defaults = await program({ replicaCount: "1" });
    expect(ofType(defaults, TYPES.replication).map((r) => [r.inputs.seed, r.inputs.timeoutSeconds])).toEqual([["auto", 300]]);
    const run = await program({ replicaCount: "2", seed: "snapshot", replicationTimeoutSeconds: "900" });
    for (const r of ofType(run, TYPES.replication)) {
        expect([r.inputs.seed, r.inputs.timeoutSeconds, r.inputs.donorUser]).toEqual(["snapshot", 900, "root"]);
        expect(isSecret(r.inputs.donorPassword)).toBe(true);
        expect(r.additionalSecretOutputs).toContain("donorPassword");
    }
});

test("semiSync and its timeout reach every server's role", async () => {
    const run = await program({ replicaCount: "1", semiSync: "true", semiSyncTimeoutMs: "1500" });
    for (const r of ofType(run, TYPES.serverRole)) expect([r.inputs.semiSync, r.inputs.semiSyncTimeoutMs]).toEqual([true, 1500]);
});

describe("secrets", () => {
    test("generated passwords stay secret in inputs and outputs", async () => {
        const run = await program({ replicaCount: "1" });
        expect(ofType(run, TYPES.password).map((p) => p.name).sort())
            .toEqual(["lab-app-app-password", "lab-app-monitor-password", "lab-appPassword", "lab-readonlyPassword", "lab-replicationPassword", "lab-rootPassword"]);
        for (const c of serverContainers(run)) expect(isSecret(c.inputs.envs)).toBe(true);
        for (const r of ofType(run, TYPES.replication)) {
            expect(isSecret(r.inputs.password)).toBe(true);
            expect(isSecret(r.inputs.adminPassword)).toBe(true);
            expect(r.additionalSecretOutputs).toEqual(expect.arrayContaining(["password", "adminPassword"]));
        }
        for (const u of labUsers(run, TYPES.sqlUser)) expect(isSecret(u.inputs.plaintextPassword)).toBe(true);
        for (const r of [...ofType(run, TYPES.sqlDatabase), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlGrant)]) {
            expect(isSecret(r.inputs.adminPassword)).toBe(true);
        }
        // No plain output carries a password.
        const plain = JSON.stringify({ ...run.outputs, appConnectionString: 0, readonlyConnectionStrings: 0, adminConnectionStrings: 0 });
        expect(plain).not.toContain("password");
        const admin = run.outputs.adminConnectionStrings as unknown[];
        expect(admin).toEqual([{ secret: expect.stringMatching(/^mysql:\/\/root:.+@127\.0\.0\.1:13306\/app$/) },
            { secret: expect.stringMatching(/^mysql:\/\/root:.+@127\.0\.0\.1:13307\/app$/) }]);
        expect(run.outputs.roles).toEqual(["source", "replica"]);
        expect(run.outputs.serverNames).toEqual(["mysql-replicas-dev-server-0", "mysql-replicas-dev-server-1"]);
    });

    test("passwords are URL-encoded in connection strings", async () => {
        const run = await program({}, { secrets: { appPassword: "a@b/c:d%41" } });
        const url = (run.outputs.appConnectionString as { secret: string }).secret;
        expect(url).toBe("mysql://app:a%40b%2Fc%3Ad%2541@127.0.0.1:13306/app");
        expect(decodeURIComponent(new URL(url).password)).toBe("a@b/c:d%41");
    });

    test("passwords from config are used and kept secret; only the demo app's own are generated", async () => {
        const secrets = { rootPassword: "r00t-pw", replicationPassword: "repl-pw", appPassword: "app-pw", readonlyPassword: "ro-pw" };
        const run = await program({}, { secrets });
        expect(ofType(run, TYPES.password).map((p) => p.name).sort()).toEqual(["lab-app-app-password", "lab-app-monitor-password"]);
        expect(reveal<string[]>(serverContainers(run)[0].inputs.envs)).toContain("MYSQL_ROOT_PASSWORD=r00t-pw");
        expect(reveal(ofType(run, TYPES.replication)[0].inputs.password)).toBe("repl-pw");
        expect(run.outputs.appConnectionString).toEqual({ secret: "mysql://app:app-pw@127.0.0.1:13306/app" });
        // Nothing but secret wrappers holds them.
        for (const r of run.registrations) {
            const visible = JSON.stringify(r.inputs, (k, v) => (isSecret(v) ? "<secret>" : k === "__provider" ? "<provider>" : v));
            for (const pw of Object.values(secrets)) expect(visible).not.toContain(pw);
        }
    });
});

describe("dependencies", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await program({ replicaCount: "2" });
    });

    test("each Replication depends on its replica, the source and the replication grant", () => {
        const source = named(run, TYPES.container, "lab-server-0-container");
        const grant = named(run, TYPES.sqlGrant, "lab-accounts-replication-grant");
        for (const i of [1, 2]) {
            const replication = named(run, TYPES.replication, `lab-server-${i}-replication`);
            const replica = named(run, TYPES.container, `lab-server-${i}-container`);
            expect(replication.dependencies).toEqual(expect.arrayContaining([replica.urn, source.urn, grant.urn]));
            expect(replication.deletedWith).toBe(replica.urn);
            expect(replication.inputs).toMatchObject({ sourceHost: "mysql-replicas-dev-server-0", sourcePort: 3306,
                adminHost: "127.0.0.1", adminPort: 13306 + i, sourceProbePort: 13306, user: "repl", connectRetry: 2 });
        }
    });

    test("a replica's role is applied after its replication", () => {
        const replication = named(run, TYPES.replication, "lab-server-1-replication");
        expect(named(run, TYPES.serverRole, "lab-server-1-role").dependencies).toContain(replication.urn);
    });

    test("accounts go with the source: deletedWith its container", () => {
        const source = named(run, TYPES.container, "lab-server-0-container");
        const accounts = [...ofType(run, TYPES.sqlDatabase), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlGrant)];
        // The lab's database, four users and three grants; the demo app's two users, three grants and two tables.
        expect(accounts).toHaveLength(1 + 4 + 3 + 2 + 3);
        accounts.push(...ofType(run, "pulumi-nodejs:dynamic/sql:Table"), ...ofType(run, "pulumi-nodejs:dynamic/sql:DesiredTopology"));
        for (const r of accounts) expect(r.deletedWith).toBe(source.urn);
    });

    test("every resource has a parent inside the lab component", () => {
        const lab = run.registrations.find((r) => r.type === "mysqllab:index:MysqlLab")!;
        for (const r of run.registrations.filter((x) => x !== lab)) {
            let parent = byUrn(run, r.parent);
            while (parent && parent !== lab) parent = byUrn(run, parent.parent);
            expect([r.name, parent?.name]).toEqual([r.name, "lab"]);
        }
    });
});

describe("flavors", () => {
    test("both flavors declare the lab's own SQL resources with the same grants, and nothing of @pulumi/mysql", async () => {
        const [mysqlRun, mariaRun] = await Promise.all([
            program({ image: "mysql:8.4" }),
            program({ image: "mariadb:11.4" }),
        ]);
        const accounts = (run: ProgramRun) => ({
            foreign: run.registrations.filter((x) => /^(mysql:|pulumi:providers:mysql)/.test(x.type)).map((x) => x.type),
            database: ofType(run, TYPES.sqlDatabase).map((d) => d.inputs.name),
            users: labUsers(run, TYPES.sqlUser).map((u) => `${u.inputs.user}@${u.inputs.host}`).sort(),
            grants: ofLabAccounts(run, TYPES.sqlGrant)
                .map((g) => `${g.inputs.user}@${g.inputs.host} ${[...(g.inputs.privileges as string[])].sort().join(",")} ON ${g.inputs.database}.${g.inputs.table}`)
                .sort(),
        });
        expect(accounts(mariaRun)).toEqual(accounts(mysqlRun));
        expect(accounts(mysqlRun)).toEqual({
            foreign: [],
            database: ["app"],
            users: ["app@%", "reader@%", "repl@%"],
            grants: ["app@% ALL PRIVILEGES ON app.*", "reader@% SELECT ON app.*", "repl@% REPLICATION CLIENT,REPLICATION SLAVE ON *.*"],
        });
    });

    test("grants: replication privileges only for repl, all on the app database for app, SELECT for reader", () => {
        const plan = Object.fromEntries(accountPlan("shop").map((a) => [a.user, `${a.privileges.join(",")} ON ${a.database}`]));
        expect(plan).toEqual({ repl: "REPLICATION CLIENT,REPLICATION SLAVE ON *", app: "ALL PRIVILEGES ON shop", reader: "SELECT ON shop" });
    });

    test("MariaDB servers get MariaDB options and environment", async () => {
        const run = await program({ image: "mariadb:10.11" });
        const c = serverContainers(run)[0];
        expect(c.inputs.command).toContain("--gtid-strict-mode=ON");
        expect(reveal<string[]>(c.inputs.envs)[0]).toMatch(/^MARIADB_ROOT_PASSWORD=/);
        expect((c.inputs.healthcheck as { tests: string[] }).tests[1]).toBe("mariadb-admin");
        // MariaDB cannot fence root (READ_ONLY ADMIN): it starts from --read-only=ON alone.
        expect(c.inputs.uploads ?? []).toEqual([]);
        // Its servers initialise themselves, in parallel: no data template, no copies.
        expect([...ofType(run, TYPES.dataTemplate), ...ofType(run, TYPES.dataCopy)]).toEqual([]);
    });

    test("one data template per lab, initialised with the fence (MySQL) and the root password as a secret; each server starts on a copy", async () => {
        const run = await program({ image: "mysql:9.7", replicaCount: "2" });
        const [template, ...more] = ofType(run, TYPES.dataTemplate);
        expect(more).toEqual([]);
        expect(template.inputs.volumeName).toBe("mysql-replicas-dev-template");
        expect((template.inputs.initFiles as { file: string; content: string }[]).map((f) => f.file))
            .toEqual(["/docker-entrypoint-initdb.d/mysql-replicas-fence.sql"]);
        expect(isSecret(template.inputs.env)).toBe(true);
        expect(template.additionalSecretOutputs).toContain("env");
        // No server's id: the template never replicates.
        expect(template.inputs.command).toContain("--server-id=4294967295");
        const copies = ofType(run, TYPES.dataCopy);
        expect(copies.map((c) => c.inputs.volumeName)).toEqual([0, 1, 2].map((i) => `mysql-replicas-dev-server-${i}-data`));
        for (const [i, c] of serverContainers(run).entries()) {
            expect(copies[i].inputs.templateVolume).toBe("mysql-replicas-dev-template");
            expect(c.dependencies).toContain(copies[i].urn);
            // The fence comes with the copy: the container itself uploads nothing, so its first start is fenced already.
            expect(c.inputs.uploads ?? []).toEqual([]);
        }
    });
});

describe("config errors stop the program before any resource is declared", () => {
    test.each([
        [{ replicaCount: "-1" }, /mysql-replicas:replicaCount: "-1" is not allowed; expected an integer from 0 to 9/],
        [{ replicaCount: "10" }, /mysql-replicas:replicaCount: "10"/],
        [{ basePort: "65530", replicaCount: "9" }, /ports 65530\.\.65539 must stay within 1\.\.65535/],
        [{ bindAddress: "my-laptop" }, /mysql-replicas:bindAddress: "my-laptop" is not allowed; expected an IPv4 or IPv6 address/],
        [{ flavor: "sqlite" }, /mysql-replicas:flavor: "sqlite" is not allowed; expected auto, mysql or mariadb/],
        [{ pullImage: "maybe" }, /mysql-replicas:pullImage: "maybe" is not allowed; expected true or false/],
        [{ replicCount: "2" }, /mysql-replicas:replicCount: unknown key/],
    ])("%p", async (config, message) => {
        const run = await runProgram({ config: config as Record<string, string> });
        expect(run.error?.message).toMatch(message);
        expect(run.registrations).toHaveLength(0);
    });
});

describe("read endpoint", () => {
    test("an HAProxy container over the replicas, on bindAddress, after replication; the source as backup", async () => {
        const run = await program({ replicaCount: "2", readEndpointPort: "13399" });
        const proxy = ofType(run, TYPES.container).find((c) => c.name === "lab-read-container")!;
        expect(proxy.inputs).toMatchObject({ name: "mysql-replicas-dev-read", image: "sha256:mock-haproxy:2.8",
            ports: [{ internal: 3306, external: 13399, ip: "127.0.0.1", protocol: "tcp" }] });
        expect(proxy.deleteBeforeReplace).toBe(true);
        const [upload] = proxy.inputs.uploads as { file: string; content: string }[];
        expect(upload.file).toBe("/usr/local/etc/haproxy/haproxy.cfg");
        const servers = upload.content.split("\n").filter((l) => l.trim().startsWith("server "));
        expect(servers).toEqual([
            "    server mysql-replicas-dev-server-1 mysql-replicas-dev-server-1:3306 check",
            "    server mysql-replicas-dev-server-2 mysql-replicas-dev-server-2:3306 check",
            "    server mysql-replicas-dev-server-0 mysql-replicas-dev-server-0:3306 check backup",
        ]);
        // The default image is MySQL 8.4: the check logs in with caching_sha2_password, as a client would.
        expect(upload.content).toContain(`tcp-check send-binary ${checkLoginPacket("haproxy_check", "caching_sha2_password")} comment login`);
        expect(upload.content).not.toContain("mysql-check");
        // Names are looked up again at run time, through Docker's DNS only.
        expect(upload.content).toMatch(/^resolvers docker\n {4}nameserver docker 127\.0\.0\.11:53$/m);
        expect(upload.content).toMatch(/default-server .*resolvers docker/);
        expect(proxy.inputs.dns).toEqual(["127.0.0.1"]);
        for (const r of ofType(run, TYPES.replication)) expect(proxy.dependencies).toContain(r.urn);
        expect(run.outputs.readEndpoint).toBe("127.0.0.1:13399");
        // The check account: no password, no grant.
        const check = ofType(run, TYPES.sqlUser).find((u) => u.inputs.user === "haproxy_check")!;
        expect(reveal(check.inputs.plaintextPassword)).toBe("");
        expect(ofType(run, TYPES.sqlGrant).map((g) => g.inputs.user)).not.toContain("haproxy_check");
    });

    test("with 0 replicas the endpoint points at the source", async () => {
        const run = await program({ replicaCount: "0" });
        const proxy = ofType(run, TYPES.container).find((c) => c.name === "lab-read-container")!;
        const content = (proxy.inputs.uploads as { content: string }[])[0].content;
        expect(content.split("\n").filter((l) => l.trim().startsWith("server "))).toEqual([
            "    server mysql-replicas-dev-server-0 mysql-replicas-dev-server-0:3306 check backup",
        ]);
    });

    test.each([
        ["mariadb:11.4", "mysql_native_password"],
        ["mysql:5.7", "mysql_native_password"],
        ["mysql:9.7", "caching_sha2_password"],
    ])("on %s the check names the check account's plugin, %s", async (image, plugin) => {
        const run = await program({ image });
        const proxy = ofType(run, TYPES.container).find((c) => c.name === "lab-read-container")!;
        const content = (proxy.inputs.uploads as { content: string }[])[0].content;
        expect(content).toContain(checkLoginPacket("haproxy_check", plugin as CheckAuthPlugin));
    });

    test("readEndpoint=false declares no proxy and no check account", async () => {
        const run = await program({ readEndpoint: "false", image: "mariadb:11.4" });
        expect(ofType(run, TYPES.container).map((c) => c.name)).not.toContain("lab-read-container");
        expect(ofType(run, TYPES.sqlUser).map((u) => u.inputs.user)).not.toContain("haproxy_check");
        expect(run.outputs.readEndpoint).toBeNull();
    });
});

describe("demo app", () => {
    const app = (run: ProgramRun) => ofType(run, TYPES.container).find((c) => c.name === "lab-app-container");

    test("one container on the lab's network, published on bindAddress, its bundle uploaded from a file, its config secret", async () => {
        const run = await program({ replicaCount: "2" });
        const c = app(run)!;
        expect(c.inputs).toMatchObject({
            name: "mysql-replicas-dev-app", image: "sha256:mock-node:22-alpine", command: ["node", "/opt/mysql-replicas/app.js"],
            ports: [{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }], wait: true,
            healthcheck: { tests: ["CMD", "node", "/opt/mysql-replicas/app.js", "--health"] },
        });
        // The config file's content is a secret, which makes the whole list one.
        expect(isSecret(c.inputs.uploads)).toBe(true);
        const [bundle, config] = reveal<{ file: string; source?: string; sourceHash?: string; content?: string }[]>(c.inputs.uploads);
        // The bundle is a file the docker provider reads, not a string kept in state.
        expect(bundle.file).toBe("/opt/mysql-replicas/app.js");
        const code = fs.readFileSync(bundle.source!);
        expect(bundle.sourceHash).toBe(crypto.createHash("sha256").update(code).digest("hex"));
        expect(config.file).toBe("/etc/mysql-replicas/app.json");
        const parsed = JSON.parse(config.content!);
        expect(parsed.servers.map((s: { name: string }) => s.name)).toEqual([0, 1, 2].map((i) => `mysql-replicas-dev-server-${i}`));
        expect(parsed.readEndpoint.host).toBe("mysql-replicas-dev-read");
        expect([parsed.app.user, parsed.monitor.user]).toEqual(["demo_app", "demo_monitor"]);
        expect(JSON.stringify(parsed)).not.toMatch(/root/);
        expect(run.outputs.demoAppUrl).toBe("http://127.0.0.1:18080");
        // It starts once the read endpoint and every replication are in place.
        expect(c.dependencies).toContain(ofType(run, TYPES.container).find((x) => x.name === "lab-read-container")!.urn);
        for (const r of ofType(run, TYPES.replication)) expect(c.dependencies).toContain(r.urn);
    });

    test("a switchover changes nothing of its container; only the desired topology's rows", async () => {
        const [first, moved] = await Promise.all([program({ replicaCount: "2" }), program({ replicaCount: "2", sourceIndex: "1" })]);
        const inputs = (run: ProgramRun) => {
            const c = app(run)!;
            return { ...c.inputs, uploads: reveal(c.inputs.uploads) };
        };
        expect(inputs(moved)).toEqual(inputs(first));
        const desired = (run: ProgramRun) => ofType(run, "pulumi-nodejs:dynamic/sql:DesiredTopology")[0].inputs.servers;
        expect(desired(moved)).toEqual([
            { serverIndex: 0, role: "replica", delaySeconds: 0, leftOut: "" },
            { serverIndex: 1, role: "source", delaySeconds: 0, leftOut: "" },
            { serverIndex: 2, role: "replica", delaySeconds: 0, leftOut: "" },
        ]);
    });

    test.each([
        ["mysql:9.7", "REPLICATION CLIENT"],
        ["mariadb:11.8", "BINLOG MONITOR,SLAVE MONITOR"],
    ])("on %s its accounts may do only what the app needs: %s for the monitor", async (image, monitor) => {
        const run = await program({ image });
        const grants = ofType(run, TYPES.sqlGrant).filter((g) => g.parent.includes("mysqllab:index:DemoApp"))
            .map((g) => `${g.inputs.user} ${[...(g.inputs.privileges as string[])].sort().join(",")} ON ${g.inputs.database}.* only=${g.inputs.onlyGrant}`);
        expect(grants.sort()).toEqual([
            "demo_app INSERT,SELECT ON app.* only=true",
            `demo_monitor ${monitor} ON *.* only=false`,
            "demo_monitor SELECT ON mysql_replicas.* only=false",
        ]);
    });

    test("off: nothing of it is declared; off by default without a read endpoint", async () => {
        for (const config of [{ demoApp: "false" }, { readEndpoint: "false" }] as Record<string, string>[]) {
            const run = await program(config);
            expect(app(run)).toBeUndefined();
            expect(run.registrations.filter((r) => r.urn.includes("DemoApp"))).toEqual([]);
            expect(run.outputs.demoAppUrl).toBeNull();
        }
    });
});
