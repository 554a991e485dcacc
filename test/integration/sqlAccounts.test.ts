/**
 * The SQL database, user and grant providers (the lab's accounts on every flavor), loaded from their
 * serialized `__provider` and driven as the engine drives them, against a live server: every kind of
 * drift (a privilege revoked or added, a password changed, a user or database dropped) is read back.
 */
import { describeWithDocker } from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import type { CallRecord } from "../support/mocks/providers";
import { TestLab, TestServer, runSql } from "../support/labs/testLab";
import {
    type Drivers, databaseInputs, findLeaks, roleInputs, grantInputs, grantsOf, rejection, useLab, userExists, userInputs,
} from "./helpers";

jest.setTimeout(120_000);

describeWithDocker(`SQL database, user and grant providers on ${TEST_IMAGE}`, () => {
    let lab: TestLab;
    let db: TestServer;
    let drivers: Drivers;
    /** Every password the file uses; none may show up outside secret fields. */
    const secrets: string[] = [];

    const P1 = "Pw-one-3e1c9a";
    const P2 = "Pw-two-7b42d0";
    const REPL_PW = "Pw-repl-5d8f61";
    secrets.push(P1, P2, REPL_PW);

    useLab("sql", [{ name: "db", serverId: 101, hostPort: 23300 }], async (f) => {
        ({ lab, drivers } = f);
        db = lab.server("db");
        secrets.push(lab.rootPassword);
        // Servers start read-only; the lab makes its source writable with ServerRole.
        await drivers.serverRole.create(roleInputs(lab, db, "source"));
    });

    test("the resource classes mark every password field as a secret input and a secret output", async () => {
        const r = drivers.registrations;
        expect(r.user.additionalSecretOutputs).toEqual(expect.arrayContaining(["adminPassword", "plaintextPassword"]));
        expect(r.grant.additionalSecretOutputs).toEqual(expect.arrayContaining(["adminPassword"]));
        expect(r.database.additionalSecretOutputs).toEqual(expect.arrayContaining(["adminPassword"]));
        expect(r.replication.additionalSecretOutputs).toEqual(expect.arrayContaining(["adminPassword", "password"]));
        expect(r.serverRole.additionalSecretOutputs).toEqual(expect.arrayContaining(["adminPassword"]));
        for (const [kind, reg] of Object.entries(r)) {
            const passwordFields = reg.inputKeys.filter((k) => /password/i.test(k));
            expect({ kind, fields: passwordFields.length > 0 }).toEqual({ kind, fields: true });
            expect({ kind, secretOutputs: reg.additionalSecretOutputs }).toEqual({ kind, secretOutputs: expect.arrayContaining(passwordFields) });
            expect({ kind, secretInputs: reg.secretInputs }).toEqual({ kind, secretInputs: expect.arrayContaining(passwordFields) });
            // The serialized provider captured none of the dummy passwords it was declared with.
            expect(reg.providerText).not.toMatch(/dummy-[a-z]+-pw/);
        }
    });

    // State carried through the file's tests, as the engine would keep it.
    let dbState: { id: string; outs: any };
    let appUser: { id: string; outs: any };
    let appGrant: { id: string; outs: any };
    let replUser: { id: string; outs: any };
    let replGrant: { id: string; outs: any };
    const APP_PRIVS = ["SELECT", "INSERT", "UPDATE", "DELETE"];

    test("create makes the database, the users and exactly the declared privileges", async () => {
        dbState = await drivers.database.create(databaseInputs(lab, db, "shop"));
        appUser = await drivers.user.create(userInputs(lab, db, "app", P1));
        appGrant = await drivers.grant.create(grantInputs(lab, db, "app", "shop", ["select", "insert", "Update", "DELETE"]));
        replUser = await drivers.user.create(userInputs(lab, db, "repl", REPL_PW));
        replGrant = await drivers.grant.create(grantInputs(lab, db, "repl", "*", ["REPLICATION SLAVE", "REPLICATION CLIENT"]));

        expect(dbState.id).toBe("shop");
        expect(appUser.id).toBe("app@%");
        expect(appGrant.id).toBe("app@%:shop.*");
        const schemas = await lab.sql("db", "SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'");
        expect(schemas).toHaveLength(1);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
        expect(await grantsOf(lab, "db", "repl")).toEqual({ "*.*": ["REPLICATION CLIENT", "REPLICATION SLAVE"] });

        // The privileges work as declared, and no more.
        const app = { user: "app", password: P1, database: "shop" };
        await runSql(db, app, "CREATE TABLE t (id INT PRIMARY KEY)", []).then(
            () => { throw new Error("app could create a table without CREATE"); },
            (e) => expect(e.code).toBe("ER_TABLEACCESS_DENIED_ERROR"));
        await lab.sql("db", "CREATE TABLE shop.t (id INT PRIMARY KEY)");
        await runSql(db, app, "INSERT INTO t VALUES (1), (2)");
        expect(await runSql(db, app, "SELECT COUNT(*) AS n FROM t")).toEqual([{ n: "2" }]);
        await expect(runSql(db, app, "SELECT * FROM mysql.user")).rejects.toMatchObject({ code: "ER_TABLEACCESS_DENIED_ERROR" });
    });

    test("an unchanged declaration is no change", async () => {
        for (const [driver, state, news] of [
            [drivers.database, dbState, databaseInputs(lab, db, "shop")],
            [drivers.user, appUser, userInputs(lab, db, "app", P1)],
            [drivers.grant, appGrant, grantInputs(lab, db, "app", "shop", APP_PRIVS)],
        ] as const) {
            const d = await driver.diff(state.id, state.outs, news);
            expect(d.changes).toBe(false);
        }
    });

    test("update changes a password in place: the new one logs in, the old one no longer does", async () => {
        const news = userInputs(lab, db, "app", P2);
        const d = await drivers.user.diff(appUser.id, appUser.outs, news);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appUser = await drivers.user.update(appUser.id, appUser.outs, d.inputs);
        expect(appUser.id).toBe("app@%");

        expect(await runSql(db, { user: "app", password: P2, database: "shop" }, "SELECT COUNT(*) AS n FROM t")).toEqual([{ n: "2" }]);
        await expect(runSql(db, { user: "app", password: P1 }, "SELECT 1")).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
        // The grant survived the password change.
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
    });

    test("update changes a grant's privileges in place", async () => {
        const news = grantInputs(lab, db, "app", "shop", ["SELECT", "INSERT", "CREATE"]);
        const d = await drivers.grant.diff(appGrant.id, appGrant.outs, news);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(appGrant.id, appGrant.outs, d.inputs);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": ["CREATE", "INSERT", "SELECT"] });
        expect(appGrant.outs.privileges).toEqual(["CREATE", "INSERT", "SELECT"]);
        const app = { user: "app", password: P2, database: "shop" };
        await expect(runSql(db, app, "DELETE FROM t")).rejects.toMatchObject({ code: "ER_TABLEACCESS_DENIED_ERROR" });
        await runSql(db, app, "CREATE TABLE t2 (id INT)");

        // Back to the original declaration for the next tests.
        const back = await drivers.grant.diff(appGrant.id, appGrant.outs, grantInputs(lab, db, "app", "shop", APP_PRIVS));
        expect(back).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(appGrant.id, appGrant.outs, back.inputs);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
    });

    test("read reports a privilege revoked behind its back; diff sees it and update restores it", async () => {
        const declared = grantInputs(lab, db, "app", "shop", APP_PRIVS);
        await lab.sql("db", "REVOKE INSERT ON shop.* FROM 'app'@'%'");

        const refreshed = await drivers.grant.read(appGrant.id, appGrant.outs);
        expect(refreshed.id).toBe(appGrant.id);
        expect(refreshed.outs.privileges).toEqual(["DELETE", "SELECT", "UPDATE"]);

        const d = await drivers.grant.diff(refreshed.id, refreshed.outs, declared);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(refreshed.id, refreshed.outs, d.inputs);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
        expect((await drivers.grant.diff(appGrant.id, (await drivers.grant.read(appGrant.id, appGrant.outs)).outs, declared)).changes).toBe(false);
    });

    test("read reports a privilege added behind its back; update takes it away", async () => {
        const declared = grantInputs(lab, db, "app", "shop", APP_PRIVS);
        await lab.sql("db", "GRANT DROP ON shop.* TO 'app'@'%'");
        const refreshed = await drivers.grant.read(appGrant.id, appGrant.outs);
        expect(refreshed.outs.privileges).toEqual(["DELETE", "DROP", "INSERT", "SELECT", "UPDATE"]);
        const d = await drivers.grant.diff(refreshed.id, refreshed.outs, declared);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(refreshed.id, refreshed.outs, d.inputs);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
    });

    test("an account's only grant: privileges added on other objects (global, another schema) are read and taken away", async () => {
        const declared = { ...grantInputs(lab, db, "app", "shop", APP_PRIVS), onlyGrant: true, otherPrivileges: [] };
        // Older state (before onlyGrant) moves to it by an update, never a replacement.
        expect(await drivers.grant.diff(appGrant.id, appGrant.outs, declared)).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(appGrant.id, appGrant.outs, declared);
        await lab.sql("db", "GRANT PROCESS, SELECT ON *.* TO 'app'@'%'");
        await lab.sql("db", "CREATE DATABASE other");
        await lab.sql("db", "GRANT DROP ON other.* TO 'app'@'%'");

        const refreshed = await drivers.grant.read(appGrant.id, appGrant.outs);
        expect(refreshed.outs.otherPrivileges).toEqual(["DROP ON other.*", "PROCESS, SELECT ON *.*"]);
        expect(refreshed.outs.privileges).toEqual([...APP_PRIVS].sort());
        const d = await drivers.grant.diff(refreshed.id, refreshed.outs, declared);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appGrant = await drivers.grant.update(refreshed.id, refreshed.outs, declared);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"], "shop.*": [...APP_PRIVS].sort() });
        const again = await drivers.grant.read(appGrant.id, appGrant.outs);
        expect((await drivers.grant.diff(again.id, again.outs, declared)).changes).toBe(false);
        await lab.sql("db", "DROP DATABASE other");
    });

    test("read reports a password changed behind its back (it no longer logs in); update sets the declared one again", async () => {
        const declared = userInputs(lab, db, "app", P2);
        expect((await drivers.user.read(appUser.id, appUser.outs)).outs.plaintextPassword).toBe(P2);
        const OTHER = "Pw-other-91c0aa";
        secrets.push(OTHER);
        await lab.sql("db", `ALTER USER 'app'@'%' IDENTIFIED BY '${OTHER}'`);

        const refreshed = await drivers.user.read(appUser.id, appUser.outs);
        expect(refreshed.id).toBe(appUser.id);
        expect(refreshed.outs.plaintextPassword).not.toBe(P2);
        const d = await drivers.user.diff(refreshed.id, refreshed.outs, declared);
        expect(d).toMatchObject({ changes: true, replaces: [] });
        appUser = await drivers.user.update(refreshed.id, refreshed.outs, d.inputs);
        expect(await runSql(db, { user: "app", password: P2, database: "shop" }, "SELECT COUNT(*) AS n FROM t")).toEqual([{ n: "2" }]);
        await expect(runSql(db, { user: "app", password: OTHER }, "SELECT 1")).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
        const again = await drivers.user.read(appUser.id, appUser.outs);
        expect((await drivers.user.diff(again.id, again.outs, declared)).changes).toBe(false);
    });

    test("a user or database dropped behind the lab's back reads as gone; creating them again restores them", async () => {
        secrets.push("Pw-gone-1");
        const gone = await drivers.user.create(userInputs(lab, db, "gone", "Pw-gone-1"));
        const scratch = await drivers.database.create(databaseInputs(lab, db, "scratch"));
        await lab.sql("db", "DROP USER 'gone'@'%'");
        await lab.sql("db", "DROP DATABASE scratch");
        expect((await drivers.user.read(gone.id, gone.outs)).id).toBe("");
        expect((await drivers.database.read(scratch.id, scratch.outs)).id).toBe("");
        await drivers.user.create(userInputs(lab, db, "gone", "Pw-gone-1"));
        await drivers.database.create(databaseInputs(lab, db, "scratch"));
        expect((await runSql(db, { user: "gone", password: "Pw-gone-1" }, "SELECT 1 AS one")).map((r) => Number(r.one))).toEqual([1]);
        expect(await lab.sql("db", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'scratch'")).toHaveLength(1);
        await drivers.user.delete(gone.id, gone.outs);
        await drivers.database.delete(scratch.id, scratch.outs);
    });

    test("errors and check failures carry no password", async () => {
        // CREATE USER for a user that exists fails on the server; the message must not echo the statement.
        const dup = await rejection(drivers.user.create(userInputs(lab, db, "app", P1)));
        expect(dup.error.message).toMatch(/CREATE USER/);
        await expect(drivers.user.create(userInputs(lab, db, "", P1))).rejects.toThrow(/user must be 1 to 32 characters/);
        await expect(drivers.grant.create(grantInputs(lab, db, "app", "shop", []))).rejects.toThrow(/at least one privilege/);
        // A wrong admin password fails at once, naming the server but not the password.
        const wrongAdmin = { ...userInputs(lab, db, "other", P1), adminPassword: `${lab.rootPassword}-wrong` };
        secrets.push(wrongAdmin.adminPassword);
        const denied = await rejection(drivers.user.create(wrongAdmin));
        expect(denied.error.message).toMatch(/Access denied/);
        expect(denied.elapsedMs).toBeLessThan(10_000);
        expect(await userExists(lab, "db", "other")).toBe(false);
    });

    test("delete removes the grant, the users and the database, and is idempotent", async () => {
        await drivers.grant.delete(appGrant.id, appGrant.outs);
        expect(await grantsOf(lab, "db", "app")).toEqual({ "*.*": ["USAGE"] });
        await drivers.grant.delete(replGrant.id, replGrant.outs);
        expect(await grantsOf(lab, "db", "repl")).toEqual({ "*.*": ["USAGE"] });

        await drivers.user.delete(appUser.id, appUser.outs);
        await drivers.user.delete(replUser.id, replUser.outs);
        expect(await userExists(lab, "db", "app")).toBe(false);
        expect(await userExists(lab, "db", "repl")).toBe(false);
        await expect(runSql(db, { user: "app", password: P2 }, "SELECT 1")).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });

        await drivers.database.delete(dbState.id, dbState.outs);
        expect(await lab.sql("db", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'")).toHaveLength(0);

        // A refresh now finds them gone (empty id), and deleting again does no harm.
        expect((await drivers.user.read(appUser.id, appUser.outs)).id).toBe("");
        expect((await drivers.grant.read(appGrant.id, appGrant.outs)).id).toBe("");
        expect((await drivers.database.read(dbState.id, dbState.outs)).id).toBe("");
        await drivers.grant.delete(appGrant.id, appGrant.outs);
        await drivers.user.delete(appUser.id, appUser.outs);
        await drivers.database.delete(dbState.id, dbState.outs);
    });

    test("no password appears in any result of any call outside the fields kept secret", () => {
        const calls: CallRecord[] = drivers.calls;
        expect(calls.length).toBeGreaterThan(30);
        for (const m of ["check", "diff", "create", "read", "update", "delete"]) {
            expect({ m, called: calls.some((c) => c.method === m) }).toEqual({ m, called: true });
        }
        expect(findLeaks(calls, secrets, drivers.registrations)).toEqual([]);
        // The scan does find a password where it is allowed: in the user's secret plaintextPassword output.
        expect(calls.some((c) => c.method === "create" && (c.result as any)?.outs?.plaintextPassword === P1)).toBe(true);
        // ...and the scan would report it if the class did not keep that field secret.
        const unmarked = { ...drivers.registrations, user: { ...drivers.registrations.user, additionalSecretOutputs: ["adminPassword"] } };
        expect(findLeaks(calls, secrets, unmarked)).toContainEqual({ kind: "user", method: "create", where: "outs.plaintextPassword" });
    });
});
