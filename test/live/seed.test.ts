/**
 * Issue 12, seeding a replica for a source with history: a 1+1 lab holds 50,000 rows, then the source
 * flushes and purges its binary logs. Scaling up by two with `seed: binlog` fails before anything is
 * made of replication, naming the purged GTIDs and the setting; with the default `seed: auto` both new
 * replicas are copied from the source (CLONE on MySQL, a one-session dump on MariaDB; one at a time,
 * though Pulumi seeds them in parallel), hold every row with equal checksums, and replicate later writes.
 */
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { describeWithDocker } from "../support/docker";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, insertRows, purgeOlderBinlogs, replicaStatus, rows, sleep, waitFor, withConn } from "../support/mysql";

jest.setTimeout(600_000);

const STACK = laneStack("livetest-seed");
const BASE_PORT = lanePort(24900);
const ROWS = 50_000;
const REPLICATION = "pulumi-nodejs:dynamic/replication:Replication";
/** The servers the scale-up adds. */
const NEW = [2, 3];

describeWithDocker("live: seeding a replica when the source's binary logs are gone (issue 12)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99 });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 1, readEndpoint: false } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword });
    const checksum = (i: number) => withConn(root(i), async (c) => (await rows(c, "CHECKSUM TABLE app.bulk"))[0].Checksum);
    const count = (i: number) => withConn(root(i), async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM app.bulk"))[0].n));
    let outputs: Record<string, any> = {};
    let mariadb = false;
    /** What the source had purged, as its server reports it. */
    let purged = "";

    useLiveStack(stack, async (first) => {
        outputs = first;
        await withConn(parseMysqlUrl(outputs.appConnectionString), async (c) => {
            await rows(c, "CREATE TABLE bulk (id INT PRIMARY KEY, payload VARCHAR(64) NOT NULL)");
            await insertRows(c, "bulk", ROWS);
        });
        await withConn(root(0), async (c) => {
            mariadb = /mariadb/i.test((await rows(c, "SELECT VERSION() AS v"))[0].v);
            await purgeOlderBinlogs((q) => rows(c, q));
            if (mariadb) {
                const [oldest] = await rows(c, "SHOW BINARY LOGS");
                const events = await rows(c, `SHOW BINLOG EVENTS IN '${oldest.Log_name}' LIMIT 4`);
                purged = events.find((e) => e.Event_type === "Gtid_list")?.Info ?? "";
            } else {
                purged = (await rows(c, "SELECT @@GLOBAL.gtid_purged AS p"))[0].p;
            }
        });
        expect(purged.replace(/[[\]]/g, "")).not.toBe("");
    });

    test("seed binlog: scaling up fails, naming the purged GTIDs and the setting; nothing of replication is made", async () => {
        const error = await stack.up({ replicaCount: 3, seed: "binlog" }).then(() => undefined, (err: Error) => err);
        expect(error?.message).toMatch(/seed "binlog" cannot bring it up to date/);
        expect(error?.message).toContain("Set seed to auto or snapshot");
        // MySQL names the source's purged set; MariaDB the purged state by domain-server-sequence.
        const named = mariadb ? purged.replace(/[[\]]/g, "").split(",")[0] : purged.split(":")[0];
        expect(error?.message).toContain(named);
        // The new servers are up but untouched: not pointed anywhere, and holding none of the source's data.
        for (const i of NEW) {
            expect(await withConn(root(i), replicaStatus).then((s) => s?.sourceHost ?? "")).toBe("");
            const schemas = await withConn(root(i), (c) => rows(c, "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'app'"));
            expect(schemas).toEqual([]);
            // Their role resources never ran, yet they are fenced from their first start: read-only, and on
            // MySQL super_read_only, so even root's writes are refused (MariaDB's root holds READ_ONLY ADMIN).
            const [fence] = await withConn(root(i), (c) => rows(c, `SELECT @@GLOBAL.read_only AS r${mariadb ? "" : ", @@GLOBAL.super_read_only AS s"}`));
            expect({ server: i, readOnly: Number(fence.r), superReadOnly: mariadb ? null : Number(fence.s) })
                .toEqual({ server: i, readOnly: 1, superReadOnly: mariadb ? null : 1 });
            if (!mariadb) {
                await expect(withConn(root(i), (c) => rows(c, "CREATE DATABASE written_by_root")))
                    .rejects.toMatchObject({ code: "ER_OPTION_PREVENTS_STATEMENT" });
            }
        }
        // The rest of the lab goes on: server 1 still replicates.
        expect((await withConn(root(1), replicaStatus))?.sqlRunning).toBe("Yes");
    });

    test("seed auto: two new replicas are copied from the source (one at a time), hold every row with equal checksums, and replicate", async () => {
        outputs = await stack.up({ replicaCount: 3, seed: null });
        const resources = await stack.resources();
        const app = parseMysqlUrl(outputs.appConnectionString);
        for (const i of NEW) {
            const replication = resources.find((r) => r.type === REPLICATION && r.urn.endsWith(`::lab-server-${i}-replication`));
            expect(replication?.outputs.seededBy).toBe(mariadb ? "dump" : "clone");
            if (!mariadb) {
                const [clone] = await withConn(root(i), (c) => rows(c, "SELECT STATE AS state, SOURCE AS donor FROM performance_schema.clone_status"));
                expect(clone).toEqual({ state: "Completed", donor: `mysql-replicas-${STACK}-server-0:3306` });
            }
            expect(await count(i)).toBe(ROWS);
            expect(await checksum(i)).toBe(await checksum(0));
            // The accounts came across with the data, and the replica is read-only like every replica.
            expect(await withConn({ ...app, port: BASE_PORT + i }, async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM bulk"))[0].n))).toBe(ROWS);
            const [ro] = await withConn(root(i), (c) => rows(c, "SELECT @@GLOBAL.read_only AS ro"));
            expect(Number(ro.ro)).toBe(1);
        }
        if (!mariadb) {
            // One clone at a time: the second began only once the first had ended (its restart included).
            const spans = await Promise.all(NEW.map((i) => withConn(root(i), async (c) => (await rows(c,
                "SELECT UNIX_TIMESTAMP(BEGIN_TIME) AS b, UNIX_TIMESTAMP(END_TIME) AS e FROM performance_schema.clone_status"))[0])));
            const [first, second] = spans.map((x) => ({ b: Number(x.b), e: Number(x.e) })).sort((x, y) => x.b - y.b);
            expect(second.b).toBeGreaterThanOrEqual(first.e);
        }
        // Later writes arrive.
        await withConn(app, (c) => insertRows(c, "bulk", 100, ROWS + 1));
        for (const i of NEW) {
            await waitFor(`server ${i} to receive the rows written after its seeding`, 30_000, async () => ((await count(i)) === ROWS + 100 ? true : undefined), 250);
            expect(await checksum(i)).toBe(await checksum(0));
            const st = await withConn(root(i), replicaStatus);
            expect({ source: st?.sourceHost, io: st?.ioRunning, sql: st?.sqlRunning })
                .toEqual({ source: `mysql-replicas-${STACK}-server-0`, io: "Yes", sql: "Yes" });
        }
        // A second up finds nothing to do.
        await sleep(500);
        await stack.up();
        expect(stack.lastSteps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`)).toEqual([]);
    });
});
