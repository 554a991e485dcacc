import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleDemoApp } from "../../app/bundle";
import { Data, HttpError, sourceMayHaveMoved } from "../../app/data";
import { Monitor, withDesired } from "../../app/monitor";
import { findSource, mariadbMissing, mysqlMissing, parseHaproxyCsv, validateInformation } from "../../app/pure";
import type { DemoAppConfig, ServerState } from "../../app/types";
import { appHealthcheck } from "../../components/demoApp";

const CONFIG: DemoAppConfig = {
    listenPort: 0, flavor: "mysql", database: "app", table: "information",
    serverHost: "lab-server-{index}", serverPort: 3306,
    readEndpoint: { host: "lab-read", port: 3306, statsUrl: "http://lab-read:8404/;csv" },
    app: { user: "demo_app", password: "app-secret-pw" }, monitor: { user: "demo_monitor", password: "monitor-secret-pw" },
    desiredTable: "mysql_replicas.desired_topology",
    healthFile: "/tmp/mysql-replicas-app.alive",
};

describe("POST /add-information's body", () => {
    test("name and address, trimmed, are taken", () => {
        expect(validateInformation({ name: " Ada ", address: "12 Row" })).toEqual({ name: "Ada", address: "12 Row" });
    });
    test.each([
        [null, "body"],
        [[], "body"],
        [{ address: "x" }, "name"],
        [{ name: "   ", address: "x" }, "name"],
        [{ name: "a".repeat(101), address: "x" }, "name"],
        [{ name: "a", address: 7 }, "address"],
        [{ name: "a", address: "b".repeat(201) }, "address"],
        [{ name: "a", address: "b", admin: true }, "admin"],
    ])("%p is refused, naming %s", (body, field) => {
        const r = validateInformation(body);
        expect("error" in r && r.error.startsWith(`${field}:`)).toBe(true);
    });
});

describe("missing transactions", () => {
    test("MySQL: GTID sets by uuid and interval", () => {
        const u1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        const u2 = "4f22fa47-71ca-11e1-9e33-c80aa9429562";
        expect(mysqlMissing(`${u1}:1-10`, `${u1}:1-10`)).toBe(0);
        expect(mysqlMissing(`${u1}:1-10`, `${u1}:1-7`)).toBe(3);
        expect(mysqlMissing(`${u1}:1-10:12,\n${u2}:1-5`, `${u1}:1-4:6-10`)).toBe(1 + 1 + 5);
        expect(mysqlMissing(`${u1}:1-3`, "")).toBe(3);
    });
    test("MariaDB: sequence numbers per domain", () => {
        expect(mariadbMissing("0-1-100", "0-1-100")).toBe(0);
        expect(mariadbMissing("0-2-120", "0-1-100")).toBe(20);
        expect(mariadbMissing("0-1-10,1-3-5", "0-1-10")).toBe(5);
        expect(mariadbMissing("0-1-10", "0-1-12")).toBe(0);
    });
});

test("HAProxy's stats CSV gives the readers backend's servers", () => {
    const csv = [
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck",
        "read,FRONTEND,,,0,1,4096,9,0,0,0,0,0,,,,,OPEN,,,",
        "readers,lab-server-1,0,0,1,1,,5,0,0,,0,,0,0,0,0,UP,1,1,0",
        "readers,lab-server-2,0,0,0,1,,4,0,0,,0,,0,0,0,0,DOWN 1/2,1,1,0",
        "readers,lab-server-0,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,0,1",
        "readers,BACKEND,0,0,1,1,,9,0,0,0,0,,0,0,0,0,UP,2,2,1",
        "",
    ].join("\n");
    expect(parseHaproxyCsv(csv)).toEqual([
        { name: "lab-server-1", status: "UP", backup: false, sessionsNow: 1, sessionsTotal: 5 },
        { name: "lab-server-2", status: "DOWN 1/2", backup: false, sessionsNow: 0, sessionsTotal: 4 },
        { name: "lab-server-0", status: "UP", backup: true, sessionsNow: 0, sessionsTotal: 0 },
    ]);
    expect(parseHaproxyCsv("<html>")).toEqual([]);
});

describe("finding the source", () => {
    const server = (name: string, observedRole: ServerState["observedRole"], reachable = true) => ({ name, observedRole, reachable });
    test("the one writable server that does not replicate", () => {
        expect(findSource([server("a", "replica"), server("b", "source"), server("c", "replica")])).toBe("b");
    });
    test("none, several, or one that does not answer: no source", () => {
        expect(findSource([server("a", "replica"), server("b", "unknown")])).toBeNull();
        expect(findSource([server("a", "source"), server("b", "source")])).toBeNull();
        expect(findSource([server("a", "source", false), server("b", "replica")])).toBeNull();
    });
    test("the configured role and left-out reason come from the lab's desired topology", () => {
        const s = { index: 1, name: "b", observedRole: "replica" } as ServerState;
        expect(withDesired(s, [{ server_index: 1, role: "source", left_out: null }])).toMatchObject({ configuredRole: "source", leftOut: null });
        expect(withDesired(s, [{ server_index: 1, role: "replica", left_out: "gone" }])).toMatchObject({ configuredRole: "replica", leftOut: "gone" });
        expect(withDesired(s, null)).toBe(s);
    });
    test.each([
        [{ errno: 1290 }, true], [{ errno: 1836 }, true], [{ code: "ECONNREFUSED" }, true], [{ code: "PROTOCOL_CONNECTION_LOST", fatal: true }, true],
        [{ errno: 1062 }, false], [{ errno: 1045 }, false],
    ])("error %p may mean the source moved: %p", (err, moved) => {
        expect(sourceMayHaveMoved(err)).toBe(moved);
    });
});

describe("which servers the app polls", () => {
    /** A lab of fake connections by host: server 0 the source, the others its replicas; all hold `desired`. */
    function fakeLab(desired: { server_index: number; role: string }[]) {
        const asked: string[] = [];
        const closed: string[] = [];
        const connectTo = async (t: { host: string }) => {
            asked.push(t.host);
            const source = t.host === "lab-server-0";
            return {
                async query(sql: string) {
                    if (/^SELECT server_index FROM/.test(sql)) return [desired.map((d) => ({ server_index: d.server_index }))];
                    if (/FROM mysql_replicas\.desired_topology/.test(sql)) return [desired.map((d) => ({ ...d, delay_seconds: 0, left_out: null }))];
                    if (/@@server_id/.test(sql)) return [[{ id: Number(t.host.slice(-1)) + 1, version: "9.7.4", ro: source ? 0 : 1, sro: source ? 0 : 1, gtid: "" }]];
                    if (/REPLICA STATUS/.test(sql)) return [source ? [] : [{ Source_Host: "lab-server-0", Replica_IO_Running: "Yes", Replica_SQL_Running: "Yes" }]];
                    return [[]];
                },
                async end() {
                    closed.push(t.host);
                },
            };
        };
        // The stats page is on a closed port of 127.0.0.1: unreadable, without a name lookup.
        const config = { ...CONFIG, readEndpoint: { host: "lab-read", port: 3306, statsUrl: "http://127.0.0.1:1/;csv" } };
        const monitor = new Monitor(config, connectTo as never);
        const polled = async () => (await monitor.poll(null)).servers.map((x) => `${x.name} ${x.observedRole}/${x.configuredRole}`);
        return { monitor, polled, asked, closed };
    }

    test("found through the read endpoint, then followed on the source: a server added or removed there is polled or dropped on the next poll", async () => {
        const desired = [{ server_index: 0, role: "source" }, { server_index: 1, role: "replica" }];
        const lab = fakeLab(desired);
        expect(await lab.polled()).toEqual(["lab-server-0 source/source", "lab-server-1 replica/replica"]);
        expect(lab.asked[0]).toBe("lab-read");

        desired.push({ server_index: 2, role: "replica" });
        // The poll that reads the new row still polls the old list; the next one has the new server.
        await lab.polled();
        expect(await lab.polled()).toEqual(["lab-server-0 source/source", "lab-server-1 replica/replica", "lab-server-2 replica/replica"]);

        desired.splice(1, 1);
        await lab.polled();
        expect(await lab.polled()).toEqual(["lab-server-0 source/source", "lab-server-2 replica/replica"]);
        expect(lab.closed).toContain("lab-server-1");
        expect(lab.asked.filter((h) => h === "lab-read")).toHaveLength(1);
    });

    test("until the desired topology can be read, no server is made up", async () => {
        const lab = fakeLab([]);
        expect(await lab.polled()).toEqual([]);
        expect(await lab.polled()).toEqual([]);
        // It keeps asking through the endpoint.
        expect(lab.asked).toEqual(["lab-read", "lab-read"]);
    });
});

describe("writes follow the source", () => {
    /** A Data whose inserts go to `insert` instead of a server; records where it looked. */
    function dataWith(insert: (source: string) => Promise<{ id: number; gtid: string }>, sources: (string | null)[]) {
        const asked: boolean[] = [];
        const data = new Data(CONFIG, new Monitor(CONFIG), async (again) => {
            asked.push(again);
            return sources[Math.min(asked.length - 1, sources.length - 1)];
        }, async () => undefined);
        (data as unknown as { insertOn: typeof insert }).insertOn = insert;
        return { data, asked };
    }

    test("a write refused as read-only looks for the source again at once and succeeds there", async () => {
        const tried: string[] = [];
        const { data, asked } = dataWith(async (source) => {
            tried.push(source);
            if (source === "lab-server-0") throw Object.assign(new Error("read only"), { errno: 1290 });
            return { id: 7, gtid: "u:7" };
        }, ["lab-server-0", "lab-server-1"]);
        await expect(data.add({ name: "a", address: "b" })).resolves.toEqual({ id: 7, gtid: "u:7", source: "lab-server-1" });
        expect(tried).toEqual(["lab-server-0", "lab-server-1"]);
        expect(asked).toEqual([false, true]);
    });

    test("with no source for the whole bound, a 503 says so; an error that is not about the source is not retried", async () => {
        const { data } = dataWith(async () => ({ id: 1, gtid: "" }), [null]);
        const started = Date.now();
        const failed = await data.add({ name: "a", address: "b" }).catch((e) => e);
        expect(failed).toBeInstanceOf(HttpError);
        expect(failed.status).toBe(503);
        expect(failed.message).toMatch(/no writable source/);
        expect(Date.now() - started).toBeGreaterThanOrEqual(3000);

        let calls = 0;
        const dup = dataWith(async () => {
            calls++;
            throw Object.assign(new Error("duplicate"), { errno: 1062 });
        }, ["lab-server-0"]);
        await expect(dup.data.add({ name: "a", address: "b" })).rejects.toThrow("duplicate");
        expect(calls).toBe(1);
    });
});

describe("read-your-writes", () => {
    /** A Data whose read connection answers the GTID wait with `waitResult`. */
    function readingWith(flavor: "mysql" | "mariadb", waitResult: number) {
        const config = { ...CONFIG, flavor };
        const queries: { sql: string; params: unknown }[] = [];
        const conn = {
            async query(sql: string, params: unknown) {
                queries.push({ sql, params });
                if (/GTID/.test(sql)) return [[{ r: waitResult }]];
                if (/@@hostname/.test(sql)) return [[{ host: "lab-server-2", id: 3, ro: 1 }]];
                return [[{ id: 9, name: "Ada", address: "Row", created_at: "2026-12-02 10:00:00.000" }]];
            },
            end: async () => undefined,
        };
        const data = new Data(config, new Monitor(config), async () => "lab-server-0");
        (data as unknown as { readConnection: () => Promise<unknown> }).readConnection = async () => conn;
        return { data, queries };
    }

    test.each([
        ["mysql", "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r", "3e11fa47-71ca-11e1-9e33-c80aa9429562:9"],
        ["mariadb", "SELECT MASTER_GTID_WAIT(?, ?) AS r", "0-1-9"],
    ] as const)("on %s the answering server waits for the GTID, then reads the row", async (flavor, wait, gtid) => {
        const { data, queries } = readingWith(flavor, 0);
        const back = await data.readBack(9, gtid);
        expect(queries[0]).toEqual({ sql: wait, params: [gtid, 5] });
        expect(back.servedBy).toMatchObject({ name: "lab-server-2", serverId: 3, readOnly: true });
        expect(back.row).toEqual({ id: 9, name: "Ada", address: "Row", createdAt: "2026-12-02 10:00:00.000" });
    });

    test("a server that has not applied it in time is a 504 naming the GTID and the server", async () => {
        const { data } = readingWith("mysql", 1);
        await expect(data.readBack(9, "u:9")).rejects.toMatchObject({ status: 504, message: expect.stringMatching(/lab-server-2.*u:9/) });
    });
});

describe("the bundle", () => {
    jest.setTimeout(30_000);

    test("is one file that runs with node alone: page, state, validation, health check; no password in its log", async () => {
        const { code, sha256 } = bundleDemoApp();
        expect(bundleDemoApp().sha256).toBe(sha256);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "demo-app-"));
        const port = 20000 + (process.pid % 5000);
        // A lab that cannot be reached: the app must still serve, and say so.
        const healthFile = path.join(dir, "alive");
        const config = { ...CONFIG, listenPort: port, serverHost: "127.0.0.1", serverPort: 1, healthFile,
            readEndpoint: { host: "127.0.0.1", port: 1, statsUrl: "http://127.0.0.1:1/;csv" } };
        // The container's own check, run by sh here: it passes only on a fresh health file.
        const [cmd, ...checkArgs] = appHealthcheck().tests.slice(1);
        const check = (file: string) => spawnSync(cmd, checkArgs.map((a) => a.split(CONFIG.healthFile).join(file))).status;
        expect(check(healthFile)).not.toBe(0);
        fs.writeFileSync(path.join(dir, "app.js"), code);
        fs.writeFileSync(path.join(dir, "app.json"), JSON.stringify(config));
        const child = spawn(process.execPath, [path.join(dir, "app.js")], { env: { PATH: process.env.PATH, DEMO_APP_CONFIG: path.join(dir, "app.json") } });
        let log = "";
        child.stdout.on("data", (d) => (log += d));
        child.stderr.on("data", (d) => (log += d));
        const url = `http://127.0.0.1:${port}`;
        try {
            let health = 0;
            for (let i = 0; i < 50 && health !== 200; i++) {
                health = await fetch(`${url}/healthz`).then((r) => r.status, () => 0);
                if (health !== 200) await new Promise((r) => setTimeout(r, 100));
            }
            expect(health).toBe(200);
            const page = await fetch(url);
            expect(page.headers.get("content-type")).toMatch(/text\/html/);
            expect(await page.text()).toMatch(/<script src="page.js">/);
            expect((await (await fetch(`${url}/page.js`)).text()).length).toBeGreaterThan(1000);
            const state = await (await fetch(`${url}/api/state`)).json();
            // No server is known: the desired topology could not be read through the endpoint.
            expect(state.servers).toEqual([]);
            expect(state.readEndpoint.error).toMatch(/stats unreadable/);
            expect(state.source).toBeNull();
            const post = (body: string, type = "application/json") => fetch(`${url}/add-information`, { method: "POST", headers: { "content-type": type }, body });
            expect((await post('{"name": ""}')).status).toBe(400);
            expect((await post("{not json")).status).toBe(400);
            expect((await post('{"name":"a","address":"b"}', "text/plain")).status).toBe(415);
            expect((await post(JSON.stringify({ name: "a", address: "b".repeat(20_000) }))).status).toBe(413);
            // The app writes its health file once it answers /healthz itself.
            for (let i = 0; i < 30 && !fs.existsSync(healthFile); i++) await new Promise((r) => setTimeout(r, 100));
            expect(check(healthFile)).toBe(0);
            fs.writeFileSync(path.join(dir, "stale"), `${Math.floor(Date.now() / 1000) - 10}\n`);
            expect(check(path.join(dir, "stale"))).not.toBe(0);
        } finally {
            child.kill("SIGTERM");
            await new Promise((r) => child.on("exit", r));
            fs.rmSync(dir, { recursive: true, force: true });
        }
        expect(log).toMatch(/demo app on :\d+/);
        expect(log).not.toMatch(/secret-pw/);
    });
});

describe("pooled reads", () => {
    test("concurrent first reads share one connection, and a failed connect is tried again", async () => {
        let opened = 0;
        let failNext = true;
        const conn = {
            async query(sql: string) {
                if (/@@hostname/.test(sql)) return [[{ host: "lab-server-1", id: 2, ro: 1 }]];
                return [[]];
            },
            end: async () => undefined,
        };
        const data = new Data(CONFIG, new Monitor(CONFIG), async () => null);
        (data as unknown as { readConnection: () => Promise<unknown> }).readConnection = async () => {
            opened++;
            if (failNext) {
                failNext = false;
                throw Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
            }
            return conn;
        };
        await expect(data.information(false)).rejects.toThrow("refused");
        const answers = await Promise.all([1, 2, 3, 4].map(() => data.information(false)));
        expect(answers.map((a) => a.servedBy.name)).toEqual(Array(4).fill("lab-server-1"));
        expect(opened).toBe(2);
    });
});
