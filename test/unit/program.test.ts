/**
 * The real index.ts under Pulumi's mock runtime: what it declares for several replica counts, its servers and names, the source, and per-replica options.
 * (Three files, not one: each program run keeps memory that only a new jest worker gives back.)
 */
import { ProgramRun, Registration, TYPES, isSecret, ofType, reveal } from "../support/mocks/program";
import { labUsers, ofLabAccounts, program, serverContainers } from "../support/mocks/programQueries";

jest.setTimeout(60_000);

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

    test("containers keep a TCP health check, replace on healthcheck change, delete before replace, stop gracefully", () => {
        for (const c of serverContainers(run)) {
            // ServerReady waits for the server, not Docker's first health check an interval later.
            expect(c.inputs).toMatchObject({ wait: false, mustRun: true, destroyGraceSeconds: 60, restart: "unless-stopped" });
            expect(c.inputs.healthcheck).toMatchObject({ interval: "2s", startPeriod: "120s", tests: expect.arrayContaining(["--host=127.0.0.1"]) });
            expect(c.deleteBeforeReplace).toBe(true);
            expect(c.replaceOnChanges).toEqual(["healthcheck"]);
            expect(c.additionalSecretOutputs).toContain("envs");
        }
    });

    test("each server's ServerReady waits on its container at its published port, and what talks to the servers waits on those", () => {
        const readies = ofType(run, TYPES.serverReady);
        const containers = serverContainers(run);
        expect(readies).toHaveLength(containers.length);
        containers.forEach((c, i) => {
            const ready = readies.find((r) => r.name === `lab-server-${i}-ready`)!;
            expect(ready.inputs).toMatchObject({ serverName: c.inputs.name, adminHost: "127.0.0.2", adminPort: 20000 + i, timeoutSeconds: 300 });
            // The mocks give a container the id "<its name>-id".
            expect(ready.inputs.containerId).toBe(`${String(c.inputs.name)}-id`);
            expect(ready.dependencies).toContain(c.urn);
        });
        const topology = ofType(run, TYPES.topology)[0];
        for (const r of readies) expect(topology.dependencies).toContain(r.urn);
        const sourceRole = ofType(run, TYPES.serverRole).find((r) => r.inputs.role === "source")!;
        expect(sourceRole.dependencies).toContain(readies[0].urn);
        for (const r of ofType(run, TYPES.replication)) {
            const index = r.name.split("-")[2];
            expect(r.dependencies).toEqual(expect.arrayContaining([readies[0].urn, readies.find((x) => x.name === `lab-server-${index}-ready`)!.urn]));
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
