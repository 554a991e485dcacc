import { DEMO_USERS, demoAppConfig, monitorPrivileges } from "../../components/demoApp";
import { versionBefore } from "../../components/imageName";
import * as tables from "../../components/replication/labTablesSql";

describe("the desired topology's SQL", () => {
    const servers: tables.DesiredServer[] = [
        { serverIndex: 0, role: "replica", delaySeconds: 0, leftOut: "forced failover: did not answer" },
        { serverIndex: 1, role: "source", delaySeconds: 0, leftOut: "" },
        { serverIndex: 2, role: "replica", delaySeconds: 3600, leftOut: "" },
    ];

    test("a write makes the schema and table if missing, then replaces every row in one transaction", () => {
        const sql = tables.writeDesired(servers);
        expect(sql.map((s) => s.sql.split(" ").slice(0, 2).join(" "))).toEqual([
            "CREATE DATABASE", "CREATE TABLE", "START TRANSACTION", "DELETE FROM", "INSERT INTO", "COMMIT",
        ]);
        expect(sql[0].sql).toBe("CREATE DATABASE IF NOT EXISTS `mysql_replicas`");
        expect(sql[4].params).toEqual([0, "replica", 0, "forced failover: did not answer", 1, "source", 0, null, 2, "replica", 3600, null]);
        expect(tables.writeDesired([]).map((s) => s.sql)).not.toContainEqual(expect.stringMatching(/^INSERT/));
    });

    test("rows read back are what was written (an empty left-out reason is NULL on the server)", () => {
        const rows = servers.map((s) => ({ server_index: s.serverIndex, role: s.role, delay_seconds: String(s.delaySeconds), left_out: s.leftOut || null }));
        expect(tables.parseDesired(rows)).toEqual(servers);
    });

    test("tables are named, never spliced in as values", () => {
        expect(tables.tableExists("app", "information")).toEqual({
            sql: expect.stringContaining("table_schema = ? AND table_name = ?"), params: ["app", "information"],
        });
        expect(tables.dropTable("app", "in`fo").sql).toBe("DROP TABLE IF EXISTS `app`.`in``fo`");
    });
});

describe("the demo app's accounts and config", () => {
    test.each([
        ["mysql", "9.7", ["REPLICATION CLIENT"]],
        ["mysql", "5.7", ["REPLICATION CLIENT"]],
        ["mariadb", "11.8", ["BINLOG MONITOR", "SLAVE MONITOR"]],
        ["mariadb", "10.11", ["BINLOG MONITOR", "SLAVE MONITOR"]],
        ["mariadb", "10.5", ["BINLOG MONITOR", "SLAVE MONITOR"]],
        ["mariadb", "10.5.8", ["REPLICATION CLIENT"]],
        ["mariadb", "10.4", ["REPLICATION CLIENT"]],
        ["mariadb", undefined, ["BINLOG MONITOR", "SLAVE MONITOR"]],
    ] as const)("the monitor on %s %s may read replication state with %p", (flavor, version, privileges) => {
        expect(monitorPrivileges(flavor, version)).toEqual(privileges);
    });

    test("versionBefore takes a part the tag leaves out as its newest", () => {
        expect(versionBefore("10.5.8", "10.5.9")).toBe(true);
        expect(versionBefore("10.5", "10.5.9")).toBe(false);
        expect(versionBefore("10", "10.5.9")).toBe(false);
        expect(versionBefore("9", "10.5.9")).toBe(true);
        expect(versionBefore(undefined, "10.5.9")).toBe(false);
    });

    test("the config names the servers (by index) and the endpoint by container name, and the app's own accounts, never root", () => {
        const c = demoAppConfig({
            flavor: "mysql", database: "app", readEndpointHost: "p-read",
            serverHost: "p-server-{index}",
        }, "app-pw", "monitor-pw");
        expect(c).toMatchObject({
            database: "app", table: "information", desiredTable: "mysql_replicas.desired_topology",
            serverHost: "p-server-{index}", serverPort: 3306,
            readEndpoint: { host: "p-read", port: 3306, statsUrl: "http://p-read:8404/;csv" },
            app: { user: DEMO_USERS.app, password: "app-pw" },
            monitor: { user: DEMO_USERS.monitor, password: "monitor-pw" },
        });
        expect(JSON.stringify(c)).not.toMatch(/root/);
    });
});
