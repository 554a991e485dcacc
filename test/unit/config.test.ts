import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError, DEFAULTS, MAX_REPLICAS, imageTagVersion, inferFlavor, parseConfig } from "../../components/config";

function problems(raw: Record<string, string>): string[] {
    try {
        parseConfig(raw);
    } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems;
    }
    throw new Error(`config ${JSON.stringify(raw)} was accepted`);
}

describe("parseConfig", () => {
    test("defaults give a MySQL 9.7 (LTS) source and two replicas on loopback", () => {
        const s = parseConfig({});
        expect(s).toMatchObject({ replicaCount: 2, image: "mysql:9.7", flavor: "mysql", imageVersion: "9.7", pullImage: true,
            database: "app", bindAddress: "127.0.0.1", basePort: 13306 });
        expect(s.servers.map((x) => [x.index, x.role, x.serverId, x.hostPort])).toEqual([
            [0, "source", 1, 13306], [1, "replica", 2, 13307], [2, "replica", 3, 13308],
        ]);
    });

    test.each([0, 1, 3, MAX_REPLICAS])("replicaCount %i gives one source and that many replicas with unique ids", (n) => {
        const s = parseConfig({ replicaCount: String(n) });
        expect(s.servers).toHaveLength(n + 1);
        expect(s.servers.filter((x) => x.role === "source")).toHaveLength(1);
        expect(new Set(s.servers.map((x) => x.serverId)).size).toBe(n + 1);
        expect(s.servers.every((x) => x.serverId > 0)).toBe(true);
        expect(new Set(s.servers.map((x) => x.hostPort)).size).toBe(n + 1);
    });

    test.each([
        ["replicaCount", "-1", "an integer from 0 to 9"],
        ["replicaCount", "10", "an integer from 0 to 9"],
        ["replicaCount", "two", "an integer from 0 to 9"],
        ["replicaCount", "1.5", "an integer from 0 to 9"],
        ["basePort", "0", "an integer from 1 to 65535"],
        ["basePort", "70000", "an integer from 1 to 65535"],
        ["bindAddress", "localhost", "an IPv4 or IPv6 address"],
        ["bindAddress", "300.1.1.1", "an IPv4 or IPv6 address"],
        ["flavor", "postgres", "auto, mysql or mariadb"],
        ["pullImage", "yes", "true or false"],
        ["allowFailover", "1", "true or false"],
        ["semiSync", "on", "true or false"],
        ["semiSyncTimeoutMs", "0", "an integer from 1 to 3600000"],
        ["database", "my-db", "letters, digits or underscores"],
        ["database", "mysql", "not a system schema"],
        ["image", "MySQL 8", "a Docker image reference"],
        ["connectRetrySeconds", "0", "an integer from 1 to 3600"],
        ["seed", "clone", "auto, binlog or snapshot"],
        ["replicationTimeoutSeconds", "5", "an integer from 10 to 86400"],
        ["demoApp", "on", "true or false"],
        ["demoAppPort", "0", "an integer from 1 to 65535"],
        ["demoAppImage", "Node 22", "a Docker image reference"],
    ])("%s = %p is refused, naming the key, the value and what is allowed", (key, value, allowed) => {
        const found = problems({ [key]: value });
        expect(found).toHaveLength(1);
        expect(found[0]).toContain(`mysql-replicas:${key}`);
        expect(found[0]).toContain(JSON.stringify(value));
        expect(found[0]).toContain(allowed);
    });

    test("sourceIndex names the source; names, ports and server ids never depend on it", () => {
        const s = parseConfig({ sourceIndex: "2" });
        expect(s.sourceIndex).toBe(2);
        expect(s.servers.map((x) => [x.index, x.role, x.serverId, x.hostPort])).toEqual([
            [0, "replica", 1, 13306], [1, "replica", 2, 13307], [2, "source", 3, 13308],
        ]);
        expect(parseConfig({}).sourceIndex).toBe(0);
    });

    test("replicas: a delay and serveReads per server index, as `pulumi config set --path` writes them", () => {
        const s = parseConfig({ replicas: JSON.stringify({ 2: { delaySeconds: 3600 }, 1: { delaySeconds: 5, serveReads: true } }) });
        expect(s.servers.map((x) => [x.index, x.delaySeconds, x.serveReads])).toEqual([[0, 0, false], [1, 5, true], [2, 3600, false]]);
    });

    test.each([
        ['{"3": {"delaySeconds": 1}}', 'mysql-replicas:replicas["3"]: "3" is not allowed; expected a server index from 0 to 2'],
        ['{"x": {}}', 'mysql-replicas:replicas["x"]: "x" is not allowed; expected a server index from 0 to 2'],
        ['{"1": {"delaySeconds": -5}}', 'mysql-replicas:replicas["1"].delaySeconds: -5 is not allowed; expected an integer from 0 to 604800'],
        ['{"1": {"delaySeconds": "60"}}', 'mysql-replicas:replicas["1"].delaySeconds: "60" is not allowed; expected an integer from 0 to 604800'],
        ['{"1": {"delay": 60}}', 'mysql-replicas:replicas["1"].delay: unknown key; expected one of delaySeconds, serveReads'],
        ['{"1": {"serveReads": "yes"}}', 'mysql-replicas:replicas["1"].serveReads: "yes" is not allowed; expected true or false'],
        ['{"1": 5}', 'mysql-replicas:replicas["1"]: 5 is not allowed; expected an object with delaySeconds and/or serveReads'],
        ['[1]', 'mysql-replicas:replicas: "[1]" is not allowed; expected an object such as {"2": {"delaySeconds": 3600}}'],
        ['{"0": {"delaySeconds": 10}}', 'mysql-replicas:replicas["0"].delaySeconds: 10 is not allowed; server 0 is the source (sourceIndex), and a source cannot be delayed: remove its delay in one up, then move the source'],
    ])("replicas %s is refused, naming the path, the value and what is allowed", (replicas, message) => {
        expect(problems({ replicas })).toEqual([message]);
    });

    test("semiSync without a replica is refused", () => {
        expect(problems({ semiSync: "true", replicaCount: "0" })).toEqual([
            "mysql-replicas:semiSync: true is not allowed with replicaCount 0; semi-synchronous replication needs a replica to acknowledge",
        ]);
    });

    test("allowFailover is off unless set", () => {
        expect(parseConfig({}).allowFailover).toBe(false);
        expect(parseConfig({ allowFailover: "true" }).allowFailover).toBe(true);
    });

    test.each([["3", "2"], ["-1", "2"], ["1.5", "2"], ["1", "0"]])("sourceIndex %s with replicaCount %s is refused, naming the key", (sourceIndex, replicaCount) => {
        expect(problems({ sourceIndex, replicaCount })).toEqual([
            `mysql-replicas:sourceIndex: ${JSON.stringify(sourceIndex)} is not allowed; expected an integer from 0 to ${replicaCount}`,
        ]);
    });

    test("a port range leaving 1..65535 is refused", () => {
        const [p] = problems({ basePort: "65534", replicaCount: "3" });
        expect(p).toMatch(/mysql-replicas:basePort: 65534 is not allowed with replicaCount 3; ports 65534\.\.65537 must stay within 1\.\.65535/);
    });

    test("every bad key is reported at once", () => {
        expect(problems({ replicaCount: "-1", bindAddress: "nowhere", flavor: "oracle" })).toHaveLength(3);
    });

    test("a misspelt key is reported, not ignored", () => {
        const [p] = problems({ replicaCnt: "3" });
        expect(p).toContain("mysql-replicas:replicaCnt: unknown key");
        expect(p).toContain("replicaCount");
    });

    test("auto flavor that cannot be inferred asks for flavor", () => {
        const [p] = problems({ image: "registry.local/db:1" });
        expect(p).toContain("mysql-replicas:flavor");
        expect(p).toContain("registry.local/db:1");
        expect(p).toContain("mysql or mariadb");
        expect(parseConfig({ image: "registry.local/db:1", flavor: "mariadb" }).flavor).toBe("mariadb");
    });

    test("read endpoint port must not collide with a server port", () => {
        const [p] = problems({ basePort: "20000", replicaCount: "2", readEndpointPort: "20002" });
        expect(p).toContain("mysql-replicas:readEndpointPort");
    });

    test("the demo app is on with the read endpoint, off without it unless asked for, and then refused", () => {
        expect(parseConfig({})).toMatchObject({ demoApp: true, demoAppPort: 18080, demoAppImage: "node:22-alpine" });
        expect(parseConfig({ readEndpoint: "false" }).demoApp).toBe(false);
        expect(parseConfig({ demoApp: "false" }).demoApp).toBe(false);
        const [p] = problems({ readEndpoint: "false", demoApp: "true" });
        expect(p).toContain("mysql-replicas:demoApp");
        expect(p).toContain("readEndpoint");
    });

    test("the demo app's port must not collide with a server port or the read endpoint's", () => {
        expect(problems({ basePort: "20000", demoAppPort: "20001" })[0]).toContain("mysql-replicas:demoAppPort: 20001");
        expect(problems({ readEndpointPort: "18080" })[0]).toContain("readEndpointPort too");
        expect(parseConfig({ demoApp: "false", readEndpointPort: "18080" }).readEndpointPort).toBe(18080);
    });

    test("IPv6 bind addresses are accepted", () => {
        expect(parseConfig({ bindAddress: "::1" }).bindAddress).toBe("::1");
    });
});

describe("image names", () => {
    test.each([
        ["mysql:8.4", "mysql", "8.4"],
        ["mysql:8.0.22", "mysql", "8.0.22"],
        ["mysql:5.7", "mysql", "5.7"],
        ["mysql", "mysql", undefined],
        ["mariadb:11.4", "mariadb", "11.4"],
        ["mysql-replicas/mariadb:10.11", "mariadb", "10.11"],
        ["percona/percona-server:8.0", "mysql", "8.0"],
        ["localhost:5000/mysql:8.4-oracle", "mysql", "8.4"],
        ["mariadb@sha256:" + "a".repeat(64), "mariadb", undefined],
    ])("%s is %s, version %p", (image, flavor, version) => {
        expect(inferFlavor(image)).toBe(flavor);
        expect(imageTagVersion(image)).toBe(version);
    });
});

test("Pulumi.yaml declares every key with the defaults the program applies", () => {
    const project = parse(fs.readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8"));
    expect(project.name).toBe("mysql-replicas");
    for (const [key, value] of Object.entries(DEFAULTS)) {
        expect([key, project.config[key]?.default]).toEqual([key, value]);
    }
    for (const key of ["rootPassword", "replicationPassword", "appPassword", "readonlyPassword"]) {
        expect(project.config[key]).toMatchObject({ type: "string", secret: true });
        expect(project.config[key].default).toBeUndefined();
    }
});
