/**
 * The live harness's stand-in for @pulumi/mysql (test/support/harness/mockRuntime/mysql.ts): its check and diff
 * follow terraform-provider-mysql v1.9.0's schema. These need no server; create, read and delete are
 * exercised on live MySQL by test/live/lab.test.ts.
 */
import { createHash } from "node:crypto";
import type { HandlerContext } from "../support/harness/mockRuntime/handler";
import { mysqlDatabaseHandler, mysqlGrantHandler, mysqlProviderHandler, mysqlUserHandler } from "../support/harness/mockRuntime/mysql";

const ctx = { urn: "urn:test", name: "test", docker: undefined as never, log: () => undefined } as HandlerContext;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("live harness: @pulumi/mysql as terraform-provider-mysql v1.9.0", () => {
    test("provider: endpoint and username required, defaults applied, a config change is an update", async () => {
        await expect(mysqlProviderHandler.check({ username: "root" }, undefined, ctx)).rejects.toThrow(/endpoint is required/);
        const p = await mysqlProviderHandler.check({ endpoint: "127.0.0.1:3306", username: "root", password: "x", version: "3.3.2" }, undefined, ctx);
        expect(p).toMatchObject({ tls: "false", authenticationPlugin: "native" });
        const d = await mysqlProviderHandler.diff("id", p, p, { ...p, endpoint: "127.0.0.1:3307" }, ctx);
        expect(d).toEqual({ changes: true, replaces: [], changedKeys: ["endpoint"] });
        await expect(mysqlProviderHandler.check({ ...p, tls: "true" }, undefined, ctx)).rejects.toThrow(/not implemented/);
    });

    test("Grant: every change replaces; privileges compare as a set", async () => {
        const g = await mysqlGrantHandler.check({ user: "app", host: "%", database: "app", privileges: ["SELECT", "INSERT"] }, undefined, ctx);
        expect(g).toMatchObject({ table: "*", grant: false, tlsOption: "NONE" });
        expect((await mysqlGrantHandler.diff("id", g, g, { ...g, privileges: ["INSERT", "SELECT"] }, ctx)).changes).toBe(false);
        for (const change of [{ privileges: ["SELECT"] }, { database: "other" }, { host: "localhost" }, { table: "t" }]) {
            const d = await mysqlGrantHandler.diff("id", g, g, { ...g, ...change }, ctx);
            expect(d.replaces).toEqual(Object.keys(change));
        }
        await expect(mysqlGrantHandler.check({ role: "r", database: "app", privileges: ["SELECT"] }, undefined, ctx)).rejects.toThrow(/not implemented/);
    });

    test("User: the password is kept as its SHA-256 and updated in place; user and host replace", async () => {
        const u = await mysqlUserHandler.check({ user: "app", host: "%", plaintextPassword: "pw1" }, undefined, ctx);
        expect(u).toMatchObject({ tlsOption: "NONE" });
        const state = { ...u, plaintextPassword: sha("pw1") };
        expect((await mysqlUserHandler.diff("app@%", u, state, u, ctx)).changes).toBe(false);
        expect(await mysqlUserHandler.diff("app@%", u, state, { ...u, plaintextPassword: "pw2" }, ctx))
            .toEqual({ changes: true, replaces: [], changedKeys: ["plaintextPassword"] });
        expect((await mysqlUserHandler.diff("app@%", u, state, { ...u, host: "localhost" }, ctx)).replaces).toEqual(["host"]);
        await expect(mysqlUserHandler.check({ user: "x", authPlugin: "mysql_no_login" }, undefined, ctx)).rejects.toThrow(/not implemented/);
    });

    test("Database: name replaces, character set and collation are altered; diffs compare with what was read back", async () => {
        const d = await mysqlDatabaseHandler.check({ name: "app" }, undefined, ctx);
        expect(d).toEqual({ name: "app", defaultCharacterSet: "utf8", defaultCollation: "utf8_general_ci" });
        // What MySQL 8.0.30+ reads back for utf8: a difference on every refresh (the program avoids it).
        const read = { name: "app", defaultCharacterSet: "utf8mb3", defaultCollation: "utf8mb3_general_ci" };
        expect(await mysqlDatabaseHandler.diff("app", d, read, d, ctx))
            .toEqual({ changes: true, replaces: [], changedKeys: ["defaultCharacterSet", "defaultCollation"] });
        expect((await mysqlDatabaseHandler.diff("app", d, d, { ...d, name: "other" }, ctx)).replaces).toEqual(["name"]);
    });
});
