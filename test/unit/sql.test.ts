import * as sql from "../../components/replication/sql";

const options: sql.SourceOptions = { host: "src", port: 3306, user: "repl", password: "pw", connectRetry: 2, retryCount: 86400 };
const v = (s: string) => sql.parseServerVersion(s);

/** Every statement of a dialect, in one comparable list. */
function statements(version: string): Record<string, string> {
    const d = sql.replicationDialect(v(version));
    return {
        change: d.changeSource(options).sql,
        start: d.start.sql,
        stop: d.stop.sql,
        resetReplica: d.resetReplica.sql,
        resetOwnGtids: d.resetOwnGtids.map((s) => s.sql).join("; "),
        showStatus: d.showStatus.sql,
        executedGtids: d.executedGtids.sql,
        wait: d.waitForGtids("x", 5).sql,
    };
}

const MYSQL_MODERN_CHANGE = "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, " +
    "SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1, SOURCE_CONNECT_RETRY = 2, SOURCE_RETRY_COUNT = 86400";

describe("replication statements", () => {
    test("MySQL 5.7: MASTER forms, no public key option, RESET MASTER", () => {
        expect(statements("5.7.44-log")).toEqual({
            change: "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
                "MASTER_AUTO_POSITION = 1, MASTER_CONNECT_RETRY = 2, MASTER_RETRY_COUNT = 86400",
            start: "START SLAVE",
            stop: "STOP SLAVE",
            resetReplica: "RESET SLAVE ALL",
            resetOwnGtids: "RESET MASTER",
            showStatus: "SHOW SLAVE STATUS",
            executedGtids: "SELECT @@GLOBAL.gtid_executed AS gtids",
            wait: "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 5) = 0 AS reached",
        });
    });

    test("MySQL 8.0.21: MASTER forms with the public key for caching_sha2", () => {
        const s = statements("8.0.21");
        expect(s.change).toBe("CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
            "MASTER_AUTO_POSITION = 1, GET_MASTER_PUBLIC_KEY = 1, MASTER_CONNECT_RETRY = 2, MASTER_RETRY_COUNT = 86400");
        expect(s.start).toBe("START SLAVE");
        expect(s.showStatus).toBe("SHOW SLAVE STATUS");
    });

    test("MySQL 8.0.22: REPLICA verbs arrive, CHANGE MASTER TO stays", () => {
        expect(statements("8.0.22")).toEqual({
            change: "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
                "MASTER_AUTO_POSITION = 1, GET_MASTER_PUBLIC_KEY = 1, MASTER_CONNECT_RETRY = 2, MASTER_RETRY_COUNT = 86400",
            start: "START REPLICA",
            stop: "STOP REPLICA",
            resetReplica: "RESET REPLICA ALL",
            resetOwnGtids: "RESET MASTER",
            showStatus: "SHOW REPLICA STATUS",
            executedGtids: "SELECT @@GLOBAL.gtid_executed AS gtids",
            wait: "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 5) = 0 AS reached",
        });
    });

    test("MySQL 8.0.23+: CHANGE REPLICATION SOURCE TO, RESET MASTER still", () => {
        const s = statements("8.0.40");
        expect(s.change).toBe(MYSQL_MODERN_CHANGE);
        expect(s.start).toBe("START REPLICA");
        expect(s.resetOwnGtids).toBe("RESET MASTER");
        expect(statements("8.0.23").change).toBe(MYSQL_MODERN_CHANGE);
    });

    test.each(["8.4.3", "9.1.0"])("MySQL %s: only the new forms (8.4 removed the old ones)", (version) => {
        const s = statements(version);
        expect(s).toEqual({
            change: MYSQL_MODERN_CHANGE,
            start: "START REPLICA",
            stop: "STOP REPLICA",
            resetReplica: "RESET REPLICA ALL",
            resetOwnGtids: "RESET BINARY LOGS AND GTIDS",
            showStatus: "SHOW REPLICA STATUS",
            executedGtids: "SELECT @@GLOBAL.gtid_executed AS gtids",
            wait: "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 5) = 0 AS reached",
        });
        expect(Object.values(s).join(" ")).not.toMatch(/MASTER|SLAVE/);
    });

    test.each(["10.6.18-MariaDB", "10.11.6-MariaDB-0+deb12u1-log", "11.4.2-MariaDB-ubu2404", "11.8.3-MariaDB"])(
        "MariaDB %s: CHANGE MASTER TO with MASTER_USE_GTID=slave_pos", (version) => {
            expect(statements(version)).toEqual({
                change: "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, " +
                    "MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 2",
                start: "START REPLICA",
                stop: "STOP REPLICA",
                resetReplica: "RESET REPLICA ALL",
                resetOwnGtids: "RESET MASTER; SET GLOBAL gtid_slave_pos = ''",
                showStatus: "SHOW REPLICA STATUS",
                executedGtids: "SELECT @@GLOBAL.gtid_binlog_pos AS gtids",
                wait: "SELECT MASTER_GTID_WAIT(?, 5) = 0 AS reached",
            });
        });

    test("MariaDB before 10.5.1 uses SLAVE verbs", () => {
        expect(statements("10.4.34-MariaDB").start).toBe("START SLAVE");
    });

    test("a delay is added where given (0 clears one), in each dialect's word", () => {
        expect(sql.replicationDialect(v("9.7.4")).changeSource({ ...options, delaySeconds: 3600 }).sql).toBe(`${MYSQL_MODERN_CHANGE}, SOURCE_DELAY = 3600`);
        expect(sql.replicationDialect(v("8.0.22")).changeSource({ ...options, delaySeconds: 0 }).sql).toMatch(/, MASTER_DELAY = 0$/);
        expect(sql.replicationDialect(v("11.8.3-MariaDB")).changeSource({ ...options, delaySeconds: 5 }).sql).toMatch(/MASTER_CONNECT_RETRY = 2, MASTER_DELAY = 5$/);
        expect(sql.replicationDialect(v("9.7.4")).changeSource(options).sql).toBe(MYSQL_MODERN_CHANGE);
        expect(() => sql.replicationDialect(v("9.7.4")).changeSource({ ...options, delaySeconds: -1 })).toThrow(/not a non-negative integer/);
        expect(sql.normaliseStatus({ Source_Host: "s", SQL_Delay: 5 }).sqlDelay).toBe(5);
    });

    test("credentials and hosts travel as parameters, never in the text", () => {
        for (const version of ["5.7.44", "8.0.22", "8.4.3", "10.11.6-MariaDB"]) {
            const stmt = sql.replicationDialect(v(version)).changeSource({ ...options, password: "s3cret'; DROP" });
            expect(stmt.sql).not.toContain("s3cret");
            expect(stmt.params).toEqual(["src", 3306, "repl", "s3cret'; DROP"]);
        }
    });

    test("bad numbers are refused rather than spliced into SQL", () => {
        const d = sql.replicationDialect(v("8.4.0"));
        expect(() => d.changeSource({ ...options, connectRetry: 1.5 })).toThrow(/not a non-negative integer/);
    });
});

describe("role statements", () => {
    test("MySQL 8+ persists only the fence: a source opens for now and restarts read-only; super_read_only off first", () => {
        expect(sql.roleStatements(v("8.4.3"), "source").map((s) => s.sql)).toEqual([
            "SET PERSIST_ONLY read_only = ON", "SET PERSIST_ONLY super_read_only = ON",
            "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF",
        ]);
        expect(sql.roleStatements(v("8.0.36"), "replica").map((s) => s.sql))
            .toEqual(["SET PERSIST read_only = ON", "SET PERSIST super_read_only = ON"]);
    });
    test("whether a server starts fenced is read where it can be persisted", () => {
        expect(sql.persistedFenceQuery(v("9.7.4"))?.sql).toContain("performance_schema.persisted_variables");
        expect(sql.persistedFenceQuery(v("5.7.44"))).toBeUndefined();
        expect(sql.persistedFenceQuery(v("11.8.3-MariaDB"))).toBeUndefined();
        expect([sql.ownServerId(3), sql.ownServerId(sql.seedingServerId(3))]).toEqual([3, 3]);
    });
    test("MySQL 5.7 cannot persist", () => {
        expect(sql.roleStatements(v("5.7.44"), "replica").map((s) => s.sql))
            .toEqual(["SET GLOBAL read_only = ON", "SET GLOBAL super_read_only = ON"]);
    });
    test("MariaDB has no super_read_only and no SET PERSIST", () => {
        expect(sql.roleStatements(v("10.11.6-MariaDB"), "replica").map((s) => s.sql)).toEqual(["SET GLOBAL read_only = ON"]);
        expect(sql.roleStatements(v("11.4.2-MariaDB"), "source").map((s) => s.sql)).toEqual(["SET GLOBAL read_only = OFF"]);
        expect(sql.readOnlyQuery(v("11.4.2-MariaDB")).sql).toContain("NULL AS super_read_only");
    });
});

describe("switchover statements", () => {
    test("MySQL freezes with super_read_only (root too); a former source needs no start position", () => {
        const d = sql.switchoverDialect(v("9.7.4"));
        expect(d.freeze.map((s) => s.sql)).toEqual(["SET GLOBAL super_read_only = ON"]);
        expect(d.flushLogs.sql).toBe("FLUSH BINARY LOGS");
        expect(d.beforeReplicating).toEqual([]);
    });
    test("MariaDB freezes with read_only; a former source starts from what it wrote", () => {
        const d = sql.switchoverDialect(v("11.8.9-MariaDB"));
        expect(d.freeze.map((s) => s.sql)).toEqual(["SET GLOBAL read_only = ON"]);
        expect(d.beforeReplicating.map((s) => s.sql)).toEqual(["SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"]);
    });
});

describe("status rows", () => {
    test("MySQL 8.4 columns", () => {
        const s = sql.normaliseStatus({
            Replica_IO_Running: "Yes", Replica_SQL_Running: "Yes", Source_Host: "server-0", Source_Port: 3306,
            Source_User: "repl", Seconds_Behind_Source: 0, Last_IO_Errno: 0, Last_IO_Error: "", Last_SQL_Errno: 0,
            Last_SQL_Error: "", Auto_Position: 1, Connect_Retry: 2, Retrieved_Gtid_Set: "u:1-3", Executed_Gtid_Set: "u:1-3",
        });
        expect(s).toMatchObject({ configured: true, ioRunning: "Yes", sqlRunning: "Yes", sourceHost: "server-0",
            sourcePort: 3306, secondsBehind: 0, autoPosition: true, connectRetry: 2 });
    });
    test("MariaDB columns, NULL lag while stopped", () => {
        const s = sql.normaliseStatus({
            Slave_IO_Running: "Connecting", Slave_SQL_Running: "Yes", Master_Host: "server-0", Master_Port: 3306,
            Seconds_Behind_Master: null, Last_IO_Errno: 1045, Last_IO_Error: "Access denied", Using_Gtid: "Slave_Pos",
            Gtid_IO_Pos: "0-1-5",
        });
        expect(s).toMatchObject({ configured: true, ioRunning: "Connecting", secondsBehind: null, lastIoErrno: 1045,
            autoPosition: true, retrievedGtids: "0-1-5" });
    });
    test("no row means not configured", () => {
        expect(sql.normaliseStatus(undefined)).toMatchObject({ configured: false, ioRunning: "No", sqlRunning: "No" });
    });
    test("relay log used up: read and applied positions agree, under either flavor's column names", () => {
        const mysql = (exec: number) => sql.normaliseStatus({ Source_Host: "s", Source_Log_File: "mysql-bin.000002",
            Read_Source_Log_Pos: 900, Relay_Source_Log_File: "mysql-bin.000002", Exec_Source_Log_Pos: exec });
        expect(sql.relayLogApplied(mysql(900))).toBe(true);
        expect(sql.relayLogApplied(mysql(450))).toBe(false);
        const mariadb = (file: string) => sql.normaliseStatus({ Master_Host: "s", Master_Log_File: "mysql-bin.000003",
            Read_Master_Log_Pos: 120, Relay_Master_Log_File: file, Exec_Master_Log_Pos: 120 });
        expect(sql.relayLogApplied(mariadb("mysql-bin.000003"))).toBe(true);
        expect(sql.relayLogApplied(mariadb("mysql-bin.000002"))).toBe(false);
    });
});

describe("semi-synchronous replication", () => {
    test("MySQL 8.0.26+ and 9.x: source/replica plugins and names, persisted", () => {
        const d = sql.semiSyncDialect(v("9.7.4"));
        expect(d.plugins).toEqual([{ name: "rpl_semi_sync_source", library: "semisync_source.so" },
            { name: "rpl_semi_sync_replica", library: "semisync_replica.so" }]);
        expect(d.plugins.map((p) => sql.installPlugin(p).sql)).toEqual([
            "INSTALL PLUGIN rpl_semi_sync_source SONAME 'semisync_source.so'", "INSTALL PLUGIN rpl_semi_sync_replica SONAME 'semisync_replica.so'"]);
        expect(d.settings("source", true, 2000).map((s) => s.sql)).toEqual([
            "SET PERSIST rpl_semi_sync_source_enabled = ON", "SET PERSIST rpl_semi_sync_source_timeout = 2000",
            "SET PERSIST rpl_semi_sync_replica_enabled = OFF"]);
        expect(d.settings("replica", true, 2000).map((s) => s.sql)).toEqual([
            "SET PERSIST rpl_semi_sync_source_enabled = OFF", "SET PERSIST rpl_semi_sync_replica_enabled = ON"]);
        expect(d.readSettings.sql).toContain("@@GLOBAL.rpl_semi_sync_source_timeout AS timeout_ms");
    });
    test("MySQL 8.0.25 and older: master/slave plugins; 5.7 cannot persist", () => {
        expect(sql.semiSyncDialect(v("8.0.25")).plugins.map((p) => p.library)).toEqual(["semisync_master.so", "semisync_slave.so"]);
        expect(sql.semiSyncDialect(v("8.0.25")).settings("source", false, 10000)[0].sql).toBe("SET PERSIST rpl_semi_sync_master_enabled = OFF");
        expect(sql.semiSyncDialect(v("5.7.44")).settings("replica", true, 10000).map((s) => s.sql))
            .toEqual(["SET GLOBAL rpl_semi_sync_master_enabled = OFF", "SET GLOBAL rpl_semi_sync_slave_enabled = ON"]);
    });
    test("MariaDB: built in (no plugin), master/slave names, not persisted", () => {
        const d = sql.semiSyncDialect(v("11.8.3-MariaDB"));
        expect(d.plugins).toEqual([]);
        expect(d.settings("source", true, 500).map((s) => s.sql)).toEqual([
            "SET GLOBAL rpl_semi_sync_master_enabled = ON", "SET GLOBAL rpl_semi_sync_master_timeout = 500",
            "SET GLOBAL rpl_semi_sync_slave_enabled = OFF"]);
    });
    test("a timeout that is not a whole number is refused; only the lab's plugins are installed", () => {
        expect(() => sql.semiSyncDialect(v("9.7.4")).settings("source", true, 1.5)).toThrow(/not a non-negative integer/);
        expect(() => sql.installPlugin({ name: "x; DROP", library: "a.so" })).toThrow(/not a plugin/);
    });
});

describe("seeding server id", () => {
    test("a fresh replica catches up under an id no lab server has, distinct per server", () => {
        expect(sql.seedingServerId(1)).toBe(4294967294);
        expect(sql.seedingServerId(10)).toBe(4294967285);
        expect(() => sql.seedingServerId(0)).toThrow(/server id 0 is not a lab server id/);
    });
});

describe("failover statements", () => {
    test.each([
        ["5.7.44", "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD"],
        ["8.0.22", "STOP REPLICA IO_THREAD", "START REPLICA IO_THREAD"],
        ["9.7.4", "STOP REPLICA IO_THREAD", "START REPLICA IO_THREAD"],
        ["10.4.34-MariaDB", "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD"],
        ["11.8.3-MariaDB", "STOP REPLICA IO_THREAD", "START REPLICA IO_THREAD"],
    ])("%s stops and starts only the receiving thread", (version, stop, start) => {
        const d = sql.replicationDialect(v(version));
        expect([d.stopIo.sql, d.startIo.sql]).toEqual([stop, start]);
    });
});

describe("accounts", () => {
    test("statements quote identifiers and pass names as parameters", () => {
        expect(sql.createDatabase({ name: "app" }).sql).toBe("CREATE DATABASE IF NOT EXISTS `app`");
        expect(sql.createDatabase({ name: "a`b", defaultCharacterSet: "utf8mb4" }).sql)
            .toBe("CREATE DATABASE IF NOT EXISTS `a``b` CHARACTER SET utf8mb4");
        expect(sql.createUser({ user: "app", host: "%" }, "pw")).toEqual({ sql: "CREATE USER ?@? IDENTIFIED BY ?", params: ["app", "%", "pw"] });
        expect(sql.grant({ user: "repl", host: "%", database: "*", table: "*", privileges: ["replication slave", "REPLICATION CLIENT"] }))
            .toEqual({ sql: "GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO ?@?", params: ["repl", "%"] });
        expect(sql.grant({ user: "app", host: "%", database: "app", table: "*", privileges: ["ALL"] }).sql)
            .toBe("GRANT ALL PRIVILEGES ON `app`.* TO ?@?");
        expect(() => sql.grant({ user: "x", host: "%", database: "app", table: "*", privileges: ["SELECT; DROP"] })).toThrow(/not a privilege/);
    });

    test("SHOW GRANTS lines are read per object, with MariaDB's renamed privileges", () => {
        const lines = [
            "GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*ABC'",
            "GRANT SELECT ON `app`.* TO `reader`@`%`",
            "GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `repl`@`%`",
        ];
        expect(sql.grantedPrivileges(lines, { database: "app", table: "*" })).toEqual(["SELECT"]);
        expect(sql.grantedPrivileges(lines, { database: "*", table: "*" })).toEqual(["REPLICATION CLIENT", "REPLICATION SLAVE"]);
        expect(sql.grantedPrivileges(lines, { database: "other", table: "*" })).toEqual([]);
    });

    test("privileges on other objects than the declared one are each read once, USAGE, routines and roles left out", () => {
        const lines = [
            "GRANT SELECT, DELETE ON *.* TO `reader`@`%`",
            "GRANT BACKUP_ADMIN ON *.* TO `reader`@`%`",
            "GRANT SELECT ON `app`.* TO `reader`@`%`",
            "GRANT INSERT ON `we``ird`.`t1` TO `reader`@`%`",
            "GRANT EXECUTE ON PROCEDURE `app`.`p` TO `reader`@`%`",
            "GRANT `some_role`@`%` TO `reader`@`%`",
        ];
        const others = sql.otherGrants(lines, { database: "app", table: "*" });
        expect(others.map(sql.describeObjectPrivileges)).toEqual(["BACKUP_ADMIN, DELETE, SELECT ON *.*", "INSERT ON we`ird.t1"]);
        expect(others[1]).toEqual({ database: "we`ird", table: "t1", privileges: ["INSERT"] });
        // Revoking one quotes its names again.
        expect(sql.revoke({ user: "reader", host: "%", ...others[1] }).sql).toBe("REVOKE INSERT ON `we``ird`.`t1` FROM ?@?");
        expect(sql.otherGrants(["GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*AB'", lines[2]], { database: "app", table: "*" })).toEqual([]);
        // For a global grant (repl), a schema grant is the other object.
        expect(sql.otherGrants(["GRANT REPLICATION SLAVE ON *.* TO `repl`@`%`", "GRANT SELECT ON `app`.* TO `repl`@`%`"], { database: "*", table: "*" })
            .map(sql.describeObjectPrivileges)).toEqual(["SELECT ON app.*"]);
    });

    test("a partial revoke reads back as the privileges left, so it differs from ALL PRIVILEGES (MySQL 9.7 and MariaDB lines)", () => {
        const mysql = [
            "GRANT USAGE ON *.* TO `app`@`%`",
            "GRANT SELECT, UPDATE, DELETE, CREATE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, " +
                "CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EVENT, TRIGGER ON `app`.* TO `app`@`%`",
        ];
        const mariadb = ["GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*AB'", "GRANT SELECT, UPDATE ON `app`.* TO `app`@`%`"];
        expect(sql.grantedPrivileges(mysql, { database: "app", table: "*" })).not.toContain("INSERT");
        expect(sql.grantedPrivileges(mysql, { database: "app", table: "*" })).not.toEqual(sql.normalisePrivileges(["ALL PRIVILEGES"]));
        expect(sql.grantedPrivileges(mariadb, { database: "app", table: "*" })).toEqual(["SELECT", "UPDATE"]);
        // Everything revoked: nothing left on the object.
        expect(sql.grantedPrivileges(["GRANT USAGE ON *.* TO `app`@`%`"], { database: "app", table: "*" })).toEqual([]);
        expect(sql.grantedPrivileges(["GRANT ALL PRIVILEGES ON `app`.* TO `app`@`%`"], { database: "app", table: "*" })).toEqual(["ALL PRIVILEGES"]);
    });
});

describe("GTID helpers", () => {
    test("MariaDB errant transactions are those the source's state does not cover", () => {
        expect(sql.mariadbErrant("0-1-10,0-3-2", "0-1-12")).toEqual(["0-3-2"]);
        expect(sql.mariadbErrant("0-1-10", "0-1-9")).toEqual(["0-1-10"]);
        expect(sql.mariadbErrant("", "0-1-9")).toEqual([]);
        expect(sql.mariadbErrant("0-1-9", "0-1-9,1-2-4")).toEqual([]);
    });
    test("versions compare by major, minor, patch", () => {
        expect(sql.atLeast(v("8.0.23"), 8, 0, 23)).toBe(true);
        expect(sql.atLeast(v("8.0.22"), 8, 0, 23)).toBe(false);
        expect(sql.atLeast(v("10.11.6-MariaDB"), 10, 5, 1)).toBe(true);
        expect(v("10.11.6-MariaDB-0+deb12u1-log")).toEqual({ flavor: "mariadb", major: 10, minor: 11, patch: 6 });
        expect(() => v("unknown")).toThrow(/cannot read the server version/);
    });
});

describe("who wrote the transactions a replica has beyond its source", () => {
    test("MySQL: by server_uuid", () => {
        const own = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        expect(sql.splitMysqlGtids(`${own}:1-3,\n aaaaaaaa-71ca-11e1-9e33-c80aa9429562:7`, own.toUpperCase()))
            .toEqual({ own: `${own}:1-3`, others: "aaaaaaaa-71ca-11e1-9e33-c80aa9429562:7" });
        expect(sql.splitMysqlGtids("", own)).toEqual({ own: "", others: "" });
    });
    test("MariaDB: by server_id", () => {
        expect(sql.splitMariadbGtids(["0-3-2", "0-1-14", "1-3-1"], 3)).toEqual({ own: "0-3-2,1-3-1", others: "0-1-14" });
    });
});

describe("seeding a replica that lacks the source's history", () => {
    const facts = (over: Partial<sql.SeedFacts>): sql.SeedFacts =>
        ({ mode: "auto", fresh: true, purgedMissing: "", snapshot: "clone", serverVersion: "mysql 9.7.4", ...over });

    test("auto replays the binary log while it holds everything, and copies the source once it does not", () => {
        expect(sql.chooseSeed(facts({}))).toBe("binlog");
        expect(sql.chooseSeed(facts({ purgedMissing: "u:1-5" }))).toBe("clone");
        expect(sql.chooseSeed(facts({ purgedMissing: "0-1-5", snapshot: "dump", serverVersion: "mariadb 11.8.9" }))).toBe("dump");
    });

    test("snapshot copies every fresh replica; a replica that holds data is only re-pointed", () => {
        expect(sql.chooseSeed(facts({ mode: "snapshot" }))).toBe("clone");
        expect(sql.chooseSeed(facts({ mode: "snapshot", fresh: false }))).toBe("binlog");
    });

    test("binlog with purged logs is refused, naming the purged GTIDs and the seed setting", () => {
        expect(() => sql.chooseSeed(facts({ mode: "binlog", purgedMissing: "u:1-5" })))
            .toThrow(/purged binary logs .*\(u:1-5\), so seed "binlog" cannot bring it up to date. Set seed to auto or snapshot/);
    });

    test("a replica holding data of its own is never copied over", () => {
        for (const mode of sql.SEED_MODES) {
            expect(() => sql.chooseSeed(facts({ mode, fresh: false, purgedMissing: "u:1-5" })))
                .toThrow(/lacks transactions the source has purged .*\(u:1-5\).*never wipes a replica/);
        }
    });

    test("a server without CLONE cannot take a snapshot, and says which server it is", () => {
        expect(() => sql.chooseSeed(facts({ mode: "snapshot", snapshot: undefined, serverVersion: "mysql 5.7.44" })))
            .toThrow(/seed "snapshot" was asked for, but mysql 5.7.44 cannot copy a source/);
        expect(() => sql.chooseSeed(facts({ purgedMissing: "u:1-5", snapshot: undefined, serverVersion: "mysql 8.0.16" })))
            .toThrow(/\(u:1-5\), but mysql 8.0.16 cannot copy a source .*8\.0\.17/);
    });

    test("snapshot methods and CLONE statements by flavor and version", () => {
        expect(["5.7.44", "8.0.16", "8.0.17", "8.4.3", "9.7.4", "10.11.6-MariaDB", "11.8.9-MariaDB"].map((s) => sql.snapshotMethod(v(s))))
            .toEqual([undefined, undefined, "clone", "clone", "clone", "dump", "dump"]);
        const d = sql.cloneDialect(v("8.4.3"))!;
        expect(sql.installPlugin(d.plugin).sql).toBe("INSTALL PLUGIN clone SONAME 'mysql_clone.so'");
        expect(d.validDonor("lab-server-0", 3306)).toEqual({ sql: "SET GLOBAL clone_valid_donor_list = ?", params: ["lab-server-0:3306"] });
        expect(d.cloneFrom("root", "lab-server-0", 3306, "pw"))
            .toEqual({ sql: "CLONE INSTANCE FROM ?@?:3306 IDENTIFIED BY ?", params: ["root", "lab-server-0", "pw"] });
        // The clone account: made for one clone without binlogging it, BACKUP_ADMIN only; removed the same way.
        expect(d.createAccount("pw").map((st) => st.sql)).toEqual(["SET SESSION sql_log_bin = 0", "DROP USER IF EXISTS ?@'%'",
            "CREATE USER ?@'%' IDENTIFIED BY ?", "GRANT BACKUP_ADMIN ON *.* TO ?@'%'", "SET SESSION sql_log_bin = 1"]);
        expect(d.createAccount("pw")[2].params).toEqual([sql.CLONE_USER, "pw"]);
        expect(d.dropAccount.map((st) => st.sql)).toEqual(["SET SESSION sql_log_bin = 0", "DROP USER IF EXISTS ?@'%'", "SET SESSION sql_log_bin = 1"]);
        expect(sql.purgedMissingQuery("u:1-3")).toEqual({ sql: "SELECT GTID_SUBTRACT(@@GLOBAL.gtid_purged, ?) AS missing", params: ["u:1-3"] });
    });

    test("MariaDB: what the oldest binary log's Gtid_list says was purged, per domain", () => {
        expect(sql.parseGtidList("[]")).toEqual([]);
        expect(sql.parseGtidList("[0-1-5,1-3-9]")).toEqual(["0-1-5", "1-3-9"]);
        // A fresh replica lacks everything purged; one that reached a domain's sequence lacks nothing there.
        expect(sql.mariadbPurgedMissing(["0-1-5", "1-3-9"], "")).toBe("0-1-5,1-3-9");
        expect(sql.mariadbPurgedMissing(["0-1-5", "1-3-9"], "0-2-7,1-3-8")).toBe("1-3-9");
        expect(sql.mariadbPurgedMissing(["0-1-5"], "0-1-5")).toBe("");
        expect(sql.mariadbPurgedMissing([], "")).toBe("");
    });

    test("MariaDB: a dumped replica's binary log state is the source's as of the snapshot", () => {
        // Server 1 wrote on after the snapshot (0-1-500): its entry stands at the snapshot; server 2's
        // earlier writes stay; server 3 wrote only after it; domain 1 is taken as the snapshot saw it.
        expect(sql.mariadbSnapshotState("0-1-1000,0-2-300,0-3-700,1-4-9", "0-1-500,1-4-9")).toBe("0-1-500,0-2-300,1-4-9");
        expect(sql.mariadbSnapshotState("0-1-5", "0-1-5")).toBe("0-1-5");
    });
});

describe("GTID arithmetic per flavor", () => {
    const MYSQL = ["5.7.44-log", "8.0.21", "8.4.3", "9.7.0"];
    const MARIADB = ["10.6.18-MariaDB", "10.11.6-MariaDB-0+deb12u1-log", "11.8.2-MariaDB"];

    test.each(MYSQL)("MySQL %s: compared on the server with GTID_SUBTRACT, own transactions by server_uuid", (version) => {
        const g = sql.gtidDialect(v(version));
        expect(g.stateQuery.sql).toBe("SELECT @@GLOBAL.gtid_executed AS gtids");
        expect(g.ownQuery.sql).toBe("SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.server_uuid AS self");
        expect(g.subtractQuery!("aaa:1-5,\nbbb:1", "aaa:1-3")).toEqual({ sql: "SELECT GTID_SUBTRACT(?, ?) AS difference", params: ["aaa:1-5,bbb:1", "aaa:1-3"] });
        expect(() => g.subtract("a", "b")).toThrow(/on the server/);
        expect(g.split("AAA:4-5,bbb:1", "aaa")).toEqual({ own: "AAA:4-5", others: "bbb:1" });
        expect(g.heldQuery.sql).toBe("SELECT @@GLOBAL.gtid_executed AS slave, '' AS `binlog`");
        const p = sql.purgedDialect(v(version));
        expect(p.kind === "query" && p.missing("aaa:1-3")).toEqual({ sql: "SELECT GTID_SUBTRACT(@@GLOBAL.gtid_purged, ?) AS missing", params: ["aaa:1-3"] });
    });

    test.each(MARIADB)("MariaDB %s: compared here from gtid_binlog_state, own transactions by server_id", (version) => {
        const g = sql.gtidDialect(v(version));
        expect(g.stateQuery.sql).toBe("SELECT @@GLOBAL.gtid_binlog_state AS gtids");
        expect(g.ownQuery.sql).toBe("SELECT @@GLOBAL.gtid_binlog_state AS gtids, @@GLOBAL.server_id AS self");
        expect(g.subtractQuery).toBeUndefined();
        // Server 2 wrote 0-2-7 on its own; 0-1-9 came from server 1 and is beyond what the source has.
        expect(g.subtract("0-1-9,0-2-7", "0-1-5")).toBe("0-1-9,0-2-7");
        expect(g.subtract("0-1-5", "0-1-9")).toBe("");
        expect(g.split("0-1-9,0-2-7", "2")).toEqual({ own: "0-2-7", others: "0-1-9" });
        expect(g.heldQuery.sql).toBe("SELECT @@GLOBAL.gtid_slave_pos AS slave, @@GLOBAL.gtid_binlog_state AS `binlog`");
        const p = sql.purgedDialect(v(version));
        expect(p.kind).toBe("gtidList");
        if (p.kind === "gtidList") {
            expect(p.binaryLogs.sql).toBe("SHOW BINARY LOGS");
            expect(p.events("mysql-bin.000003")).toEqual({ sql: "SHOW BINLOG EVENTS IN ? LIMIT 4", params: ["mysql-bin.000003"] });
        }
    });

    test("MariaDB: a dumped replica's binary log restarts at the snapshot, outside the binary log", () => {
        expect(sql.restartBinlogAt("0-1-42")).toEqual([
            { sql: "SET SESSION sql_log_bin = 0" },
            { sql: "RESET MASTER" },
            { sql: "SET GLOBAL gtid_binlog_state = ?", params: ["0-1-42"] },
            { sql: "SET SESSION sql_log_bin = 1" },
        ]);
        expect(sql.slavePosQuery.sql).toBe("SELECT @@GLOBAL.gtid_slave_pos AS pos");
    });
});

describe("session and server statements", () => {
    test("super_read_only exists on MySQL only; MySQL 8+ persists a role", () => {
        expect(sql.superReadOnly(v("9.7.0"))!.query.sql).toBe("SELECT @@GLOBAL.super_read_only AS `on`");
        expect([sql.superReadOnly(v("5.7.44"))!.set(true).sql, sql.superReadOnly(v("8.4.3"))!.set(false).sql])
            .toEqual(["SET GLOBAL super_read_only = ON", "SET GLOBAL super_read_only = OFF"]);
        expect(sql.superReadOnly(v("11.8.2-MariaDB"))).toBeUndefined();
        expect(["5.7.44", "8.0.21", "9.7.0", "10.11.6-MariaDB", "11.8.2-MariaDB"].map((x) => sql.persistsRole(v(x))))
            .toEqual([false, true, true, false, false]);
    });

    test("ids and numbers are checked before they reach statement text", () => {
        expect(sql.setServerId(4294967294).sql).toBe("SET GLOBAL server_id = 4294967294");
        expect(sql.killSession(12).sql).toBe("KILL 12");
        expect(sql.killQuery(12).sql).toBe("KILL QUERY 12");
        expect(sql.lockWaitTimeout(42).sql).toBe("SET SESSION lock_wait_timeout = 42");
        expect(sql.seedLock("mysql_replicas_seed", 30)).toEqual({ sql: "SELECT GET_LOCK(?, ?) AS got", params: ["mysql_replicas_seed", 30] });
        expect(sql.releaseSeedLock("mysql_replicas_seed")).toEqual({ sql: "SELECT RELEASE_LOCK(?)", params: ["mysql_replicas_seed"] });
        expect([sql.sessionBinlog(false).sql, sql.sessionBinlog(true).sql]).toEqual(["SET SESSION sql_log_bin = 0", "SET SESSION sql_log_bin = 1"]);
        expect(() => sql.setServerId(-1)).toThrow(/not a non-negative integer/);
        expect(() => sql.killSession(1.5)).toThrow(/not a non-negative integer/);
        expect(() => sql.lockWaitTimeout(Number.NaN)).toThrow(/not a non-negative integer/);
    });

    test("state reads name their columns as the code reads them", () => {
        expect(sql.versionQuery.sql).toBe("SELECT VERSION() AS v");
        expect(sql.serverIdQuery.sql).toBe("SELECT @@GLOBAL.server_id AS id");
        expect(sql.schemasQuery.sql).toBe("SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME");
        expect(sql.accountsQuery.sql).toBe("SELECT User AS user, Host AS host FROM mysql.user");
        expect(sql.globalStatus("Rpl_semi_sync_source_clients")).toEqual({ sql: "SHOW GLOBAL STATUS LIKE ?", params: ["Rpl_semi_sync_source_clients"] });
        expect(sql.binlogDumpsQuery.sql).toMatch(/^SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND IN \('Binlog Dump', 'Binlog Dump GTID'\)$/);
    });
});
