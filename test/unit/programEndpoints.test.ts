/**
 * The real index.ts under Pulumi's mock runtime: config errors, the read endpoint and the demo app.
 * (Three files, not one: each program run keeps memory that only a new jest worker gives back.)
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { type CheckAuthPlugin, checkLoginPacket } from "../../components/readEndpoint";
import { ProgramRun, TYPES, isSecret, ofType, reveal, runProgram } from "../support/mocks/program";
import { program } from "../support/mocks/programQueries";

jest.setTimeout(60_000);

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
    /** The app container's inputs, its uploads revealed: what would replace it if they changed. */
    const appInputs = (run: ProgramRun) => {
        const c = app(run)!;
        return { ...c.inputs, uploads: reveal(c.inputs.uploads) };
    };
    const desiredServers = (run: ProgramRun) => ofType(run, "pulumi-nodejs:dynamic/sql:DesiredTopology")[0].inputs.servers as unknown[];

    test("one container on the lab's network, published on bindAddress, its bundle uploaded from a file, its config secret", async () => {
        const run = await program({ replicaCount: "2" });
        const c = app(run)!;
        expect(c.inputs).toMatchObject({
            name: "mysql-replicas-dev-app", image: "sha256:mock-node:22-alpine", command: ["node", "/opt/mysql-replicas/app.js"],
            ports: [{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }], wait: true,
            healthcheck: { tests: ["CMD", "sh", "-c", expect.stringContaining("/tmp/mysql-replicas-app.alive")] },
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
        expect([parsed.serverHost, parsed.serverPort]).toEqual(["mysql-replicas-dev-server-{index}", 3306]);
        expect(ofType(run, TYPES.container).filter((x) => x.name.includes("-server-")).map((x) => x.inputs.name))
            .toEqual([0, 1, 2].map((i) => parsed.serverHost.replace("{index}", String(i))));
        expect(parsed.readEndpoint.host).toBe("mysql-replicas-dev-read");
        expect([parsed.app.user, parsed.monitor.user]).toEqual(["demo_app", "demo_monitor"]);
        expect(JSON.stringify(parsed)).not.toMatch(/root/);
        expect(run.outputs.demoAppUrl).toBe("http://127.0.0.1:18080");
        // It starts beside the servers, not after its accounts, the replications or the read endpoint:
        // it polls until they are there, and its check's failures until then do not count.
        const labResources = [...ofType(run, TYPES.sqlGrant), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.replication),
            ...ofType(run, TYPES.container).filter((x) => x.name !== "lab-app-container")];
        expect(labResources.length).toBeGreaterThan(10);
        for (const r of labResources) expect(c.dependencies).not.toContain(r.urn);
        expect((c.inputs.healthcheck as { startPeriod: string }).startPeriod).toBe("300s");
        expect(c.inputs.waitTimeout).toBe(300);
    });

    test("a scale-up changes nothing of its container; only the desired topology's rows", async () => {
        const [first, more] = await Promise.all([program({ replicaCount: "2" }), program({ replicaCount: "3" })]);
        expect(appInputs(more)).toEqual(appInputs(first));
        expect([desiredServers(first).length, desiredServers(more).length]).toEqual([3, 4]);
    });

    test("a switchover changes nothing of its container; only the desired topology's rows", async () => {
        const [first, moved] = await Promise.all([program({ replicaCount: "2" }), program({ replicaCount: "2", sourceIndex: "1" })]);
        expect(appInputs(moved)).toEqual(appInputs(first));
        expect(desiredServers(moved)).toEqual([
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
