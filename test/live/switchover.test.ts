/**
 * Issue 11, planned switchover: the source moves by config (sourceIndex 0 -> 1 -> 0) on a 1+2 lab
 * while a writer inserts continuously as the app user, as an application would: on an error it
 * finds the writable server again and retries. Afterwards every acknowledged insert is on every
 * server, the checksums agree, the chosen server takes writes and the others replicate from it.
 * A switchover to a replica that does not replicate, or that holds a transaction of its own, is
 * refused and changes nothing. Preview of a switchover shows updates, never a server's
 * container or volume replaced.
 */
import type { Connection } from "mysql2/promise";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { describeWithDocker } from "../support/docker";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, openConnection, replicaStatus, rows, waitFor, withConn } from "../support/mysql";
import { readServerVersion } from "../../components/replication/connection";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-switch");
const BASE_PORT = lanePort(24500);
const PREFIX = `mysql-replicas-${STACK}`;
const SERVERS = [0, 1, 2];

describeWithDocker("live: moving the source by config (issue 11 planned switchover)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, readEndpoint: false });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 2 } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword, database: "app" });
    let app: ServerLogin;
    /** Every insert of every writer gets its own number. */
    let lastN = 0;

    /** The index of the one server that takes the app user's writes now. */
    async function writableServer(): Promise<number | undefined> {
        for (const i of SERVERS) {
            const ro = await withConn(root(i), (c) => rows(c, "SELECT @@GLOBAL.read_only AS r")).catch(() => undefined);
            if (ro && Number(ro[0].r) === 0) return i;
        }
        return undefined;
    }

    /**
     * Inserts rows one by one until stopped, each acknowledged insert recorded; an error sends it
     * looking for the writable server, as an application would after a failover notice.
     */
    function writer(): { stop(): Promise<{ acked: number[]; errors: number }> } {
        let running = true;
        const acked: number[] = [];
        let errors = 0;
        const done = (async () => {
            let server = 0;
            let conn: Connection | undefined;
            while (running) {
                const n = ++lastN;
                try {
                    conn ??= await openConnection({ ...app, port: BASE_PORT + server }, 2000);
                    await rows(conn, "INSERT INTO writes (n) VALUES (?)", [n]);
                    acked.push(n);
                } catch {
                    errors++;
                    await conn?.end().catch(() => undefined);
                    conn = undefined;
                    server = (await writableServer()) ?? server;
                    await new Promise((r) => setTimeout(r, 20));
                }
            }
            await conn?.end().catch(() => undefined);
        })();
        return { stop: async () => { running = false; await done; return { acked, errors }; } };
    }

    async function expectSourceIs(s: number, acked: number[]): Promise<void> {
        expect(await writableServer()).toBe(s);
        const names = SERVERS.map((i) => `${PREFIX}-server-${i}`);
        await waitFor(`every server to hold all ${acked.length} acknowledged rows`, 30_000, async () => {
            for (const i of SERVERS) {
                const [{ n }] = await withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.writes WHERE n IN (?)", [acked.length ? acked : [0]]));
                if (Number(n) !== acked.length) return undefined;
            }
            return true;
        }, 250);
        const sums = await Promise.all(SERVERS.map((i) => withConn(root(i), async (c) => (await rows(c, "CHECKSUM TABLE app.writes"))[0].Checksum)));
        expect(new Set(sums).size).toBe(1);
        for (const i of SERVERS.filter((x) => x !== s)) {
            const st = await withConn(root(i), replicaStatus);
            expect({ server: i, source: st?.sourceHost, io: st?.ioRunning, sql: st?.sqlRunning, auto: st?.autoPosition })
                .toEqual({ server: i, source: names[s], io: "Yes", sql: "Yes", auto: true });
        }
        expect(await withConn(root(s), replicaStatus)).toBeUndefined();
    }

    useLiveStack(stack, async (outputs) => {
        app = parseMysqlUrl(outputs.appConnectionString);
        await withConn(app, (c) => rows(c, "CREATE TABLE writes (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL)"));
    }, { sourceIndex: 0 });

    test("preview of a switchover plans updates only: no server container or volume is replaced", async () => {
        const plan = await stack.preview({ sourceIndex: 1 });
        const servers = plan.filter((s) => /^lab-server-\d+-(container|data)$/.test(s.name));
        expect(servers.length).toBe(6);
        expect(servers.filter((s) => s.op !== "same")).toEqual([]);
        expect(plan.find((s) => s.name === "lab-topology")?.op).toBe("update");
        expect(plan.filter((s) => s.op === "replace").map((s) => s.name)).toEqual([]);
        await stack.setConfig({ sourceIndex: 0 });
    });

    test("0 -> 1 -> 0 under continuous writes: every acknowledged write everywhere, the new source writable", async () => {
        for (const [from, to] of [[0, 1], [1, 0]]) {
            const w = writer();
            await new Promise((r) => setTimeout(r, 500));
            const outputs = await stack.up({ sourceIndex: to });
            await new Promise((r) => setTimeout(r, 500));
            const { acked, errors } = await w.stop();
            expect(outputs.sourceEndpoint).toBe(`127.0.0.1:${BASE_PORT + to}`);
            expect(outputs.roles).toEqual(SERVERS.map((i) => (i === to ? "source" : "replica")));
            expect(acked.length).toBeGreaterThan(20);
            // eslint-disable-next-line no-console
            console.log(`switchover ${from} -> ${to}: ${acked.length} acknowledged inserts, ${errors} refused while the source moved`);
            await expectSourceIs(to, acked);
        }
    });

    test("a switchover to a replica whose replication is stopped is refused and changes nothing", async () => {
        await withConn(root(2), (c) => rows(c, "STOP REPLICA"));
        try {
            await expect(stack.up({ sourceIndex: 2 })).rejects.toThrow(/sourceIndex 0 -> 2: refused, nothing was changed: server 2 .* is not a healthy replica/);
            expect(await writableServer()).toBe(0);
            expect((await withConn(root(2), replicaStatus))?.ioRunning).toBe("No");
        } finally {
            await withConn(root(2), (c) => rows(c, "START REPLICA"));
        }
        await stack.up({ sourceIndex: 0 });
        await expectSourceIs(0, []);
    });

    test("a switchover to a replica holding a transaction of its own is refused, naming it, and changes nothing", async () => {
        // Root writes on the replica with its binary log on: a transaction of the replica's own.
        const hasSuper = (await withConn(root(1), readServerVersion)).flavor === "mysql";
        await withConn(root(1), async (c) => {
            if (hasSuper) await rows(c, "SET GLOBAL super_read_only = OFF");
            await rows(c, "CREATE DATABASE handmade");
            if (hasSuper) await rows(c, "SET GLOBAL super_read_only = ON");
        });
        await expect(stack.up({ sourceIndex: 1 })).rejects.toThrow(/refused, nothing was changed: server 1 .* holds transactions server 0 .* does not have: \S+/);
        expect(await writableServer()).toBe(0);
        expect((await withConn(root(1), replicaStatus))?.ioRunning).toBe("Yes");
        await stack.setConfig({ sourceIndex: 0 });
    });
});
