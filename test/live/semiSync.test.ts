/**
 * Issue 12, semi-synchronous replication: a 1+1 lab with `semiSync` on and a 2 s timeout. The source
 * waits for its one replica's acknowledgement (status says so); with the replica's receiver stopped a
 * commit waits out the timeout and then commits, and status shows the fall back to asynchronous;
 * started again, semi-sync resumes. Turning it off is an update in place.
 */
import { parseMysqlUrl, parseOutputs } from "../../scripts/lib/outputs";
import { collectStatus, statusSummary } from "../../scripts/lib/status";
import { describeWithDocker } from "../support/docker";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, rows, waitFor, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-semisync");
const BASE_PORT = lanePort(24700);
const TIMEOUT_MS = 2000;

describeWithDocker("live: semi-synchronous replication (issue 12)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, readEndpoint: false });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 1, semiSync: true, semiSyncTimeoutMs: TIMEOUT_MS } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword, database: "app" });
    let outputs: Record<string, any> = {};
    const sourceSemiSync = async () => (await collectStatus(parseOutputs(outputs, "outputs")))[0].semiSync;

    /** Milliseconds one insert on the source takes to commit, as the app user. */
    async function timedInsert(): Promise<number> {
        return withConn(parseMysqlUrl(outputs.appConnectionString), async (c) => {
            const started = Date.now();
            await rows(c, "INSERT INTO t (note) VALUES ('x')");
            return Date.now() - started;
        });
    }

    useLiveStack(stack, async (first) => {
        outputs = first;
        await withConn(parseMysqlUrl(outputs.appConnectionString), (c) => rows(c, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, note TEXT)"));
    });

    test("the source waits for its replica: status shows semi-sync on with one replica acknowledging; commits are quick", async () => {
        // The first up's account writes found no replica yet and went on asynchronously; the source
        // switches back once its replica acknowledges a commit.
        await waitFor("semi-sync to be on with one replica acknowledging", 30_000, async () => {
            await timedInsert();
            const ss = await sourceSemiSync();
            return ss?.active && ss.clients === 1 ? true : undefined;
        }, 500);
        expect(await sourceSemiSync()).toEqual({ enabled: true, active: true, clients: 1 });
        const rowsOfStatus = await collectStatus(parseOutputs(outputs, "outputs"));
        expect(rowsOfStatus[1].semiSync).toMatchObject({ enabled: true });
        expect(statusSummary(rowsOfStatus)).toBe("OK: 1 of 1 replicas replicating; semi-sync on: 1 replica(s) acknowledging");
        expect(await timedInsert()).toBeLessThan(TIMEOUT_MS / 2);
    });

    test("its only replica stops receiving: a commit waits out the timeout, then commits; status shows the fall back", async () => {
        await withConn(root(1), (c) => rows(c, "STOP REPLICA IO_THREAD"));
        const waited = await timedInsert();
        expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
        expect(waited).toBeLessThan(TIMEOUT_MS + 5000);
        // Asynchronous now: the next commit does not wait.
        expect(await timedInsert()).toBeLessThan(TIMEOUT_MS / 2);
        expect(await sourceSemiSync()).toMatchObject({ enabled: true, active: false });
        expect(statusSummary(await collectStatus(parseOutputs(outputs, "outputs"))))
            .toContain("semi-sync fell back to asynchronous: no replica acknowledged within the timeout");
    });

    test("started again, the replica catches up and semi-sync resumes", async () => {
        await withConn(root(1), (c) => rows(c, "START REPLICA IO_THREAD"));
        await waitFor("semi-sync to be on again with one replica acknowledging", 30_000, async () => {
            await timedInsert();
            const ss = await sourceSemiSync();
            return ss?.active && ss.clients === 1 ? true : undefined;
        }, 500);
        expect(await timedInsert()).toBeLessThan(TIMEOUT_MS / 2);
        const [{ n: onSource }] = await withConn(root(0), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.t"));
        await waitFor("the replica to hold every row", 30_000, async () => {
            const [{ n }] = await withConn(root(1), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.t"));
            return Number(n) === Number(onSource) ? true : undefined;
        }, 250);
    });

    test("semiSync false turns it off in place: no container replaced, commits never wait", async () => {
        outputs = await stack.up({ semiSync: false });
        expect(stack.lastSteps.filter((s) => s.op === "replace")).toEqual([]);
        expect(stack.lastSteps.filter((s) => s.op === "update").map((s) => s.name).sort()).toEqual(["lab-server-0-role", "lab-server-1-role"]);
        expect(await sourceSemiSync()).toMatchObject({ enabled: false });
        await withConn(root(1), (c) => rows(c, "STOP REPLICA IO_THREAD"));
        expect(await timedInsert()).toBeLessThan(TIMEOUT_MS / 2);
        await withConn(root(1), (c) => rows(c, "START REPLICA IO_THREAD"));
    });
});
