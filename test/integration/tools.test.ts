/**
 * The status, verify and bench tools as users run them (child processes reading an outputs JSON),
 * against a small real lab this suite starts itself with dockerode (test/support/labs/dockerLab.ts): a
 * MariaDB source and two replicas replicating by GTID, the app database and accounts, and the HAProxy
 * read endpoint with the program's configuration. Ports 23400-23403 on 127.0.0.1.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Connection } from "mysql2/promise";
import { close, open, query } from "../../scripts/lib/db";
import { DockerLab } from "../support/labs/dockerLab";
import { parseCsv } from "../../scripts/lib/csv";
import { describeWithDocker } from "../support/docker";
import { PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";
import { behindReplicationsBack } from "../support/mysql";
import { GTID_COLUMN_WIDTH } from "../../scripts/lib/status";
import { shorten } from "../../scripts/lib/table";

const BASE_PORT = 23400;
const ROOT = path.resolve(__dirname, "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

interface Run {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs one of the tools the way `npm run <tool> -- args` does, without colour. */
function tool(name: "status" | "verify" | "bench", args: string[], timeoutMs = 120_000): Promise<Run> {
    return new Promise((resolve) => {
        execFile(process.execPath, [TS_NODE, "--transpile-only", path.join(ROOT, "scripts", `${name}.ts`), ...args], {
            cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1" },
        }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

async function retryUntil<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await probe();
        if (ok(v) || Date.now() > deadline) return v;
        await new Promise((r) => setTimeout(r, 500));
    }
}

describeWithDocker(`the lab tools against a 1+2 lab of ${TEST_IMAGE} with a read endpoint`, () => {
    let lab: DockerLab | undefined;
    let dir: string;
    let outputsFile: string;
    let secrets: string[] = [];

    const expectNoSecrets = (r: Run) => {
        for (const s of secrets) {
            expect(r.stdout).not.toContain(s);
            expect(r.stderr).not.toContain(s);
        }
    };
    const readEndpointLogin = () => ({
        user: lab!.user("readonly"), password: lab!.passwords.readonly, host: "127.0.0.1", port: lab!.readEndpointPort, database: "app",
    });
    /** @@server_id of `n` fresh connections through the read endpoint (failed ones count as null). */
    const serverIdsThroughEndpoint = async (n: number): Promise<(number | null)[]> => {
        const ids: (number | null)[] = [];
        for (let i = 0; i < n; i++) {
            let conn: Connection | undefined;
            try {
                conn = await open(readEndpointLogin(), 3, "read endpoint");
                const [row] = await query<{ id: string | number }>(conn, { sql: "SELECT @@server_id AS id" });
                ids.push(Number(row.id));
            } catch {
                ids.push(null);
            } finally {
                await close(conn);
            }
        }
        return ids;
    };

    beforeAll(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "tools-it-"));
        outputsFile = path.join(dir, "outputs.json");
        lab = await DockerLab.start({ suite: "it", basePort: BASE_PORT, replicas: 2, image: TEST_IMAGE, proxyImage: PROXY_TEST_IMAGE });
        lab.writeOutputs(outputsFile);
        secrets = Object.values(lab.passwords);
        // Data of the app's own: a table the checksums cover.
        const app = await open({ user: lab.user("app"), password: lab.passwords.app, host: "127.0.0.1", port: lab.source.hostPort, database: "app" }, 30, "source");
        try {
            await query(app, { sql: "CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(32) NOT NULL) ENGINE=InnoDB" });
            await query(app, { sql: "INSERT INTO app.items VALUES (1, 'one'), (2, 'two'), (3, 'three')" });
        } finally {
            await close(app);
        }
    }, 300_000);

    afterAll(async () => {
        if (lab) {
            await lab.cleanup();
            expect(await lab.leftovers()).toEqual([]);
        }
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    test("status shows every server and both replicas replicating, and exits 0", async () => {
        const json = await tool("status", ["--outputs", outputsFile, "--json"]);
        expect(json.stderr).toBe("");
        expect(json.code).toBe(0);
        const rows = JSON.parse(json.stdout);
        expect(rows.map((r: any) => [r.index, r.role, r.serverId, r.reachable])).toEqual([
            [0, "source", 1, true], [1, "replica", 2, true], [2, "replica", 3, true],
        ]);
        expect(rows[0].readOnly).toBe(false);
        for (const r of rows.slice(1)) {
            expect([r.ioThread, r.sqlThread, r.readOnly, r.replicating, r.lastError]).toEqual(["Yes", "Yes", true, true, ""]);
            // Everything the source executed, in the server's own GTID format.
            expect(r.executedGtids).toBe(rows[0].executedGtids);
        }
        expect(rows[0].executedGtids).not.toBe("");

        const text = await tool("status", ["--outputs", outputsFile]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^#\s+NAME\s+ROLE\s+OBSERVED\s+ID\s+REACHABLE\s+READ-ONLY\s+IO\s+SQL\s+BEHIND\s+SEMI-SYNC\s+EXECUTED GTIDS\s+LAST ERROR$/m);
        // The column as the table prints it: shortened past its width, and "super" where super_read_only is on (MySQL).
        const gtids = shorten(rows[0].executedGtids, GTID_COLUMN_WIDTH).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const mysql = (await lab!.version(2)).flavor === "mysql";
        const readOnly = mysql ? "super" : "ON";
        // Semi-sync is off: MySQL has no plugin for it then ("-"), MariaDB has it built in ("off").
        const semiSync = mysql ? "-" : "off";
        expect(text.stdout).toMatch(new RegExp(`^\\s*2\\s+${lab!.servers[2].name}\\s+replica\\s+replica\\s+3\\s+yes\\s+${readOnly}\\s+Yes\\s+Yes\\s+0s\\s+${semiSync}\\s+${gtids}$`, "m"));
        expect(text.stdout).toContain("OK: 2 of 2 replicas replicating");
        expect(text.stdout).not.toContain("\x1b[");
        expectNoSecrets(json);
        expectNoSecrets(text);
    }, 120_000);

    test("reads through the read endpoint reach every replica and only replicas", async () => {
        const ids = await serverIdsThroughEndpoint(30);
        expect(ids).not.toContain(null);
        expect([...new Set(ids)].sort()).toEqual([2, 3]);
        // Round robin: neither replica gets everything.
        expect(ids.filter((id) => id === 2).length).toBeGreaterThanOrEqual(10);
        expect(ids.filter((id) => id === 3).length).toBeGreaterThanOrEqual(10);
    }, 120_000);

    test("verify finds the marker on every replica and every table identical, and exits 0", async () => {
        const r = await tool("verify", ["--outputs", outputsFile, "--timeout", "30"]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/server 1 \(.*\): marker arrived after \d+\.\d\d s/);
        expect(r.stdout).toMatch(/server 2 \(.*\): marker arrived after \d+\.\d\d s/);
        expect(r.stdout).toMatch(/^items\s+\d+\s+\d+\s+\d+$/m);
        expect(r.stdout).toMatch(/^OK: 2 tables identical on the source and 2 of 2 replicas$/m);
        expectNoSecrets(r);
    }, 120_000);

    test("bench runs for 3 s and writes its CSV, JSON and SVG", async () => {
        const out = path.join(dir, "bench");
        const r = await tool("bench", ["--outputs", outputsFile, "--duration", "3", "--writers", "2", "--readers", "2", "--out", out]);
        expect(r.code).toBe(0);
        expectNoSecrets(r);
        expect(r.stdout).toMatch(/^writes\s+\d+ \(\d+\.\d\/s\), 0 errors/m);
        expect(r.stdout).toMatch(/^reads\s+\d+ \(\d+\.\d\/s\), 0 errors/m);
        // Not a TTY: plain progress lines, no bar.
        expect(r.stderr).toMatch(/^bench \d+\/3 s {2}writes/m);

        const lag = parseCsv(fs.readFileSync(path.join(out, "lag.csv"), "utf8"));
        expect(new Set(lag.map((s) => s.server_id))).toEqual(new Set(["2", "3"]));
        // About 12 samples per replica in 3 s at 250 ms.
        expect(lag.length).toBeGreaterThanOrEqual(2 * 6);
        for (const s of lag) {
            expect(Number(s.t_s)).toBeGreaterThanOrEqual(0);
            expect(Number(s.t_s)).toBeLessThanOrEqual(3.5);
            expect(Number(s.heartbeat_lag_ms)).toBeGreaterThanOrEqual(0);
            expect(s.io_thread).toBe("Yes");
        }
        const tp = parseCsv(fs.readFileSync(path.join(out, "throughput.csv"), "utf8"));
        expect(tp.map((x) => x.second)).toEqual(["1", "2", "3"]);
        expect(tp.reduce((a, x) => a + Number(x.writes), 0)).toBeGreaterThan(0);

        const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
        expect(summary.writes.ok).toBeGreaterThan(0);
        expect(summary.reads.ok).toBeGreaterThan(0);
        expect(summary.spread.map((s: any) => s.serverId)).toEqual([2, 3]);
        expect(summary.spread.every((s: any) => s.role === "replica")).toBe(true);
        expect(summary.lag.map((l: any) => l.serverId)).toEqual([2, 3]);

        const svg = fs.readFileSync(path.join(out, "lag.svg"), "utf8");
        expect(svg.startsWith("<svg")).toBe(true);
        const lines = svg.match(/aria-roledescription="line mark"[^>]*/g) ?? [];
        expect(lines).toHaveLength(2);
    }, 120_000);

    test("status reports a replica whose replication is stopped and exits 1", async () => {
        await lab!.sql(2, { sql: "STOP REPLICA" });
        try {
            const r = await tool("status", ["--outputs", outputsFile, "--json"]);
            expect(r.code).toBe(1);
            const rows = JSON.parse(r.stdout);
            expect([rows[2].ioThread, rows[2].sqlThread, rows[2].replicating]).toEqual(["No", "No", false]);
            expect(rows[1].replicating).toBe(true);
            const text = await tool("status", ["--outputs", outputsFile]);
            expect(text.code).toBe(1);
            expect(text.stdout).toContain(`PROBLEM: 1 of 2 replicas not replicating: ${lab!.servers[2].name} (IO No, SQL No)`);
        } finally {
            await lab!.sql(2, { sql: "START REPLICA" });
        }
        const again = await retryUntil(() => tool("status", ["--outputs", outputsFile]), (r) => r.code === 0, 30_000);
        expect(again.code).toBe(0);
    }, 180_000);

    test("verify names a table changed behind replication's back on one replica, and exits 1", async () => {
        await lab!.sql(1, ...behindReplicationsBack(await lab!.version(1), [{ sql: "UPDATE app.items SET v = 'tampered' WHERE id = 2" }]));
        const r = await tool("verify", ["--outputs", outputsFile, "--timeout", "20"]);
        expect(r.code).toBe(1);
        expectNoSecrets(r);
        expect(r.stdout).toMatch(new RegExp(`^DIFFERENT: app\\.items on server 1 \\(${lab!.servers[1].name}\\): checksum \\d+ on the replica, \\d+ on the source$`, "m"));
        expect(r.stdout).not.toMatch(/DIFFERENT: .* on server 2/);
        expect(r.stdout).toMatch(/^items\s+\d+\s+\d+ ≠\s+\d+$/m);

        const json = await tool("verify", ["--outputs", outputsFile, "--timeout", "20", "--json"]);
        expect(json.code).toBe(1);
        const report = JSON.parse(json.stdout);
        expect(report.differences.map((d: any) => [d.table, d.index, d.settled])).toEqual([["items", 1, true]]);

        // Put it back: verify agrees again.
        await lab!.sql(1, ...behindReplicationsBack(await lab!.version(1), [{ sql: "UPDATE app.items SET v = 'two' WHERE id = 2" }]));
        expect((await tool("verify", ["--outputs", outputsFile])).code).toBe(0);
    }, 180_000);

    test("the read endpoint skips a stopped replica within seconds; status reports it unreachable and exits 1", async () => {
        await lab!.stopServer(2);
        const stoppedAt = Date.now();
        // Settled when 10 fresh connections in a row all land on the remaining replica.
        let streak = 0;
        while (streak < 10 && Date.now() - stoppedAt < 30_000) {
            const [id] = await serverIdsThroughEndpoint(1);
            streak = id === 2 ? streak + 1 : 0;
        }
        const settledAfterMs = Date.now() - stoppedAt;
        // HAProxy checks every second and marks a server down after two failures: about 3 s here.
        expect(streak).toBe(10);
        expect(settledAfterMs).toBeLessThan(10_000);
        const ids = await serverIdsThroughEndpoint(10);
        expect(ids).toEqual(Array(10).fill(2));

        const r = await tool("status", ["--outputs", outputsFile, "--json"]);
        expect(r.code).toBe(1);
        const rows = JSON.parse(r.stdout);
        expect([rows[2].reachable, rows[2].replicating]).toEqual([false, false]);
        expect(rows[2].lastError).toMatch(/server 2/);
        expect(rows[1].replicating).toBe(true);
        expectNoSecrets(r);
    }, 120_000);
});
