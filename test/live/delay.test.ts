/**
 * Issue 12, a delayed replica: a 1+2 lab whose server 2 stays 5 s behind on purpose
 * (`replicas: {"2": {"delaySeconds": 5}}`). A new row reaches server 1 at once and server 2 only
 * after about 5 s; the read endpoint does not send readers to server 2; status shows the delay. The
 * delay changes in place. A switchover leaves the delayed replica delayed, replicating from the new
 * source, and does not wait for it.
 */
import { parseMysqlUrl, parseOutputs } from "../../scripts/lib/outputs";
import { collectStatus, statusTable } from "../../scripts/lib/status";
import { describeWithDocker } from "../support/docker";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, replicaStatus, rows, sleep, waitFor, waitForReaders, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-delay");
const BASE_PORT = lanePort(24800);
const READ_PORT = lanePort(24899);
const DELAY = 5;
const delayed = (seconds: number) => JSON.stringify({ 2: { delaySeconds: seconds } });

describeWithDocker("live: a delayed replica (issue 12)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: READ_PORT });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 2, replicas: delayed(DELAY) } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword, database: "app" });
    let outputs: Record<string, any> = {};
    let marker = 0;

    /** Whether server `i` has the row; the delayed replica may not even have the table yet. */
    const has = async (i: number, note: string) => withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.t WHERE note = ?", [note]))
        .then((r) => Number(r[0].n) === 1, (err) => { if ((err as { code?: string }).code === "ER_NO_SUCH_TABLE") return false; throw err; });

    /** Inserts a row on the source; resolves to the seconds each of servers 1 and 2 took to have it. */
    async function arrivals(): Promise<Record<number, number>> {
        const note = `row-${++marker}`;
        await withConn(parseMysqlUrl(outputs.appConnectionString), (c) => rows(c, "INSERT INTO t (note) VALUES (?)", [note]));
        const started = Date.now();
        const seen: Record<number, number> = {};
        const replicas = [0, 1, 2].filter((i) => outputs.roles[i] === "replica");
        while (Object.keys(seen).length < replicas.length && Date.now() - started < 30_000) {
            for (const i of replicas) if (seen[i] === undefined && (await has(i, note))) seen[i] = (Date.now() - started) / 1000;
            await sleep(100);
        }
        return seen;
    }

    const expectReaders = (expected: number[]) =>
        waitForReaders({ ...parseMysqlUrl(outputs.readonlyConnectionStrings[0]), port: READ_PORT }, expected);

    useLiveStack(stack, async (first) => {
        outputs = first;
        await withConn(parseMysqlUrl(outputs.appConnectionString), (c) => rows(c, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, note TEXT)"));
    });

    test("a new row reaches server 1 at once and server 2 only after its delay; readers never reach server 2; status shows it", async () => {
        const seen = await arrivals();
        expect(seen[1]).toBeLessThan(2);
        expect(seen[2]).toBeGreaterThanOrEqual(DELAY - 1);
        expect(seen[2]).toBeLessThan(DELAY + 10);
        expect((await withConn(root(2), replicaStatus))?.sqlRunning).toBe("Yes");
        await expectReaders([1]);
        const status = await collectStatus(parseOutputs(outputs, "outputs"));
        expect(status.map((r) => r.delaySeconds)).toEqual([null, 0, DELAY]);
        expect(statusTable(status).split("\n")[3]).toContain(`(delay ${DELAY}s)`);
    });

    test("the delay changes in place: no container replaced, the replica catches up at once and serves reads again", async () => {
        outputs = await stack.up({ replicas: delayed(0) });
        expect(stack.lastSteps.find((s) => s.name === "lab-server-2-replication")?.op).toBe("update");
        expect(stack.lastSteps.filter((s) => s.op === "replace" && /server/.test(s.name))).toEqual([]);
        const seen = await arrivals();
        expect(seen[2]).toBeLessThan(2);
        await expectReaders([1, 2]);
    });

    test("a switchover does not wait for a delayed replica, which stays delayed and follows the new source", async () => {
        outputs = await stack.up({ replicas: delayed(DELAY) });
        await sleep(1000);
        const started = Date.now();
        outputs = await stack.up({ sourceIndex: 1 });
        expect((Date.now() - started) / 1000).toBeLessThan(60);
        const st = await withConn(root(2), replicaStatus);
        expect({ source: st?.sourceHost, io: st?.ioRunning, sql: st?.sqlRunning })
            .toEqual({ source: `mysql-replicas-${STACK}-server-1`, io: "Yes", sql: "Yes" });
        const seen = await arrivals();
        expect(seen[0]).toBeLessThan(2);
        expect(seen[2]).toBeGreaterThanOrEqual(DELAY - 1);
        await waitFor("server 2 to hold every row of server 1", 30_000, async () => {
            const count = async (i: number) => Number((await withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.t")))[0].n);
            return (await count(2)) === (await count(1)) ? true : undefined;
        }, 500);
    });
});
