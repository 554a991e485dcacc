/**
 * A switchover that fails part-way, on live servers: the Topology's moveSource, with one step made to
 * fail after it has acted (or a real lock making the freeze time out), must put the old source back as
 * it was: writable, every replica replicating from it with both threads, nothing lost, no errant
 * transaction. Then the same switchover runs whole. A source and two replicas, wired as the lab does.
 */
import { moveSource, type TopologyInputs } from "../../components/replication/topology";
import { perform, type RunOptions } from "../../components/replication/steps";
import { describeWithDocker } from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import type { TestLab, TestServer } from "../support/labs/testLab";
import { openConnection, waitFor } from "../support/mysql";
import { type Drivers, replicationInputs, roleInputs, setUpSource, useLab } from "./helpers";

jest.setTimeout(180_000);

describeWithDocker(`a failed switchover is undone, on ${TEST_IMAGE}`, () => {
    let lab: TestLab;
    let drivers: Drivers;
    const NAMES = ["s0", "s1", "s2"];
    const REPL_USER = "repl";
    const REPL_PW = "Repl-pw-5e1f0a77";

    useLab("undo", NAMES.map((name, i) => ({ name, serverId: 41 + i, hostPort: 23350 + i })), async (f) => {
        ({ lab, drivers } = f);
        await setUpSource(drivers, lab, lab.server("s0"), REPL_USER, REPL_PW);
        await lab.sql("s0", "CREATE DATABASE shop");
        await lab.sql("s0", "CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(32))");
        for (const r of ["s1", "s2"]) {
            await drivers.replication.create(replicationInputs(lab, lab.server(r), lab.server("s0"), REPL_USER, REPL_PW));
            await drivers.serverRole.create(roleInputs(lab, lab.server(r), "replica"));
        }
    });

    const server = (i: number): TestServer => lab.server(NAMES[i]);
    const inputs = (timeoutSeconds = 60): TopologyInputs => ({
        servers: NAMES.map((n) => ({ name: lab.server(n).containerName, adminHost: lab.server(n).host, adminPort: lab.server(n).port })),
        sourceIndex: 1, adminUser: "root", adminPassword: lab.rootPassword, user: REPL_USER, password: REPL_PW,
        connectRetry: 1, retryCount: 86400, timeoutSeconds, allowFailover: false,
    });

    /** Fails the last step named `name`, after it has acted. */
    function failingAfter(name: string): RunOptions["perform"] {
        return async (action, m, members, s, plan) => {
            await perform(action, m, members, s, plan);
            const last = [...plan.steps].reverse().find((x) => x.name === name)!;
            if (action === last.do && m.index === last.member) throw new Error(`injected after the ${name} step`);
        };
    }

    async function readOnly(i: number): Promise<{ readOnly: number; superReadOnly: number | null }> {
        const mysql = (await lab.version(NAMES[i])).flavor === "mysql";
        const [row] = await lab.sql(NAMES[i], `SELECT @@GLOBAL.read_only AS r, ${mysql ? "@@GLOBAL.super_read_only" : "NULL"} AS s`);
        return { readOnly: Number(row.r), superReadOnly: row.s === null ? null : Number(row.s) };
    }

    /** Transactions server `i` wrote itself (its own server UUID or server id): errant on a replica. */
    async function ownTransactions(i: number): Promise<string> {
        if ((await lab.version(NAMES[i])).flavor === "mysql") {
            const [row] = await lab.sql(NAMES[i], "SELECT @@GLOBAL.gtid_executed AS g, @@GLOBAL.server_uuid AS u");
            return String(row.g).replace(/\s+/g, "").split(",").filter((part) => part.startsWith(`${row.u}:`)).join(",");
        }
        const [row] = await lab.sql(NAMES[i], "SELECT @@GLOBAL.gtid_binlog_state AS g, @@GLOBAL.server_id AS id");
        return String(row.g).split(",").filter((part) => part.split("-")[1] === String(row.id)).join(",");
    }

    /** The replica's status once its IO thread has left "Preparing"/"Connecting" (START returns before it connects). */
    const ioSettled = (name: string) => waitFor(`${name}'s IO thread to leave Preparing/Connecting`, 10_000, async () => {
        const st = await lab.replicaStatus(name);
        return ["Preparing", "Connecting"].includes(st.ioRunning) ? undefined : st;
    }, 200);

    /** Server 0 the source, writable and replicating from nothing; 1 and 2 fenced replicas of it; a new row reaches both; nothing errant. */
    async function expectOldSourceBack(): Promise<void> {
        const mysql = (await lab.version("s0")).flavor === "mysql";
        expect(await readOnly(0)).toEqual({ readOnly: 0, superReadOnly: mysql ? 0 : null });
        expect((await lab.replicaStatus("s0")).configured).toBe(false);
        for (const i of [1, 2]) {
            const st = await ioSettled(NAMES[i]);
            expect({ server: i, source: st.sourceHost, io: st.ioRunning, sql: st.sqlRunning, ...(await readOnly(i)) })
                .toEqual({ server: i, source: server(0).containerName, io: "Yes", sql: "Yes", readOnly: 1, superReadOnly: mysql ? 1 : null });
        }
        await lab.sql("s0", "INSERT INTO shop.orders (note) VALUES ('after the undo')");
        const gtids = await lab.executedGtids("s0");
        for (const i of [1, 2]) expect(await lab.waitForGtids(NAMES[i], gtids, 20)).toBe(true);
        const [{ n }] = await lab.sql("s0", "SELECT COUNT(*) AS n FROM shop.orders");
        for (const i of [1, 2]) expect(await lab.sql(NAMES[i], "SELECT COUNT(*) AS n FROM shop.orders")).toEqual([{ n }]);
        for (const i of [0, 1, 2]) expect({ server: i, own: i === 0 ? "" : await ownTransactions(i) }).toEqual({ server: i, own: "" });
    }

    test.each(["freeze", "drain", "swap", "open the new source"])("the %s step fails after acting: the old source is put back, nothing lost", async (step) => {
        await lab.sql("s0", "INSERT INTO shop.orders (note) VALUES (?)", [`before ${step}`]);
        await expect(moveSource(inputs(), 0, 1, {}, 3, { perform: failingAfter(step) })).rejects.toThrow(new RegExp(
            `^sourceIndex 0 -> 1: the ${step} step failed: injected after the ${step} step; server 0 \\(\\S+\\) was put back as the source, writable$`));
        await expectOldSourceBack();
    });

    test("a freeze that cannot get its lock (a session holds LOCK TABLES) times out, and is undone", async () => {
        const holder = await openConnection({ host: server(0).host, port: server(0).port, ...lab.root });
        try {
            await holder.query("LOCK TABLES shop.orders WRITE");
            const started = Date.now();
            await expect(moveSource(inputs(5), 0, 1, {}, 3)).rejects.toThrow(
                /^sourceIndex 0 -> 1: the freeze step failed: .*Lock wait timeout exceeded.*; server 0 \(\S+\) was put back as the source, writable$/);
            expect(Date.now() - started).toBeLessThan(30_000);
        } finally {
            await holder.query("UNLOCK TABLES").catch(() => undefined);
            await holder.end();
        }
        await expectOldSourceBack();
    });

    test("run whole, the switchover moves the source to server 1 with every row", async () => {
        const before = await lab.sql("s0", "SELECT COUNT(*) AS n FROM shop.orders");
        const result = await moveSource(inputs(), 0, 1, {}, 3);
        expect(result.lastChange).toMatch(/^switched the source from server 0 \(\S+\) to server 1 \(\S+\) at \S+/);
        expect((await readOnly(1)).readOnly).toBe(0);
        for (const i of [0, 2]) {
            const st = await lab.replicaStatus(NAMES[i]);
            expect({ server: i, source: st.sourceHost, io: st.ioRunning, sql: st.sqlRunning }).toEqual({ server: i, source: server(1).containerName, io: "Yes", sql: "Yes" });
            expect(await lab.sql(NAMES[i], "SELECT COUNT(*) AS n FROM shop.orders")).toEqual(before);
        }
    });
});
