/**
 * How the Replication provider fails: bounded in time, with a message that names the replica and
 * carries the underlying error, and leaving nothing half-configured or reset behind. Also delete
 * against a replica whose server is gone. Live servers: a source, a replica and a spare.
 */
import { describeWithDocker } from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import type { TestLab, TestServer } from "../support/labs/testLab";
import {
    type Drivers, findLeaks, rejection, replicaStatusRow, replicationInputs, setUpSource, unconfigured, useLab,
} from "./helpers";

jest.setTimeout(120_000);

describeWithDocker(`Replication provider failures on ${TEST_IMAGE}`, () => {
    let lab: TestLab;
    let source: TestServer;
    let replica: TestServer;
    let spare: TestServer;
    let drivers: Drivers;

    const REPL_USER = "repl";
    const REPL_PW = "Repl-pw-c0ffee42";
    const WRONG_PW = "Wrong-pw-deadbeef";

    useLab("repl-fail", [
        { name: "source", serverId: 11, hostPort: 23320 },
        { name: "replica", serverId: 12, hostPort: 23321 },
        { name: "spare", serverId: 13, hostPort: 23322 },
    ], async (f) => {
        ({ lab, drivers } = f);
        source = lab.server("source");
        replica = lab.server("replica");
        spare = lab.server("spare");
        // The source as the lab sets it up: writable, with the replication account, and some data.
        await setUpSource(drivers, lab, source, REPL_USER, REPL_PW);
        await lab.sql("source", "CREATE DATABASE shop");
        await lab.sql("source", "CREATE TABLE shop.orders (id INT PRIMARY KEY)");
        await lab.sql("source", "INSERT INTO shop.orders VALUES (1), (2), (3)");
    });

    /** A replica's replication state and data, to show a failed create changed nothing. */
    async function snapshot(server: string) {
        // Every GTID variable the flavor keeps, so that a reset of any of them shows.
        const gtidVariables = (await lab.version(server)).flavor === "mariadb"
            ? "@@GLOBAL.gtid_binlog_state AS binlogState, @@GLOBAL.gtid_slave_pos AS slavePos, @@GLOBAL.gtid_current_pos AS currentPos"
            : "@@GLOBAL.gtid_executed AS executed, @@GLOBAL.gtid_purged AS purged";
        const [gtids] = await lab.sql(server, `SELECT ${gtidVariables}`);
        return {
            executed: await lab.executedGtids(server),
            gtids,
            status: await replicaStatusRow(lab, server),
            binlogs: (await lab.sql(server, "SHOW BINARY LOGS")).map((r) => r.Log_name),
            schemas: (await lab.sql(server, "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA ORDER BY 1")).map((r) => r.s),
        };
    }

    /** A GTID set made of the server's own transactions only, in its flavor's format. */
    async function ownGtidPattern(server: string): Promise<RegExp> {
        if ((await lab.version(server)).flavor === "mariadb") {
            const [{ id }] = await lab.sql(server, "SELECT @@GLOBAL.server_id AS id");
            return new RegExp(`^0-${id}-\\d+$`);
        }
        const [{ uuid }] = await lab.sql(server, "SELECT @@GLOBAL.server_uuid AS uuid");
        return new RegExp(`^${uuid}:1(-\\d+)?$`);
    }

    function expectNamesReplica(message: string, server: TestServer): void {
        expect(message).toContain(`replication on ${server.containerName} (127.0.0.1:${server.port})`);
    }

    test("a wrong replication password fails at once with the server's own error, leaving nothing configured", async () => {
        const before = await snapshot("replica");
        const timeoutSeconds = 20;
        const { error, elapsedMs } = await rejection(drivers.replication.create(
            replicationInputs(lab, replica, source, REPL_USER, WRONG_PW, { timeoutSeconds })));
        expect(elapsedMs).toBeLessThan(timeoutSeconds * 1000);
        expectNamesReplica(error.message, replica);
        expect(error.message).toMatch(/Access denied for user 'repl'/);
        expect(error.message).not.toContain(WRONG_PW);
        expect(await unconfigured(lab, "replica")).toBe(true);
        expect(await snapshot("replica")).toEqual(before);
    });

    test("a source host name that does not exist fails within the timeout with the replica's IO error", async () => {
        const before = await snapshot("replica");
        const timeoutSeconds = 30;
        const { error, elapsedMs } = await rejection(drivers.replication.create(replicationInputs(lab, replica, source, REPL_USER, REPL_PW,
            { sourceHost: "no-such-source", timeoutSeconds })));
        expect(elapsedMs).toBeLessThan(timeoutSeconds * 1000 + 5000);
        expectNamesReplica(error.message, replica);
        expect(error.message).toContain("no-such-source");
        // The server's own message for an unknown host, as SHOW REPLICA STATUS reported it (MySQL says
        // "Unknown MySQL server host", MariaDB "Unknown server host").
        expect(error.message).toMatch(/error 2005: .*Unknown (MySQL )?server host 'no-such-source'/);
        expect(await replicaStatusRow(lab, "replica")).toBeUndefined();
        expect(await snapshot("replica")).toEqual(before);
    });

    test("a stopped source fails within the timeout, naming the replica and the connection error", async () => {
        const before = await snapshot("replica");
        await lab.stop("spare");
        try {
            // As the lab declares it: the replica would reach the source by name, Pulumi by its published port.
            const timeoutSeconds = 6;
            const probed = await rejection(drivers.replication.create(
                replicationInputs(lab, replica, spare, REPL_USER, REPL_PW, { timeoutSeconds })));
            expect(probed.elapsedMs).toBeLessThan(timeoutSeconds * 1000 + 5000);
            expectNamesReplica(probed.error.message, replica);
            expect(probed.error.message).toMatch(/ECONNREFUSED/);
            expect(await snapshot("replica")).toEqual(before);

            // Where only the replica's side is down (Pulumi reaches a live server), the replica's own error shows.
            const fromReplica = await rejection(drivers.replication.create(replicationInputs(lab, replica, source, REPL_USER, REPL_PW,
                { sourceHost: spare.containerName, timeoutSeconds })));
            expect(fromReplica.elapsedMs).toBeLessThan(timeoutSeconds * 1000 + 5000);
            expectNamesReplica(fromReplica.error.message, replica);
            expect(fromReplica.error.message).toContain(spare.containerName);
            expect(fromReplica.error.message).toMatch(/error 20\d\d: /);
            expect(await replicaStatusRow(lab, "replica")).toBeUndefined();
            expect(await snapshot("replica")).toEqual(before);
        } finally {
            await lab.restart("spare");
        }
    });

    test("a replica holding a transaction the source lacks is refused and left exactly as it was", async () => {
        // Someone wrote on the replica by hand (root may, despite read_only).
        await lab.sql("replica", "CREATE DATABASE handmade");
        await lab.sql("replica", "CREATE TABLE handmade.notes (id INT PRIMARY KEY, body VARCHAR(20))");
        await lab.sql("replica", "INSERT INTO handmade.notes VALUES (1, 'keep me')");
        const before = await snapshot("replica");
        // Its own transactions only: the replica's id in MariaDB's domain-server-seq, its UUID in MySQL's.
        expect(before.executed).toMatch(await ownGtidPattern("replica"));

        const { error, elapsedMs } = await rejection(drivers.replication.create(
            replicationInputs(lab, replica, source, REPL_USER, REPL_PW, { timeoutSeconds: 30 })));
        expect(elapsedMs).toBeLessThan(10_000);
        expectNamesReplica(error.message, replica);
        expect(error.message).toContain(`holds transactions the source does not have (${before.executed})`);
        expect(error.message).toContain("Nothing on it was changed");

        expect(await snapshot("replica")).toEqual(before);
        expect(await lab.sql("replica", "SELECT * FROM handmade.notes")).toEqual([{ id: 1, body: "keep me" }]);
        expect(await lab.sql("replica", "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'"))
            .toEqual([{ n: "0" }]);
    });

    // Only an untouched replica's own transactions are taken for initialisation work.
    test("a fresh replica holding a hand-made user (no schema) is refused too, and nothing on it is reset", async () => {
        const fresh = await lab.addServer({ name: "fresh", serverId: 14, hostPort: 23323 });
        await lab.sql("fresh", "CREATE USER 'handmade'@'%' IDENTIFIED BY 'x'");
        const before = await snapshot("fresh");
        expect(before.executed).toMatch(await ownGtidPattern("fresh"));
        const { error } = await rejection(drivers.replication.create(replicationInputs(lab, fresh, source, REPL_USER, REPL_PW)));
        expect(error.message).toMatch(/holds transactions the source does not have/);
        expect(await snapshot("fresh")).toEqual(before);
    });

    test("delete succeeds against a replica whose server is already gone", async () => {
        const state = await drivers.replication.create(replicationInputs(lab, spare, source, REPL_USER, REPL_PW));
        expect(state.outs).toMatchObject({ ioRunning: "Yes", sqlRunning: "Yes" });
        expect(await lab.sql("spare", "SELECT COUNT(*) AS n FROM shop.orders")).toEqual([{ n: "3" }]);

        await lab.removeContainer("spare");
        const started = Date.now();
        await drivers.replication.delete(state.id, state.outs);
        expect(Date.now() - started).toBeLessThan(20_000);
    });

    test("no password appears in any result or error of any call outside the fields kept secret", () => {
        expect(drivers.calls.filter((c) => c.error !== undefined).length).toBeGreaterThanOrEqual(5);
        expect(findLeaks(drivers.calls, [REPL_PW, WRONG_PW, lab.rootPassword], drivers.registrations)).toEqual([]);
    });
});
