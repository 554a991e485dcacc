/**
 * Issue 5, scenarios 1-6: the real index.ts converged, scaled, repaired and destroyed on the live
 * Docker engine through liveStack (the Automation API where a pulumi CLI exists, else the mock
 * runtime with real Docker hooks). The scenarios share one stack and run in order.
 */
import Docker from "dockerode";
import { readServerVersion } from "../../components/replication/connection";
import { describeWithDocker, imageExists } from "../support/docker";
import { PROXY_TEST_IMAGE, TEST_IMAGE, TEST_SERVER } from "../support/images";
import { forgetStack, labelledObjects, lanePort, laneStack, liveStack, tearDownStack, testLabConfig } from "../support/harness/liveStack";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { ServerLogin, insertRows, onPort, replicaStatus, rows, waitFor, waitForReaders, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-lab");
const BASE_PORT = lanePort(24300);
const READ_PORT = lanePort(24399);
/** The read endpoint (HAProxy) is part of the lab; LIVE_READ_ENDPOINT=false leaves it out. */
const READ_ENDPOINT = process.env.LIVE_READ_ENDPOINT !== "false";
const PREFIX = `mysql-replicas-${STACK}`;
const REPLICATION = "pulumi-nodejs:dynamic/replication:Replication";

describeWithDocker("live: index.ts on Docker (issue 5 scenarios 1-6)", () => {
    const docker = new Docker();
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: READ_PORT, readEndpoint: READ_ENDPOINT });
    const stack = liveStack({ stack: STACK, config });
    let outputs: Record<string, any> = {};
    const root = (index: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + index, user: "root", password: rootPassword, database: "app" });
    const app = () => parseMysqlUrl(outputs.appConnectionString);
    const containerId = async (index: number) => (await docker.getContainer(`${PREFIX}-server-${index}`).inspect()).Id;
    /** Every container of the lab, name -> id. */
    const labIds = async () => Object.fromEntries(await Promise.all((await labelledObjects(STACK)).containers.sort()
        .map(async (n) => [n, (await docker.getContainer(n).inspect()).Id])));
    let marker = 0;

    /** Writes a row on the source through the app user and waits for it on each replica through the read-only user. */
    async function rowReachesReplicas(timeoutMs: number): Promise<void> {
        const note = `m-${process.pid}-${++marker}-${Date.now()}`;
        await withConn(app(), (c) => rows(c, "INSERT INTO items (note) VALUES (?)", [note]));
        const readers: string[] = outputs.readonlyConnectionStrings;
        expect(readers).toHaveLength(outputs.replicaCount);
        await Promise.all(readers.map((url) => withConn(url, (c) => waitFor(`row ${note} on ${parseMysqlUrl(url).port}`, timeoutMs,
            async () => ((await rows(c, "SELECT id FROM items WHERE note = ?", [note])).length === 1 ? true : undefined), 50))));
    }

    /** Reads through the read endpoint land on exactly the replicas (round robin). */
    async function readEndpointServes(indexes: number[]): Promise<void> {
        if (!READ_ENDPOINT) return;
        expect(outputs.readEndpoint).toBe(`127.0.0.1:${READ_PORT}`);
        await waitForReaders({ ...parseMysqlUrl(outputs.readonlyConnectionStrings[0]), port: READ_PORT }, indexes, 20_000, 2 * indexes.length);
    }

    async function expectReplicating(indexes: number[]): Promise<void> {
        for (const i of indexes) {
            const status = await withConn(root(i), replicaStatus);
            expect({ server: i, io: status?.ioRunning, sql: status?.sqlRunning, errors: [status?.lastIoError, status?.lastSqlError] })
                .toEqual({ server: i, io: "Yes", sql: "Yes", errors: ["", ""] });
        }
    }

    beforeAll(async () => {
        for (const image of READ_ENDPOINT ? [TEST_IMAGE, PROXY_TEST_IMAGE] : [TEST_IMAGE]) {
            if (!imageExists(image)) throw new Error(`${image} is not on the Docker host: run \`bash scripts/testbed.sh\``);
        }
        // A run that crashed may have left objects and state behind: start clean.
        await forgetStack(stack);
    });

    afterAll(async () => {
        await tearDownStack(stack);
    });

    test("preview of the new stack plans creates only and touches nothing", async () => {
        const plan = await stack.preview({ replicaCount: 2 });
        expect(new Set(plan.map((s) => s.op))).toEqual(new Set(["create"]));
        expect(plan.filter((s) => s.type === "docker:index/container:Container").map((s) => s.name).sort())
            .toEqual([...(READ_ENDPOINT ? ["lab-read-container"] : []), "lab-server-0-container", "lab-server-1-container", "lab-server-2-container"]);
        expect(await labelledObjects(STACK)).toEqual({ containers: [], volumes: [], networks: [] });
        expect(await stack.resources()).toEqual([]);
    });

    test("1. up with replicaCount 2: replicas replicate, a row reaches each within 5 s, replicas refuse app writes", async () => {
        outputs = await stack.up({ replicaCount: 2 });
        expect(outputs.replicaCount).toBe(2);
        expect(outputs.flavor).toBe(TEST_SERVER.flavor);
        // One accounts path on every flavor: the lab's own SQL resources.
        const types = (await stack.resources()).map((r) => r.type);
        expect(types.filter((t) => /^(mysql:|pulumi:providers:mysql)/.test(t))).toEqual([]);
        expect(types.filter((t) => /^pulumi-nodejs:dynamic\/sql:(Database|User|Grant)$/.test(t)).sort()).toEqual([
            "pulumi-nodejs:dynamic/sql:Database", ...Array(3).fill("pulumi-nodejs:dynamic/sql:Grant"), ...Array(4).fill("pulumi-nodejs:dynamic/sql:User")]);
        expect(outputs.replicaEndpoints).toEqual([`127.0.0.1:${BASE_PORT + 1}`, `127.0.0.1:${BASE_PORT + 2}`]);
        await expectReplicating([1, 2]);

        await withConn(app(), (c) => rows(c, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL)"));
        await rowReachesReplicas(5000);

        for (const i of [1, 2]) {
            const write = withConn(onPort(app(), BASE_PORT + i), (c) => rows(c, "INSERT INTO items (note) VALUES ('on a replica')"));
            await expect(write).rejects.toMatchObject({ code: "ER_OPTION_PREVENTS_STATEMENT" });
        }
        await readEndpointServes([1, 2]);
    });

    test("the state never holds a password in plain text", async () => {
        const text = await stack.storedText();
        const passwords = [rootPassword, app().password, ...outputs.readonlyConnectionStrings.map((u: string) => parseMysqlUrl(u).password)];
        expect(passwords.every((p) => p.length >= 16)).toBe(true);
        for (const p of passwords) expect(text.includes(p)).toBe(false);
        expect(text).toMatch(/"ciphertext": ?"/);
    });

    test("2. 10,000 rows, then replicaCount 3: the new replica holds them all (equal table checksums)", async () => {
        await withConn(app(), async (c) => {
            await rows(c, "CREATE TABLE bulk (id INT PRIMARY KEY, payload VARCHAR(100) NOT NULL)");
            await insertRows(c, "bulk", 10_000);
        });
        const before = [await containerId(0), await containerId(1), await containerId(2)];
        outputs = await stack.up({ replicaCount: 3 });
        expect(outputs.replicaCount).toBe(3);
        expect([await containerId(0), await containerId(1), await containerId(2)]).toEqual(before);

        const checksum = (i: number) => withConn(root(i), async (c) => (await rows(c, "CHECKSUM TABLE app.bulk"))[0].Checksum);
        const count = await withConn(root(3), async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM app.bulk"))[0].n));
        expect(count).toBe(10_000);
        expect(await checksum(3)).toBe(await checksum(0));
        await expectReplicating([1, 2, 3]);
        await readEndpointServes([1, 2, 3]);
    });

    test("3. replicaCount 1: the removed replicas' containers and volumes are gone, the remaining one replicates", async () => {
        outputs = await stack.up({ replicaCount: 1 });
        expect(outputs.replicaCount).toBe(1);
        const objects = await labelledObjects(STACK);
        expect(objects.containers.sort()).toEqual([...(READ_ENDPOINT ? [`${PREFIX}-read`] : []), `${PREFIX}-server-0`, `${PREFIX}-server-1`]);
        // The lab's data template stays for the next scale-up.
        expect(objects.volumes.sort()).toEqual([`${PREFIX}-server-0-data`, `${PREFIX}-server-1-data`, `${PREFIX}-template`]);
        await expectReplicating([1]);
        await rowReachesReplicas(5000);
        await readEndpointServes([1]);
    });

    test("4. up again with no change: nothing recreated or re-pointed, and preview plans no step", async () => {
        const ids = await labIds();
        const relay = (await withConn(root(1), replicaStatus))!.relayLogFile;
        outputs = await stack.up();
        expect(stack.lastSteps.filter((s) => s.op !== "same")).toEqual([]);
        expect(await labIds()).toEqual(ids);
        // A re-point (STOP/CHANGE/START) would have started a new relay log.
        expect((await withConn(root(1), replicaStatus))!.relayLogFile).toBe(relay);

        const plan = await stack.preview();
        expect(plan.length).toBeGreaterThan(0);
        expect(plan.filter((s) => s.op !== "same")).toEqual([]);
        await rowReachesReplicas(5000);
    });

    test("5. a removed replica container comes back caught up; stopped replication shows in refresh and up repairs it", async () => {
        outputs = await stack.up({ replicaCount: 2 });
        await expectReplicating([1, 2]);

        // Server 1's container goes behind the lab's back (its named volume stays), and the source moves on.
        const oldId = await containerId(1);
        await docker.getContainer(oldId).remove({ force: true });
        await withConn(app(), (c) => insertRows(c, "bulk", 500, 20_001));
        outputs = await stack.up();
        expect(await containerId(1)).not.toBe(oldId);
        await expectReplicating([1, 2]);
        const count = (i: number) => withConn(root(i), async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM app.bulk"))[0].n));
        expect(await count(1)).toBe(await count(0));

        // Replication stopped by hand on server 2: refresh records it, up makes it replicate again.
        await withConn(root(2), (c) => rows(c, "STOP REPLICA"));
        await stack.refresh();
        const replication2 = (await stack.resources()).find((r) => r.type === REPLICATION && r.urn.endsWith("::lab-server-2-replication"));
        expect({ io: replication2?.outputs.ioRunning, sql: replication2?.outputs.sqlRunning }).toEqual({ io: "No", sql: "No" });
        expect(stack.lastSteps.find((s) => s.name === "lab-server-2-replication")?.op).toBe("update");

        outputs = await stack.up();
        expect(stack.lastSteps.find((s) => s.name === "lab-server-2-replication")?.op).toBe("update");
        await expectReplicating([1, 2]);
        await rowReachesReplicas(5000);
        await readEndpointServes([1, 2]);
    });

    test("a restarted source comes back fenced (read-only, super_read_only on MySQL) and takes writes after the next up", async () => {
        const mysql = (await withConn(root(0), readServerVersion)).flavor === "mysql";
        await docker.getContainer(`${PREFIX}-server-0`).restart({ t: 60 });
        await waitFor("the source to take logins again", 120_000, async () => withConn(root(0), async () => true));
        const write = () => withConn(app(), (c) => rows(c, "INSERT INTO items (note) VALUES ('after restart')"));
        // Every server starts read-only: a source that restarts by itself never takes writes before the
        // lab has confirmed it is still the source (after a forced failover it is not).
        const [fenced] = await withConn(root(0), (c) => rows(c, `SELECT @@GLOBAL.read_only AS r${mysql ? ", @@GLOBAL.super_read_only AS s" : ""}`));
        expect({ readOnly: Number(fenced.r), superReadOnly: mysql ? Number(fenced.s) : null }).toEqual({ readOnly: 1, superReadOnly: mysql ? 1 : null });
        await expect(write()).rejects.toMatchObject({ code: "ER_OPTION_PREVENTS_STATEMENT" });
        if (mysql) {
            // The replicas' super_read_only is persisted too.
            for (const i of [1, 2]) {
                const [ro] = await withConn(root(i), (c) => rows(c, "SELECT @@GLOBAL.read_only AS r, @@GLOBAL.super_read_only AS s"));
                expect({ server: i, readOnly: Number(ro.r), superReadOnly: Number(ro.s) }).toEqual({ server: i, readOnly: 1, superReadOnly: 1 });
            }
        }
        outputs = await stack.up();
        await write();
        // The replicas reconnect on their own (every connectRetrySeconds) once the source is back.
        await waitFor("the replicas to reconnect to the restarted source", 60_000, async () => {
            for (const i of [1, 2]) {
                const s = await withConn(root(i), replicaStatus);
                if (s?.ioRunning !== "Yes" || s?.sqlRunning !== "Yes") return undefined;
            }
            return true;
        }, 250);
        await expectReplicating([1, 2]);
        await rowReachesReplicas(5000);
    });

    test("6. destroy leaves no container, network or volume of the stack; a second destroy is a no-op", async () => {
        const steps = await stack.destroy();
        expect(steps.some((s) => s.op === "delete" && s.type === "docker:index/container:Container")).toBe(true);
        expect(await labelledObjects(STACK)).toEqual({ containers: [], volumes: [], networks: [] });
        expect(await stack.resources()).toEqual([]);
        expect(await stack.destroy()).toEqual([]);
    });
});
