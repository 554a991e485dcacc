/**
 * Seeding through the Replication provider, on live servers: a source whose binary logs no longer
 * hold its history, fresh replicas, and one that holds data of its own. The choice (binlog, snapshot
 * or refusal) is made before anything changes; a snapshot that fails leaves the replica as fresh as
 * it was. Tests run in order on one set of servers, each building on the last. (A snapshot asked for while the logs would do is chosen by the same pure function, unit-tested,
 * and taken by `npm run bench:seed`.) Servers restart by Docker's policy as the lab's do (a CLONE recipient needs it).
 */
import { describeWithDocker } from "../support/docker";
import { purgeOlderBinlogs } from "../support/mysql";
import { TEST_IMAGE } from "../support/images";
import type { TestLab, TestServer } from "../support/labs/testLab";
import {
    type Drivers, findLeaks, rejection, replicaStatusRow, replicationInputs, setUpSource, unconfigured, useLab,
} from "./helpers";

jest.setTimeout(180_000);

describeWithDocker(`seeding replicas through the Replication provider on ${TEST_IMAGE}`, () => {
    let lab: TestLab;
    let source: TestServer;
    let early: TestServer;
    let drivers: Drivers;
    let mariadb = false;

    const REPL_USER = "repl";
    const REPL_PW = "Repl-pw-5eed5eed";
    const WRONG_PW = "Wrong-pw-0badf00d";
    const DONOR_PW = "Donor-pw-d0d0cafe";

    useLab("seed", [
        { name: "source", serverId: 21, hostPort: 23340, restartUnlessStopped: true },
        { name: "early", serverId: 22, hostPort: 23341, restartUnlessStopped: true },
        { name: "fresh", serverId: 23, hostPort: 23342, restartUnlessStopped: true },
    ], async (f) => {
        ({ lab, drivers } = f);
        source = lab.server("source");
        early = lab.server("early");
        mariadb = (await lab.version("source")).flavor === "mariadb";
        await setUpSource(drivers, lab, source, REPL_USER, REPL_PW);
        await lab.sql("source", "CREATE DATABASE shop");
        await lab.sql("source", "CREATE TABLE shop.orders (id INT PRIMARY KEY, item VARCHAR(20))");
        await lab.sql("source", "INSERT INTO shop.orders VALUES (1, 'tea'), (2, 'cake')");
        // One replica replicates early, then leaves: it holds data the source's logs will outlive.
        const state = await drivers.replication.create(replicationInputs(lab, early, source, REPL_USER, REPL_PW));
        await drivers.replication.delete(state.id, state.outs);
        // More history, then the logs that hold it are purged.
        await lab.sql("source", "INSERT INTO shop.orders VALUES (3, 'scone')");
        await purgeOlderBinlogs((q) => lab.sql("source", q));
    });

    /** How many clone accounts a server holds (the lab makes one for each clone, and removes it). */
    const cloneAccounts = async (server: string) =>
        Number((await lab.sql(server, "SELECT COUNT(*) AS n FROM mysql.user WHERE User = 'mysql_replicas_clone'"))[0].n);

    /** A replica's replication state, data and accounts, to show a refused or failed seeding changed nothing. */
    async function state(server: string) {
        const gtidVariables = mariadb
            ? "@@GLOBAL.gtid_binlog_state AS binlogState, @@GLOBAL.gtid_slave_pos AS slavePos"
            : "@@GLOBAL.gtid_executed AS executed, @@GLOBAL.gtid_purged AS purged";
        return {
            gtids: (await lab.sql(server, `SELECT ${gtidVariables}`))[0],
            status: await replicaStatusRow(lab, server).then((r) => r && { host: r.Source_Host ?? r.Master_Host }),
            schemas: (await lab.sql(server, "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA ORDER BY 1")).map((r) => r.s),
            users: (await lab.sql(server, "SELECT CONCAT(User, '@', Host) AS u FROM mysql.user ORDER BY 1")).map((r) => r.u),
        };
    }

    test("seed binlog on a fresh replica is refused before anything changes, naming the purged GTIDs and the setting", async () => {
        const fresh = lab.server("fresh");
        const before = await state("fresh");
        const { error } = await rejection(drivers.replication.create(
            replicationInputs(lab, fresh, source, REPL_USER, REPL_PW, { seed: "binlog", donorPassword: lab.rootPassword })));
        expect(error.message).toMatch(/purged binary logs holding transactions the replica lacks \((.+)\), so seed "binlog"/);
        // The named set is what the source reports purged.
        const purged = mariadb ? /^0-21-\d+$/ : new RegExp(`^${(await lab.sql("source", "SELECT @@GLOBAL.server_uuid AS u"))[0].u}:1-\\d+$`);
        expect(/lacks \(([^)]+)\)/.exec(error.message)?.[1]).toMatch(purged);
        expect(await state("fresh")).toEqual(before);
        expect(await unconfigured(lab, "fresh")).toBe(true);
    });

    test("a snapshot whose donor cannot log in fails before anything changes", async () => {
        const fresh = lab.server("fresh");
        const before = await state("fresh");
        const { error } = await rejection(drivers.replication.create(
            replicationInputs(lab, fresh, source, REPL_USER, REPL_PW, { seed: "auto", donorPassword: WRONG_PW, timeoutSeconds: 60 })));
        expect(error.message).toMatch(/cannot log in to source 127\.0\.0\.1:23340 as root: Access denied/);
        expect(await state("fresh")).toEqual(before);
        expect(await unconfigured(lab, "fresh")).toBe(true);
    });

    test("seed auto copies the source into a fresh replica, which then replicates", async () => {
        const fresh = lab.server("fresh");
        const inputs = (connectRetry: number) =>
            replicationInputs(lab, fresh, source, REPL_USER, REPL_PW, { seed: "auto", donorPassword: lab.rootPassword, timeoutSeconds: 120, connectRetry });
        const created = await drivers.replication.create(inputs(1));
        expect(created.outs).toMatchObject({ ioRunning: "Yes", sqlRunning: "Yes", seededBy: mariadb ? "dump" : "clone" });
        expect(await lab.sql("fresh", "SELECT id, item FROM shop.orders ORDER BY id"))
            .toEqual([{ id: 1, item: "tea" }, { id: 2, item: "cake" }, { id: 3, item: "scone" }]);
        // The replication account came with the copy, the clone account is gone from both, and the replica
        // holds nothing of its own.
        expect((await state("fresh")).users).toContain(`${REPL_USER}@%`);
        expect([await cloneAccounts("source"), await cloneAccounts("fresh")]).toEqual([0, 0]);
        if (mariadb) {
            // Only the source's transactions (server id 21), none written on the replica itself (23).
            expect((await lab.sql("fresh", "SELECT @@GLOBAL.gtid_binlog_state AS g"))[0].g).toMatch(/^0-21-\d+$/);
        } else {
            const [{ ahead }] = await lab.sql("fresh", "SELECT GTID_SUBTRACT(@@GLOBAL.gtid_executed, ?) AS ahead", [await lab.executedGtids("source")]);
            expect(ahead).toBe("");
        }
        await lab.sql("source", "INSERT INTO shop.orders VALUES (4, 'jam')");
        expect(await lab.waitForGtids("fresh", await lab.executedGtids("source"), 30)).toBe(true);
        expect(await lab.sql("fresh", "SELECT item FROM shop.orders WHERE id = 4")).toEqual([{ item: "jam" }]);
        // Its binary log starts at the snapshot and says so, as the source's does after the purge: were it
        // promoted, a new replica of it would be copied too, and its GTID state compares with the others'.
        if (mariadb) {
            const [oldest] = await lab.sql("fresh", "SHOW BINARY LOGS");
            const events = await lab.sql("fresh", `SHOW BINLOG EVENTS IN '${oldest.Log_name}' LIMIT 4`);
            expect(events.find((e) => e.Event_type === "Gtid_list")?.Info).toMatch(/^\[0-21-\d+\]$/);
            const state = async (s: string) => (await lab.sql(s, "SELECT @@GLOBAL.gtid_binlog_state AS g"))[0].g;
            expect(await state("fresh")).toBe(await state("source"));
        } else {
            const [{ purged }] = await lab.sql("fresh", "SELECT @@GLOBAL.gtid_purged AS purged");
            expect(purged).not.toBe("");
            const [{ lacks }] = await lab.sql("source", "SELECT GTID_SUBTRACT(?, @@GLOBAL.gtid_executed) AS lacks", [purged]);
            expect(lacks).toBe("");
        }
        // Re-pointing it later (a changed retry) is no new seeding: how it was seeded stays on record.
        const updated = await drivers.replication.update(created.id, created.outs, inputs(3));
        expect(updated.outs).toMatchObject({ ioRunning: "Yes", seededBy: mariadb ? "dump" : "clone" });
        await drivers.replication.delete(created.id, updated.outs);
    });

    test("a snapshot that fails partway leaves the replica as fresh as it was, and no clone account behind", async () => {
        // MariaDB: the dump loads shop, then may not read the accounts. MySQL: the donor makes the clone
        // account, then may not grant it BACKUP_ADMIN, so the account must be removed again.
        await lab.sql("source", "CREATE USER 'donor'@'%' IDENTIFIED BY ?", [DONOR_PW]);
        await lab.sql("source", "GRANT SELECT, SHOW VIEW, LOCK TABLES, TRIGGER, EVENT ON shop.* TO 'donor'@'%'");
        await lab.sql("source", mariadb ? "GRANT RELOAD, BINLOG MONITOR ON *.* TO 'donor'@'%'"
            : "GRANT CREATE USER, SESSION_VARIABLES_ADMIN ON *.* TO 'donor'@'%'");
        const spare = await lab.addServer({ name: "spare", serverId: 24, hostPort: 23343, restartUnlessStopped: true });
        const before = await state("spare");
        const { error } = await rejection(drivers.replication.create(replicationInputs(lab, spare, source, REPL_USER, REPL_PW,
            { seed: "auto", donorUser: "donor", donorPassword: DONOR_PW, timeoutSeconds: 60 })));
        expect(error.message).toMatch(mariadb
            ? /dumping the source .* into the replica failed \(exit code \d+: .*(denied|Access).*\); what was loaded was removed again/
            : /making the clone account on the source failed: GRANT BACKUP_ADMIN .* failed: .*denied/);
        expect(error.message).not.toContain("could not be removed");
        expect(await cloneAccounts("source")).toBe(0);
        // A fresh MariaDB replica's own initialisation GTIDs are cleared before a dump; nothing else differs.
        expect(await state("spare")).toEqual(mariadb ? { ...before, gtids: { binlogState: "", slavePos: "" } } : before);
        expect(await unconfigured(lab, "spare")).toBe(true);
    });

    test("a replica holding data of its own that lacks purged transactions is refused, never wiped", async () => {
        const before = await state("early");
        expect(before.schemas).toContain("shop");
        for (const seed of ["auto", "snapshot"] as const) {
            const { error } = await rejection(drivers.replication.create(
                replicationInputs(lab, early, source, REPL_USER, REPL_PW, { seed, donorPassword: lab.rootPassword })));
            expect(error.message).toMatch(/lacks transactions the source has purged .*holds data of its own.*never wipes a replica/);
            expect(await state("early")).toEqual(before);
        }
        expect(await lab.sql("early", "SELECT COUNT(*) AS n FROM shop.orders")).toEqual([{ n: "2" }]);
    });

    test("no password appears in any result or error of any call outside the fields kept secret", () => {
        expect(drivers.calls.filter((c) => c.error !== undefined).length).toBeGreaterThanOrEqual(5);
        expect(findLeaks(drivers.calls, [REPL_PW, WRONG_PW, DONOR_PW, lab.rootPassword], drivers.registrations)).toEqual([]);
    });
});
