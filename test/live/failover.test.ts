/**
 * Issue 11, forced failover: the source of a 1+2 lab is killed. Moving the source without
 * allowFailover is refused and changes nothing; with it, the chosen replica applies what it had
 * received and is promoted, the other follows it, and the dead source is left out (an output, and a
 * row of `npm run status`). The next plain up starts the old source again (fenced: every server
 * starts read-only) and rejoins it. An old source that holds a transaction no replica received is
 * left out instead, read-only, with that transaction named, and serves no reads; discarding its data
 * brings it back. The failover ups run with refresh off (`pulumi up --refresh=false`), as the README
 * says to, so that they neither wait for the dead source nor start it again first.
 */
import Docker from "dockerode";
import { readServerVersion } from "../../components/replication/connection";
import { parseMysqlUrl, parseOutputs } from "../../scripts/lib/outputs";
import { collectStatus } from "../../scripts/lib/status";
import { describeWithDocker } from "../support/docker";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, replicaStatus, rows, waitFor, waitForReaders, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-failover");
const BASE_PORT = lanePort(24600);
const READ_PORT = lanePort(24699);
const PREFIX = `mysql-replicas-${STACK}`;
const name = (i: number) => `${PREFIX}-server-${i}`;

describeWithDocker("live: forced failover and the old source's return (issue 11)", () => {
    const docker = new Docker();
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: READ_PORT });
    // The plan's time bound well under jest's: a step that never finishes fails named instead of timing the test out.
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 2, replicationTimeoutSeconds: 90 } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword, database: "app" });
    let outputs: Record<string, any> = {};
    const app = () => parseMysqlUrl(outputs.appConnectionString);
    let mysql = true;
    let lastN = 0;

    /** Inserts `count` rows through the app user on the source the outputs name; resolves to their numbers. */
    async function insert(count: number): Promise<number[]> {
        const acked: number[] = [];
        await withConn(app(), async (c) => {
            for (let k = 0; k < count; k++) {
                const n = ++lastN;
                await rows(c, "INSERT INTO writes (n) VALUES (?)", [n]);
                acked.push(n);
            }
        });
        return acked;
    }

    async function readOnly(i: number): Promise<{ readOnly: number; superReadOnly: number | null }> {
        const [r] = await withConn(root(i), (c) => rows(c, `SELECT @@GLOBAL.read_only AS r${mysql ? ", @@GLOBAL.super_read_only AS s" : ""}`));
        return { readOnly: Number(r.r), superReadOnly: mysql ? Number(r.s) : null };
    }
    const fenced = () => ({ readOnly: 1, superReadOnly: mysql ? 1 : null });

    /** `source` takes the app's writes; each of `replicas` replicates from it and holds every row in `acked`. */
    async function expectTopology(source: number, replicas: number[], acked: number[]): Promise<void> {
        expect(outputs.sourceEndpoint).toBe(`127.0.0.1:${BASE_PORT + source}`);
        expect(await readOnly(source)).toEqual({ readOnly: 0, superReadOnly: mysql ? 0 : null });
        for (const i of replicas) {
            await waitFor(`server ${i} to replicate from server ${source}`, 30_000, async () => {
                const st = await withConn(root(i), replicaStatus);
                return st?.sourceHost === name(source) && st.ioRunning === "Yes" && st.sqlRunning === "Yes" ? true : undefined;
            }, 250);
            expect({ server: i, ...(await readOnly(i)) }).toEqual({ server: i, ...fenced() });
        }
        const marker = await insert(1);
        for (const i of [source, ...replicas]) {
            await waitFor(`server ${i} to hold all ${acked.length + 1} acknowledged rows`, 30_000, async () => {
                const [{ n }] = await withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.writes WHERE n IN (?)", [[...acked, ...marker]]));
                return Number(n) === acked.length + 1 ? true : undefined;
            }, 250);
        }
        const sums = await Promise.all([source, ...replicas].map((i) => withConn(root(i), async (c) => (await rows(c, "CHECKSUM TABLE app.writes"))[0].Checksum)));
        expect(new Set(sums).size).toBe(1);
        acked.push(...marker);
    }

    const expectReaders = (expected: number[]) =>
        waitForReaders({ ...parseMysqlUrl(outputs.readonlyConnectionStrings[0]), port: READ_PORT }, expected);

    async function kill(i: number): Promise<void> {
        await docker.getContainer(name(i)).kill();
        await waitFor(`server ${i} to stop`, 30_000, async () => ((await docker.getContainer(name(i)).inspect()).State.Running ? undefined : true));
    }

    const acked: number[] = [];

    useLiveStack(stack, async (first) => {
        outputs = first;
        mysql = (await withConn(root(0), readServerVersion)).flavor === "mysql";
        await withConn(app(), (c) => rows(c, "CREATE TABLE writes (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL)"));
        acked.push(...(await insert(50)));
    }, { sourceIndex: 0 });

    test("the source is killed: moving the source without allowFailover is refused, naming it, and nothing changes", async () => {
        // Server 1 lags: rows that only server 2 receives before the source dies.
        await withConn(root(1), (c) => rows(c, "STOP REPLICA IO_THREAD"));
        acked.push(...(await insert(5)));
        await waitFor("server 2 to apply the last rows", 30_000, async () => {
            const [{ n }] = await withConn(root(2), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.writes"));
            return Number(n) === acked.length ? true : undefined;
        }, 250);
        await kill(0);
        await expect(stack.up({ sourceIndex: 1 }, { refresh: false }))
            .rejects.toThrow(/sourceIndex 0 -> 1: refused, nothing was changed: the current source server 0 \(\S+\) does not answer .*set allowFailover to true/);
        for (const i of [1, 2]) {
            const st = await withConn(root(i), replicaStatus);
            expect({ server: i, source: st?.sourceHost, sql: st?.sqlRunning, ...(await readOnly(i)) })
                .toEqual({ server: i, source: name(0), sql: "Yes", ...fenced() });
        }
    });

    test("with allowFailover, a target lacking what another replica executed is refused, naming that replica; the replicas are put back", async () => {
        await expect(stack.up({ allowFailover: true }, { refresh: false })).rejects.toThrow(new RegExp(
            "sourceIndex 0 -> 1 \\(forced failover\\): the compare step failed: server 2 \\(\\S+\\) has executed transactions " +
            "server 1 \\(\\S+\\) lacks \\(\\S+\\); promote server 2 \\(\\S+\\) instead; every replica was put back as it was"));
        for (const i of [1, 2]) {
            const st = await withConn(root(i), replicaStatus);
            expect({ server: i, source: st?.sourceHost, io: st?.ioRunning === "No" ? "No" : "started", sql: st?.sqlRunning, ...(await readOnly(i)) })
                .toEqual({ server: i, source: name(0), io: "started", sql: "Yes", ...fenced() });
        }
    });

    test("server 2 instead: promoted, server 1 follows it, server 0 is left out; no acknowledged row is missing", async () => {
        outputs = await stack.up({ sourceIndex: 2 }, { refresh: false });
        expect(outputs.roles).toEqual(["replica", "replica", "source"]);
        expect(Object.keys(outputs.leftOut)).toEqual(["0"]);
        expect(outputs.leftOut["0"]).toMatch(/^did not answer when server 2 \(\S+\) was promoted by a forced failover/);
        expect(outputs.lastTopologyChange).toMatch(/^forced failover: server 0 \(\S+\) did not answer; promoted server 2 .*; left out: server 0$/);
        await expectTopology(2, [1], acked);
        // npm run status shows the left-out server, and counts it as a problem.
        const status = await collectStatus(parseOutputs(outputs, "outputs"));
        expect(status.map((r) => [r.index, r.role, r.leftOut !== "", r.reachable])).toEqual([
            [0, "replica", true, false], [1, "replica", false, true], [2, "source", false, true],
        ]);
        expect(status[0].replicating).toBe(false);
    });

    test("the next up starts the old source again, fenced, and rejoins it: it replicates from server 2 and holds every row", async () => {
        outputs = await stack.up();
        expect(outputs.leftOut).toEqual({});
        expect(outputs.lastTopologyChange).toMatch(/rejoined server 0 \(\S+\) as a replica of server 2/);
        await expectTopology(2, [0, 1], acked);
        await expectReaders([0, 1]);
    });

    test("an old source holding a transaction no replica received is left out, fenced, reported and not read from", async () => {
        // Server 2 commits a row that never leaves it: both replicas stop receiving first.
        for (const i of [0, 1]) await withConn(root(i), (c) => rows(c, "STOP REPLICA IO_THREAD"));
        const lost = await insert(1);
        const [{ uuid, id }] = await withConn(root(2), (c) => rows(c, `SELECT ${mysql ? "@@GLOBAL.server_uuid" : "NULL"} AS uuid, @@GLOBAL.server_id AS id`));
        await kill(2);

        outputs = await stack.up({ sourceIndex: 0 }, { refresh: false });
        expect(Object.keys(outputs.leftOut)).toEqual(["2"]);
        await expectTopology(0, [1], acked);

        // The up that starts it again finds its extra transaction: it stays out, read-only.
        outputs = await stack.up();
        const errant = mysql ? new RegExp(`${uuid}:\\d+`) : new RegExp(`\\d+-${id}-\\d+`);
        expect(outputs.leftOut["2"]).toMatch(/^holds transactions server 0 \(\S+\) lacks: /);
        expect(outputs.leftOut["2"]).toMatch(errant);
        expect(await readOnly(2)).toEqual(fenced());
        expect((await withConn(root(2), replicaStatus))?.ioRunning ?? "No").toBe("No");
        const [{ n }] = await withConn(root(0), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.writes WHERE n IN (?)", [lost]));
        expect(Number(n)).toBe(0);
        await expectReaders([1]);
        const status = await collectStatus(parseOutputs(outputs, "outputs"));
        expect(status[2]).toMatchObject({ leftOut: outputs.leftOut["2"], reachable: true, observedRole: "fenced", replicating: false });
        // Every up looks at it again, and it cannot be made the source while it is out.
        expect((await stack.preview()).find((s) => s.name === "lab-topology")?.op).toBe("update");
        await expect(stack.up({ sourceIndex: 2 })).rejects.toThrow(/sourceIndex 0 -> 2: refused, nothing was changed: server 2 \(\S+\) is left out of replication/);
        await stack.setConfig({ sourceIndex: 0 });
    });

    test("discarding the left-out server's data brings it back: the next up seeds it, its own former writes included", async () => {
        await docker.getContainer(name(2)).remove({ force: true });
        await docker.getVolume(`${name(2)}-data`).remove();
        outputs = await stack.up({ allowFailover: false });
        expect(outputs.leftOut).toEqual({});
        // Rows written while server 2 was the source carry its server_id, which the new server 2 has too.
        await expectTopology(0, [1, 2], acked);
        await expectReaders([1, 2]);
    });
});
