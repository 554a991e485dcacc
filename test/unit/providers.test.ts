/**
 * The dynamic providers as the engine runs them: loaded from the `__provider` text that Pulumi
 * serialized under mocks. Behaviour against servers is in test/integration; here, what needs none.
 */
import { ProgramRun, TYPES, ofType, runProgram } from "../support/mocks/program";
import { LoadedProvider, loadSerializedProvider } from "../support/mocks/serializedProvider";

jest.setTimeout(60_000);

let mariadb: ProgramRun;
const providerOf = (type: string): LoadedProvider => loadSerializedProvider(ofType(mariadb, type)[0].inputs.__provider as string);

beforeAll(async () => {
    mariadb = await runProgram({ config: { image: "mariadb:11.4", replicaCount: "1" } });
    if (mariadb.error) throw mariadb.error;
});

test.each([TYPES.replication, TYPES.serverRole, TYPES.sqlDatabase, TYPES.sqlUser, TYPES.sqlGrant])(
    "%s: the serialized provider loads as a module and exposes its methods", (type) => {
        const text = ofType(mariadb, type)[0].inputs.__provider as string;
        expect(text).toContain("exports.handler");
        // mysql2 is required inside the methods, never captured as a module object.
        expect(text).toContain('require("mysql2/promise")');
        const provider = providerOf(type);
        for (const method of ["diff", "create", "read", "update", "delete"] as const) {
            expect(typeof provider[method]).toBe("function");
        }
    });

test("no password is captured in a provider's text", () => {
    for (const r of mariadb.registrations.filter((x) => typeof x.inputs.__provider === "string")) {
        expect(r.inputs.__provider).not.toMatch(/mock-lab-\w+-password/);
    }
});

const replicationOuts = {
    replicaName: "r1", adminHost: "127.0.0.1", adminPort: 13307, replicaInstance: "c1", adminUser: "root", adminPassword: "a",
    sourceHost: "server-0", sourcePort: 3306, sourceProbeHost: "127.0.0.1", sourceProbePort: 13306, user: "repl", password: "p",
    connectRetry: 2, retryCount: 86400, timeoutSeconds: 120,
    ioRunning: "Yes", sqlRunning: "Yes", actualSourceHost: "server-0", actualSourcePort: 3306,
    secondsBehind: 0, lastIoError: "", lastSqlError: "", serverVersion: "mariadb 11.4.2",
};
const inputsOf = (o: Record<string, unknown>) => {
    const copy = { ...o };
    for (const k of ["ioRunning", "sqlRunning", "actualSourceHost", "actualSourcePort", "secondsBehind", "lastIoError", "lastSqlError", "serverVersion"]) delete copy[k];
    return copy;
};

describe("Replication diff", () => {
    const diff = (olds: Record<string, unknown>, news: Record<string, unknown>) => providerOf(TYPES.replication).diff("id", olds, news);

    test("nothing changed, replicating as declared: no change", async () => {
        expect(await diff(replicationOuts, inputsOf(replicationOuts))).toMatchObject({ changes: false, replaces: [] });
    });
    test.each([["sourceHost", "server-2"], ["password", "new"], ["connectRetry", 5], ["replicaInstance", "c2"]])(
        "%s changed: re-point in place", async (key, value) => {
            expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), [key]: value })).toMatchObject({ changes: true, replaces: [] });
        });
    test.each([["replicaName", "r1-renamed"], ["timeoutSeconds", 30], ["adminPassword", "b"], ["seed", "snapshot"], ["donorPassword", "d"]])(
        "%s changed: recorded by an update (which leaves replication alone)", async (key, value) => {
            expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), [key]: value })).toMatchObject({ changes: true, replaces: [] });
        });
    test("a different replica endpoint: replace", async () => {
        expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), adminPort: 13309 }))
            .toMatchObject({ changes: true, replaces: ["adminPort"], deleteBeforeReplace: true });
    });
    test("state an earlier version wrote (replicaHost/replicaPort) is the same replica: no change", async () => {
        const { adminHost, adminPort, ...rest } = replicationOuts;
        const older = { ...rest, replicaHost: adminHost, replicaPort: adminPort };
        expect(await diff(older, inputsOf(replicationOuts))).toMatchObject({ changes: false, replaces: [] });
        expect(await diff(older, { ...inputsOf(replicationOuts), adminPort: 13309 })).toMatchObject({ replaces: ["adminPort"] });
    });
    test.each([
        [{ ioRunning: "No" }], [{ sqlRunning: "No" }], [{ ioRunning: "unreachable" }],
        [{ actualSourceHost: "elsewhere" }], [{ actualSourceHost: "", actualSourcePort: 0 }],
    ])("drift found by read (%p) is repaired by the next up", async (drift) => {
        expect(await diff({ ...replicationOuts, ...drift }, inputsOf(replicationOuts))).toMatchObject({ changes: true, replaces: [] });
    });
    test("a delay: changing it re-points in place; state from before delays is no change; a delay found different is drift", async () => {
        expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), delaySeconds: 0 })).toMatchObject({ changes: false });
        expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), delaySeconds: 60 })).toMatchObject({ changes: true, replaces: [] });
        const delayed = { ...replicationOuts, delaySeconds: 60, actualDelaySeconds: 60 };
        expect(await diff(delayed, { ...inputsOf(replicationOuts), delaySeconds: 60 })).toMatchObject({ changes: false });
        expect(await diff({ ...delayed, actualDelaySeconds: 0 }, { ...inputsOf(replicationOuts), delaySeconds: 60 })).toMatchObject({ changes: true, replaces: [] });
    });
    test("left out: recorded without contacting the replica, no drift while out; rejoined: an update", async () => {
        const out = { ...inputsOf(replicationOuts), adminPort: 1, leftOut: "holds transactions the source lacks: u:7" };
        const { outs } = await providerOf(TYPES.replication).create!(out);
        expect(outs).toMatchObject({ ioRunning: "left out", sqlRunning: "left out", lastIoError: out.leftOut });
        expect(await diff(outs, out)).toMatchObject({ changes: false });
        expect((await providerOf(TYPES.replication).read!("id", outs)).props).toEqual(outs);
        expect(await diff(outs, { ...out, leftOut: "" })).toMatchObject({ changes: true, replaces: [] });
    });
    test("state from before seeding existed reads as seed auto with root as the donor: no change", async () => {
        expect(await diff(replicationOuts, { ...inputsOf(replicationOuts), seed: "auto", donorUser: "root", donorPassword: "" }))
            .toMatchObject({ changes: false });
    });
    test("check names every bad input and never echoes a password", async () => {
        const result = await providerOf(TYPES.replication).check!({}, { ...inputsOf(replicationOuts), adminPort: 0, password: "", connectRetry: 0, seed: "clone" });
        expect(result.failures!.map((f) => f.property).sort()).toEqual(["adminPort", "connectRetry", "password", "seed"]);
        expect(result.failures!.find((f) => f.property === "seed")?.reason).toBe('seed must be one of auto, binlog, snapshot, got "clone"');
        expect(JSON.stringify(result.failures)).toContain("<secret>");
    });
});

describe("Topology", () => {
    const servers = [0, 1, 2].map((i) => ({ name: `s${i}`, adminHost: "127.0.0.1", adminPort: 13306 + i }));
    const outs = { servers, sourceIndex: 0, adminUser: "root", adminPassword: "a", user: "repl", password: "p", connectRetry: 2,
        retryCount: 86400, timeoutSeconds: 60, lastChange: "created" };
    const { lastChange: _l, ...inputs } = outs;
    const provider = () => providerOf(TYPES.topology);

    test("a new source or more servers is an update, never a replacement", async () => {
        expect(await provider().diff("topology", outs, inputs)).toMatchObject({ changes: false, replaces: [] });
        expect(await provider().diff("topology", outs, { ...inputs, sourceIndex: 1 })).toMatchObject({ changes: true, replaces: [] });
        expect(await provider().diff("topology", outs, { ...inputs, servers: [...servers, { name: "s3", adminHost: "127.0.0.1", adminPort: 13309 }] }))
            .toMatchObject({ changes: true, replaces: [] });
    });
    test("check refuses a sourceIndex naming no server, and an allowFailover that is not a boolean", async () => {
        const result = await provider().check!({}, { ...inputs, sourceIndex: 3, allowFailover: "yes" });
        expect(result.failures).toEqual([
            { property: "sourceIndex", reason: "sourceIndex must be a server index from 0 to 2, got 3" },
            { property: "allowFailover", reason: "allowFailover must be true or false, got \"yes\"" },
        ]);
    });
    test("allowFailover missing from older state is false: no change; a left-out server keeps every up looking at it", async () => {
        expect(await provider().diff("topology", outs, { ...inputs, allowFailover: false })).toMatchObject({ changes: false });
        expect(await provider().diff("topology", outs, { ...inputs, allowFailover: true })).toMatchObject({ changes: true, replaces: [] });
        expect(await provider().diff("topology", { ...outs, leftOut: { 0: "did not answer" } }, inputs)).toMatchObject({ changes: true, replaces: [] });
        expect(await provider().diff("topology", { ...outs, leftOut: {} }, inputs)).toMatchObject({ changes: false });
    });
    test("a move to a left-out server is refused before any server is contacted", async () => {
        const servers404 = servers.map((s) => ({ ...s, adminPort: 1 }));
        await expect(provider().update!("topology", { ...outs, servers: servers404, leftOut: { 1: "did not answer" } },
            { ...inputs, servers: servers404, sourceIndex: 1 }))
            .rejects.toThrow("sourceIndex 0 -> 1: refused, nothing was changed: server 1 (s1) is left out of replication (did not answer)");
    });
});

describe("ServerRole diff", () => {
    const outs = { serverName: "s0", adminHost: "127.0.0.1", adminPort: 13306, adminUser: "root", adminPassword: "a", role: "source",
        readOnly: false, superReadOnly: false, persisted: true };
    const diff = (olds: Record<string, unknown>, news: Record<string, unknown>) => providerOf(TYPES.serverRole).diff("id", olds, news);
    const { readOnly: _r, superReadOnly: _s, persisted: _p, ...inputs } = outs;

    test("holding its role: no change", async () => {
        expect(await diff(outs, inputs)).toMatchObject({ changes: false });
    });
    test("a source found read-only (a restarted MariaDB source) is opened again", async () => {
        expect(await diff({ ...outs, readOnly: true, superReadOnly: null }, inputs)).toMatchObject({ changes: true, replaces: [] });
    });
    test("state an earlier version wrote (host/port) is the same server: no change; another port replaces", async () => {
        const { adminHost, adminPort, ...rest } = outs;
        const older = { ...rest, host: adminHost, port: adminPort };
        expect(await diff(older, inputs)).toMatchObject({ changes: false });
        expect(await diff(older, { ...inputs, adminPort: 13307 })).toMatchObject({ changes: true, replaces: ["adminPort"] });
    });
    test("a new container (a new image or password replaced it) gets its role again: an update, also from state without one", async () => {
        const placed = { ...outs, serverInstance: "c1" };
        expect(await diff(placed, { ...inputs, serverInstance: "c1" })).toMatchObject({ changes: false });
        expect(await diff(placed, { ...inputs, serverInstance: "c2" })).toMatchObject({ changes: true, replaces: [] });
        expect(await diff(outs, { ...inputs, serverInstance: "c1" })).toMatchObject({ changes: true, replaces: [] });
    });
    test("a role change from config is an update, never a replacement", async () => {
        expect(await diff(outs, { ...inputs, role: "replica" })).toMatchObject({ changes: true, replaces: [] });
    });
    test("semi-sync: turning it on or changing its timeout is an update; found off where it should be on (a restart) is drift", async () => {
        expect(await diff(outs, { ...inputs, semiSync: false, semiSyncTimeoutMs: 10000 })).toMatchObject({ changes: false });
        expect(await diff(outs, { ...inputs, semiSync: true, semiSyncTimeoutMs: 10000 })).toMatchObject({ changes: true, replaces: [] });
        const on = { ...outs, semiSync: true, semiSyncTimeoutMs: 10000, semiSyncEnabled: true };
        const { readOnly: _a, superReadOnly: _b, persisted: _c, semiSyncEnabled: _d, ...onInputs } = on;
        expect(await diff(on, onInputs)).toMatchObject({ changes: false });
        expect(await diff(on, { ...onInputs, semiSyncTimeoutMs: 500 })).toMatchObject({ changes: true, replaces: [] });
        expect(await diff({ ...on, semiSyncEnabled: false }, onInputs)).toMatchObject({ changes: true, replaces: [] });
        expect(await diff({ ...on, semiSyncEnabled: null }, onInputs)).toMatchObject({ changes: true, replaces: [] });
    });
    test("a server that would start writable (a source persisted by an earlier version of the lab) is drift", async () => {
        expect(await diff({ ...outs, startsFenced: false }, inputs)).toMatchObject({ changes: true, replaces: [] });
        expect(await diff({ ...outs, startsFenced: true }, inputs)).toMatchObject({ changes: false });
        expect(await diff({ ...outs, startsFenced: null }, inputs)).toMatchObject({ changes: false });
    });
    test("left out: an update that records it without touching the server; rejoined: applied again", async () => {
        expect(await diff(outs, { ...inputs, leftOut: "did not answer" })).toMatchObject({ changes: true, replaces: [] });
        const gone = { ...inputs, adminPort: 1, role: "replica", leftOut: "did not answer" };
        const { outs: recorded } = await providerOf(TYPES.serverRole).update!("id", outs, gone);
        expect(recorded).toMatchObject({ leftOut: "did not answer", readOnly: true });
        expect(await diff({ ...recorded, readOnly: false }, gone)).toMatchObject({ changes: false });
        expect(await diff(recorded, { ...gone, leftOut: "" })).toMatchObject({ changes: true, replaces: [] });
    });
    test("a replica without super_read_only on MySQL is locked again", async () => {
        expect(await diff({ ...outs, role: "replica", readOnly: true, superReadOnly: false }, { ...inputs, role: "replica" }))
            .toMatchObject({ changes: true });
    });
});

describe("SQL account diffs", () => {
    const server = { adminHost: "127.0.0.1", adminPort: 13306, adminUser: "root", adminPassword: "a" };
    test("a password change updates the user in place; a new name replaces it", async () => {
        const user = providerOf(TYPES.sqlUser);
        const olds = { ...server, user: "app", host: "%", plaintextPassword: "one" };
        expect(await user.diff("id", olds, { ...olds, plaintextPassword: "two" })).toMatchObject({ changes: true, replaces: [] });
        expect(await user.diff("id", olds, { ...olds, user: "app2" })).toMatchObject({ changes: true, replaces: ["user"] });
        expect(await user.diff("id", olds, olds)).toMatchObject({ changes: false });
        // State an earlier version wrote (serverHost/serverPort): the same server, no change.
        const { adminHost, adminPort, ...rest } = olds;
        expect(await user.diff("id", { ...rest, serverHost: adminHost, serverPort: adminPort }, olds)).toMatchObject({ changes: false });
        // Another server (the source moved) is an update of the same account, not a new one.
        expect(await user.diff("id", olds, { ...olds, adminPort: 13307 })).toMatchObject({ changes: true, replaces: [] });
    });
    test("grants compare privileges as the server prints them", async () => {
        const grant = providerOf(TYPES.sqlGrant);
        const olds = { ...server, user: "app", host: "%", database: "app", table: "*", privileges: ["ALL PRIVILEGES"] };
        expect(await grant.diff("id", olds, { ...olds, privileges: ["all"] })).toMatchObject({ changes: false });
        expect(await grant.diff("id", olds, { ...olds, privileges: ["SELECT", "INSERT"] })).toMatchObject({ changes: true, replaces: [] });
        expect(await grant.diff("id", { ...olds, privileges: [] }, olds)).toMatchObject({ changes: true, replaces: [] });
        expect(await grant.diff("id", olds, { ...olds, database: "other" })).toMatchObject({ replaces: ["database"] });
    });
});

describe("older saved state, read through each provider's input table", () => {
    const server = { adminHost: "127.0.0.1", adminPort: 13306, adminUser: "root", adminPassword: "a" };
    test("a grant saved before onlyGrant and otherPrivileges existed: no change; asking for onlyGrant now is one", async () => {
        const grant = providerOf(TYPES.sqlGrant);
        const older = { ...server, user: "app", host: "%", database: "app", table: "*", privileges: ["SELECT"] };
        const news = { ...older, onlyGrant: false, otherPrivileges: [] };
        expect(await grant.diff("id", older, news)).toMatchObject({ changes: false });
        expect(await grant.diff("id", older, { ...news, onlyGrant: true })).toMatchObject({ changes: true, replaces: [] });
    });
    test("a database saved without a character set or collation reads as the server's defaults", async () => {
        const database = providerOf(TYPES.sqlDatabase);
        const older = { ...server, name: "app" };
        expect(await database.diff("id", older, { ...older, defaultCharacterSet: "", defaultCollation: "" })).toMatchObject({ changes: false });
        expect(await database.diff("id", older, { ...older, defaultCharacterSet: "utf8mb4", defaultCollation: "" }))
            .toMatchObject({ changes: true, replaces: ["defaultCharacterSet"] });
    });
    test("a topology saved before its bound and allowFailover existed reads as 60 s, no failover; the bound from config is recorded", async () => {
        const topology = providerOf(TYPES.topology);
        const servers = [{ name: "s0", adminHost: "127.0.0.1", adminPort: 13306 }];
        const older = { servers, sourceIndex: 0, adminUser: "root", adminPassword: "a", user: "repl", password: "p", connectRetry: 2,
            retryCount: 86400, lastChange: "created" };
        const news = { servers, sourceIndex: 0, adminUser: "root", adminPassword: "a", user: "repl", password: "p", connectRetry: 2,
            retryCount: 86400, timeoutSeconds: 60, allowFailover: false };
        expect(await topology.diff("topology", older, news)).toEqual({ changes: false, replaces: [] });
        expect(await topology.diff("topology", older, { ...news, timeoutSeconds: 300 })).toEqual({ changes: true, replaces: [] });
    });
    test("a data template saved before its time bound and flavor existed reads as MySQL's, 300 s; one saved before it filled volumes fills them once", async () => {
        const { dataTemplateProvider } = await import("../../components/replication/dataDirectory");
        const older = { volumeName: "t", image: "sha256:1", command: ["--x"], rootPassword: "pw", initFiles: [], labels: {} };
        const now = { ...older, flavor: "mysql" as const, timeoutSeconds: 300, serverVolumes: [] };
        expect(await dataTemplateProvider.diff!("t", older as never, now)).toMatchObject({ changes: false });
        expect(await dataTemplateProvider.diff!("t", older as never, { ...now, image: "sha256:2" }))
            .toMatchObject({ changes: true, replaces: ["image"] });
        expect(await dataTemplateProvider.diff!("t", older as never, { ...now, flavor: "mariadb" }))
            .toMatchObject({ changes: true, replaces: ["flavor"] });
        // A template made by the image's first start (its environment and health check) is made again the new way.
        const first = { volumeName: "t", image: "sha256:1", command: ["--x"], env: ["A=1"], initFiles: [], healthTest: ["CMD"], labels: {} };
        expect(await dataTemplateProvider.diff!("t", first as never, now))
            .toMatchObject({ changes: true, replaces: ["rootPassword"], deleteBeforeReplace: true });
        // Its servers' volumes were filled by a copy each: the first up with the list is an update (their data is kept).
        const volumes = ["v0", "v1"];
        expect(await dataTemplateProvider.diff!("t", older as never, { ...now, serverVolumes: volumes }))
            .toMatchObject({ changes: true, replaces: [] });
        // Once filled, a server removed is only recorded, and one added (or found gone by a refresh) is filled.
        const filled = { ...now, serverVolumes: volumes, filled: volumes };
        expect(await dataTemplateProvider.diff!("t", filled, { ...now, serverVolumes: volumes })).toMatchObject({ changes: false });
        expect(await dataTemplateProvider.diff!("t", filled, { ...now, serverVolumes: ["v0"] })).toMatchObject({ changes: true, replaces: [] });
        expect(await dataTemplateProvider.diff!("t", { ...filled, filled: ["v0"] }, { ...now, serverVolumes: volumes }))
            .toMatchObject({ changes: true, replaces: [] });
    });
});

describe("SQL account resources, as each flavor's program declares them", () => {
    let mysqlRun: ProgramRun;
    beforeAll(async () => {
        mysqlRun = await runProgram({ config: { image: "mysql:9.7", replicaCount: "1" } });
        if (mysqlRun.error) throw mysqlRun.error;
    });
    const loaded = (flavor: string, type: string): LoadedProvider =>
        loadSerializedProvider(ofType(flavor === "mysql" ? mysqlRun : mariadb, type)[0].inputs.__provider as string);
    // Port 1 on loopback: nothing listens, so every connection is refused at once.
    const nowhere = { adminHost: "127.0.0.1", adminPort: 1, adminUser: "root", adminPassword: "a" };

    test.each(["mysql", "mariadb"])("%s: a password the server no longer takes (as read records it) is an update of that user alone", async (flavor) => {
        const user = loaded(flavor, TYPES.sqlUser);
        const declared = { ...nowhere, user: "app", host: "%", plaintextPassword: "declared" };
        const read = { ...declared, plaintextPassword: "\u0000changed on the server" };
        expect(await user.diff("app@%", read, declared)).toMatchObject({ changes: true, replaces: [] });
    });

    test.each(["mysql", "mariadb"])("%s: a server that does not answer reads as unknown: the state is kept, nothing is taken for gone", async (flavor) => {
        const props = {
            db: { ...nowhere, name: "app", defaultCharacterSet: "", defaultCollation: "" },
            user: { ...nowhere, user: "app", host: "%", plaintextPassword: "declared" },
            grant: { ...nowhere, user: "app", host: "%", database: "app", table: "*", privileges: ["ALL PRIVILEGES"] },
        };
        expect(await loaded(flavor, TYPES.sqlDatabase).read!("app", props.db)).toEqual({ id: "app", props: props.db });
        expect(await loaded(flavor, TYPES.sqlUser).read!("app@%", props.user)).toEqual({ id: "app@%", props: props.user });
        expect(await loaded(flavor, TYPES.sqlGrant).read!("app@%:app.*", props.grant)).toEqual({ id: "app@%:app.*", props: props.grant });
    });
});
