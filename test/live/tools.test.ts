/**
 * Issue 6, "Tests": the read endpoint and the user tools (status, verify, bench) on the lab the real
 * index.ts builds, brought up through liveStack (the Automation API where a pulumi CLI exists, else the
 * mock runtime with real Docker hooks). The tools run as child processes reading the stack's outputs
 * from a JSON file, as `pulumi stack output --json --show-secrets` prints them. The scenarios share one
 * stack and run in order. Ports 24400 (source), 24401-24403 (replicas) and 24499 (read endpoint).
 */
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Docker from "dockerode";
import { describeWithDocker, imageExists } from "../support/docker";
import { readServerVersion } from "../../components/replication/connection";
import { PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";
import { StackOutputs, forgetStack, labelledObjects, lanePort, laneStack, liveStack, tearDownStack, testLabConfig } from "../support/harness/liveStack";
import { ServerLogin, behindReplicationsBack, replicaStatus, rows, waitFor, withConn } from "../support/mysql";
import { readEndpointLogin, runTool, serverIds, settle, timedServerId, writeOutputsFile } from "../support/tools";

jest.setTimeout(300_000);

const STACK = laneStack("livetools");
const BASE_PORT = lanePort(24400);
const READ_PORT = lanePort(24499);
const PREFIX = `mysql-replicas-${STACK}`;
/** Fresh connections per spread check: 10 per replica with 3 replicas. */
const PROBES = 30;

/** Runs one statement on a server behind replication's back (test/support/tamper.ts). */
async function tamper(e: ServerLogin, statement: string): Promise<void> {
    await withConn(e, async (c) => {
        for (const st of behindReplicationsBack(await readServerVersion(c), [{ sql: statement }])) await rows(c, st.sql);
    });
}

describeWithDocker("live: the read endpoint and the tools on the lab index.ts builds (issue 6 tests)", () => {
    const docker = new Docker();
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: READ_PORT });
    const stack = liveStack({ stack: STACK, config });
    let dir = "";
    let outputsFile = "";
    let outputs: StackOutputs = {};
    const root = (index: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + index, user: "root", password: rootPassword, database: "app" });
    const container = (index: number) => docker.getContainer(`${PREFIX}-server-${index}`);
    /** server_id of server `index`, from the outputs. */
    const idOf = (index: number): number => outputs.serverIds[index];
    /** The passwords the stack holds: no tool may print one. */
    const secrets = () => [rootPassword, ...[outputs.appConnectionString, ...outputs.readonlyConnectionStrings, ...outputs.adminConnectionStrings]
        .map((u: string) => decodeURIComponent(new URL(u).password))];
    const expectNoSecrets = (r: { stdout: string; stderr: string }) => {
        for (const s of new Set(secrets())) {
            expect(r.stdout.includes(s)).toBe(false);
            expect(r.stderr.includes(s)).toBe(false);
        }
    };

    /** `up`, then the outputs file the tools read is rewritten from what it returned. */
    async function up(replicaCount: number): Promise<void> {
        outputs = await stack.up({ replicaCount });
        expect(outputs.replicaCount).toBe(replicaCount);
        expect(outputs.readEndpoint).toBe(`127.0.0.1:${READ_PORT}`);
        writeOutputsFile(outputsFile, outputs);
    }

    /** Waits until the endpoint answers at all (a replaced proxy takes a moment), then collects `n` answers. */
    async function spread(n: number): Promise<(number | null)[]> {
        const login = readEndpointLogin(outputs);
        await waitFor("the read endpoint to answer", 20_000, async () => ((await serverIds(login, 1))[0] !== null ? true : undefined), 200);
        return serverIds(login, n);
    }

    const count = (ids: (number | null)[], id: number | null) => ids.filter((x) => x === id).length;

    beforeAll(async () => {
        for (const image of [TEST_IMAGE, PROXY_TEST_IMAGE]) {
            if (!imageExists(image)) throw new Error(`${image} is not on the Docker host: run \`bash scripts/testbed.sh\``);
        }
        // A run that crashed may have left objects and state behind: start clean.
        await forgetStack(stack);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "livetools-"));
        outputsFile = path.join(dir, "outputs.json");
    });

    afterAll(async () => {
        try {
            await tearDownStack(stack);
        } finally {
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        }
        expect(await labelledObjects(STACK)).toEqual({ containers: [], volumes: [], networks: [] });
    });

    test("1. up with 3 replicas: reads through the read endpoint reach every replica and only replicas", async () => {
        await up(3);
        expect(outputs.roles).toEqual(["source", "replica", "replica", "replica"]);
        const replicaIds = [idOf(1), idOf(2), idOf(3)];
        expect(new Set([idOf(0), ...replicaIds]).size).toBe(4);

        const ids = await spread(PROBES);
        expect(count(ids, null)).toBe(0);
        expect([...new Set(ids)].sort()).toEqual([...replicaIds].sort());
        expect(ids).not.toContain(idOf(0));
        // Round robin over fresh connections: every replica gets a fair share, none all of it.
        for (const id of replicaIds) expect(count(ids, id)).toBeGreaterThanOrEqual(PROBES / 3 - 3);
    });

    test("2. scaled down to 1 replica: the endpoint no longer routes to the removed replicas", async () => {
        const removed = [idOf(2), idOf(3)];
        await up(1);
        expect((await labelledObjects(STACK)).containers.sort()).toEqual([`${PREFIX}-read`, `${PREFIX}-server-0`, `${PREFIX}-server-1`]);

        const ids = await spread(PROBES);
        expect(ids).toEqual(Array(PROBES).fill(idOf(1)));
        for (const id of removed) expect(ids).not.toContain(id);
    });

    test("3. a stopped replica server is skipped by the endpoint within seconds, and rejoins when started again", async () => {
        await up(2);
        const login = readEndpointLogin(outputs);
        // Both replicas serve before one is stopped.
        expect(new Set(await spread(20))).toEqual(new Set([idOf(1), idOf(2)]));

        const stopAt = Date.now();
        await container(2).stop({ t: 10 });
        const stoppedAt = Date.now();
        try {
            expect((await container(2).inspect()).State.Running).toBe(false);
            // Skipped when 10 fresh connections in a row land on the remaining replica.
            const skip = await settle(login, (id) => id === idOf(1), 10, 30_000);
            const skippedAfterMs = stoppedAt - stopAt + skip.afterMs;
            process.stderr.write(`read endpoint: server 2 stopped in ${stoppedAt - stopAt} ms, skipped ${skippedAfterMs} ms after the stop began ` +
                `(${skip.afterMs} ms after it ended; answers meanwhile: ${JSON.stringify(skip.seen.slice(0, skip.seen.length - 10))})\n`);
            expect(skip.settled).toBe(true);
            expect(skippedAfterMs).toBeLessThan(10_000);
            // Marked down, not merely retried: no connection waits on the stopped server.
            const settled: { id: number | null; ms: number }[] = [];
            for (let n = 0; n < 20; n++) settled.push(await timedServerId(login));
            process.stderr.write(`read endpoint: connect+query after the skip took ${settled.map((x) => x.ms).join(",")} ms\n`);
            expect(settled.map((x) => x.id)).toEqual(Array(20).fill(idOf(1)));
            expect(Math.max(...settled.map((x) => x.ms))).toBeLessThan(500);
        } finally {
            await container(2).start().catch((err: { statusCode?: number }) => { if (err.statusCode !== 304) throw err; });
        }
        // Back in the pool: both replicas answer again (HAProxy marks it up after one good check). The
        // restarted container gets its old address back here, as nothing else took it meanwhile.
        const startedAt = Date.now();
        let last: (number | null)[] = [];
        await waitFor("server 2 to rejoin the read endpoint", 30_000, async () => {
            last = await serverIds(login, 4);
            return last.includes(idOf(2)) && !last.includes(null) ? true : undefined;
        }, 500).catch((err) => {
            throw new Error(`${(err as Error).message} (last answers: ${JSON.stringify(last)})`);
        });
        process.stderr.write(`read endpoint: server 2 serves again ${Date.now() - startedAt} ms after its start\n`);
        const after = await serverIds(login, 20);
        expect(new Set(after)).toEqual(new Set([idOf(1), idOf(2)]));
        // And it replicates again on its own (no skip-slave-start).
        await waitFor("server 2 to replicate again", 30_000, async () => {
            const s = await withConn(root(2), replicaStatus);
            return s?.ioRunning === "Yes" && s?.sqlRunning === "Yes" ? true : undefined;
        }, 500);
    });

    test("4. status exits 0 when every replica replicates, and reports a stopped replica and exits non-zero", async () => {
        const ok = await runTool("status", ["--outputs", outputsFile]);
        expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
        expect(ok.stdout).toContain("OK: 2 of 2 replicas replicating");
        for (const i of [0, 1, 2]) expect(ok.stdout).toContain(outputs.serverNames[i]);
        expectNoSecrets(ok);

        await withConn(root(2), (c) => rows(c, "STOP REPLICA"));
        try {
            const bad = await runTool("status", ["--outputs", outputsFile]);
            expect(bad.code).not.toBe(0);
            expect(bad.code).toBe(1);
            expect(bad.stdout).toContain(`PROBLEM: 1 of 2 replicas not replicating: ${outputs.serverNames[2]} (IO No, SQL No)`);
            expectNoSecrets(bad);

            const json = await runTool("status", ["--outputs", outputsFile, "--json"]);
            expect(json.code).toBe(1);
            const byIndex = JSON.parse(json.stdout);
            expect(byIndex.map((r: any) => [r.index, r.role, r.serverId, r.reachable, r.replicating])).toEqual([
                [0, "source", idOf(0), true, true], [1, "replica", idOf(1), true, true], [2, "replica", idOf(2), true, false],
            ]);
            expect([byIndex[2].ioThread, byIndex[2].sqlThread]).toEqual(["No", "No"]);
        } finally {
            await withConn(root(2), (c) => rows(c, "START REPLICA"));
        }
        const again = await waitFor("status to exit 0 again", 30_000, async () => {
            const r = await runTool("status", ["--outputs", outputsFile]);
            return r.code === 0 ? r : undefined;
        }, 500);
        expect(again.stdout).toContain("OK: 2 of 2 replicas replicating");
    });

    test("5. verify passes on a consistent lab, and names a table changed behind replication's back on one replica", async () => {
        // The app's own table, created and filled through the app user on the source.
        await withConn(parseMysqlUrl(outputs.appConnectionString), async (c) => {
            await rows(c, "CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(32) NOT NULL, balance INT NOT NULL) ENGINE=InnoDB");
            await rows(c, "INSERT INTO accounts VALUES (1, 'ada', 100), (2, 'bob', 200), (3, 'cy', 300)");
        });
        const ok = await runTool("verify", ["--outputs", outputsFile, "--timeout", "30"]);
        expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
        expect(ok.stdout).toMatch(/^accounts\s+\d+\s+\d+\s+\d+$/m);
        expect(ok.stdout).toMatch(/^OK: \d+ tables identical on the source and 2 of 2 replicas$/m);
        expectNoSecrets(ok);

        // Root on server 1 changes a row without writing it to its binary log: replication never hears of it.
        await tamper(root(1), "UPDATE app.accounts SET balance = balance + 1 WHERE id = 2");
        try {
            const bad = await runTool("verify", ["--outputs", outputsFile, "--timeout", "30"]);
            expect(bad.code).not.toBe(0);
            expect(bad.code).toBe(1);
            expect(bad.stdout).toMatch(new RegExp(`^DIFFERENT: app\\.accounts on server 1 \\(${outputs.serverNames[1]}\\): ` +
                "checksum \\d+ on the replica, \\d+ on the source$", "m"));
            expect(bad.stdout).not.toMatch(/^DIFFERENT: .* on server 2 /m);
            expect(bad.stdout).toMatch(/^accounts\s+\d+\s+\d+ ≠\s+\d+$/m);
            expectNoSecrets(bad);
        } finally {
            await tamper(root(1), "UPDATE app.accounts SET balance = balance - 1 WHERE id = 2");
        }
    });

    test("6. the bench runs briefly against the lab and writes its CSV and SVG", async () => {
        const out = path.join(dir, "bench");
        const r = await runTool("bench", ["--outputs", outputsFile, "--duration", "2", "--writers", "1", "--readers", "2", "--out", out]);
        expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
        expectNoSecrets(r);
        for (const file of ["lag.csv", "throughput.csv", "summary.json", "lag.svg"]) {
            expect(fs.statSync(path.join(out, file)).size).toBeGreaterThan(0);
        }
        expect(fs.readFileSync(path.join(out, "lag.csv"), "utf8").split("\n")[0]).toMatch(/\bserver_id\b/);
        expect(fs.readFileSync(path.join(out, "lag.svg"), "utf8")).toMatch(/^<svg/);
    });
});
