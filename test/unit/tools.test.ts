/**
 * The pure parts of the status, verify and bench tools: reading outputs, masking secrets, options,
 * tables, status rows, checksum comparison, percentiles, loopback refusal, CSV, and the lag chart.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertLoopback, benchTargets, heartbeatLag } from "../../scripts/lib/bench";
import { lagChartSpec } from "../../scripts/lib/chart";
import { parseArgs, numberOption } from "../../scripts/lib/cli";
import { csvField, parseCsv, toCsv, writeCsv } from "../../scripts/lib/csv";
import { isLoopbackHost } from "../../scripts/lib/db";
import {
    UsageError, labServers, loadOutputs, maskUrl, maskUrls, parseEndpoint, parseMysqlUrl, parseOutputs, redact, requireApp,
} from "../../scripts/lib/outputs";
import { percentile, summarise } from "../../scripts/lib/stats";
import { notReplicating, rowFromProbe, statusSummary, statusTable, unreachableRow } from "../../scripts/lib/status";
import { formatTable, shorten } from "../../scripts/lib/table";
import { VerifyReport, compareChecksums, verifyText } from "../../scripts/lib/verify";

const ROOT = path.resolve(__dirname, "..", "..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

/** Stack outputs as `pulumi stack output --json --show-secrets` prints them for a 1+2 lab. */
function outputsJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        sourceEndpoint: "127.0.0.1:13306",
        replicaEndpoints: ["127.0.0.1:13307", "127.0.0.1:13308"],
        replicaCount: 2,
        serverIds: [1, 2, 3],
        roles: ["source", "replica", "replica"],
        serverNames: ["mysql-replicas-dev-server-0", "mysql-replicas-dev-server-1", "mysql-replicas-dev-server-2"],
        adminConnectionStrings: [13306, 13307, 13308].map((p) => `mysql://root:RootPw0001@127.0.0.1:${p}/app`),
        flavor: "mysql",
        database: "app",
        appConnectionString: "mysql://app:AppPw0002@127.0.0.1:13306/app",
        readonlyConnectionStrings: ["mysql://reader:ReadPw0003@127.0.0.1:13307/app", "mysql://reader:ReadPw0003@127.0.0.1:13308/app"],
        readEndpoint: "127.0.0.1:13399",
        replication: [{ io: "Yes", sql: "Yes", source: "mysql-replicas-dev-server-0" }],
        ...overrides,
    };
}

function usageError(f: () => unknown): UsageError {
    try {
        f();
    } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return err as UsageError;
    }
    throw new Error("expected a UsageError");
}

function tmpDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "tools-unit-"));
}

describe("stack outputs", () => {
    test("parses the outputs of a 1+2 lab", () => {
        const o = parseOutputs(outputsJson(), "outputs.json");
        expect(o.sourceEndpoint).toBe("127.0.0.1:13306");
        expect(o.replicaEndpoints).toEqual(["127.0.0.1:13307", "127.0.0.1:13308"]);
        expect(o.readEndpoint).toBe("127.0.0.1:13399");
        expect(o.database).toBe("app");
        expect(labServers(o).map((s) => [s.index, s.role, s.serverId, s.admin.port])).toEqual([
            [0, "source", 1, 13306], [1, "replica", 2, 13307], [2, "replica", 3, 13308],
        ]);
    });

    test("the read endpoint is optional, and the database defaults to the app URL's", () => {
        const o = parseOutputs(outputsJson({ readEndpoint: undefined, database: undefined }), "x");
        expect(o.readEndpoint).toBeUndefined();
        // The program exports null when the endpoint is off.
        expect(parseOutputs(outputsJson({ readEndpoint: null }), "x").readEndpoint).toBeUndefined();
        expect(o.database).toBe("app");
    });

    test("a hand-written file with just roles and admin URLs is enough for status; the rest is derived", () => {
        const o = parseOutputs({
            roles: ["source", "replica"],
            adminConnectionStrings: ["mysql://root:HandPw7@127.0.0.1:3306/shop", "mysql://root:HandPw7@127.0.0.1:3307/shop"],
        }, "mine.json");
        expect([o.sourceEndpoint, o.replicaEndpoints, o.serverNames, o.serverIds, o.database, o.readEndpoint])
            .toEqual(["127.0.0.1:3306", ["127.0.0.1:3307"], ["server-0", "server-1"], [1, 2], "shop", undefined]);
        expect(usageError(() => requireApp(o, "verify")).message).toBe("verify needs appConnectionString in the outputs (it writes as the app user)");
        expect(usageError(() => benchTargets(o, 0)).message).toContain("the bench needs appConnectionString");
        expect(requireApp(parseOutputs(outputsJson(), "x"), "verify").user).toBe("app");
    });

    test("names every missing or malformed output at once, without a password", () => {
        const e = usageError(() => parseOutputs(outputsJson({
            roles: undefined, serverIds: [1, "2", 3], adminConnectionStrings: ["postgres://root:NeverSeen55@h:1/x"], sourceEndpoint: "nowhere",
        }), "outputs.json"));
        expect(e.message).toContain("outputs.json: the stack outputs are not usable");
        expect(e.message).toContain("roles is missing");
        expect(e.message).toContain("serverIds must be a list of positive integers");
        expect(e.message).toContain("adminConnectionStrings[0]");
        expect(e.message).toContain("sourceEndpoint");
        expect(e.message).toContain("postgres://root:***@h:1/x");
        expect(e.message).not.toContain("NeverSeen55");
    });

    test("lengths must agree with the roles", () => {
        const e = usageError(() => parseOutputs(outputsJson({ serverNames: ["a", "b"] }), "x"));
        expect(e.message).toContain("serverNames has 2 entries but roles has 3");
    });

    test("secrets exported without --show-secrets are explained", () => {
        const e = usageError(() => parseOutputs(outputsJson({ appConnectionString: "[secret]" }), "x"));
        expect(e.message).toContain("--show-secrets");
    });

    test("--outputs FILE is read, and a bad file is a usage error", () => {
        const dir = tmpDir();
        const file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputsJson()));
        expect(loadOutputs({ outputsFile: file }, undefined).serverNames).toHaveLength(3);
        fs.writeFileSync(file, "{ not json");
        expect(usageError(() => loadOutputs({ outputsFile: file }, undefined)).message).toContain("is not JSON");
        expect(usageError(() => loadOutputs({ outputsFile: path.join(dir, "missing.json") }, undefined)).message).toContain("ENOENT");
    });

    test("without --outputs and without a Pulumi CLI, the error explains both ways", () => {
        const e = usageError(() => loadOutputs({}, undefined));
        expect(e.message).toContain("--outputs FILE");
        expect(e.message).toContain("pulumi stack output --json --show-secrets");
        expect(e.message).toContain("install the Pulumi CLI");
    });

    test("without --outputs, runs `pulumi stack output --json --show-secrets` with --stack", () => {
        const dir = tmpDir();
        const argsFile = path.join(dir, "args");
        const fake = path.join(dir, "pulumi");
        fs.writeFileSync(path.join(dir, "out.json"), JSON.stringify(outputsJson()));
        fs.writeFileSync(fake, `#!/bin/sh\necho "$@" > '${argsFile}'\ncat '${path.join(dir, "out.json")}'\n`, { mode: 0o755 });
        const o = loadOutputs({ stack: "lab2" }, fake);
        expect(o.roles).toEqual(["source", "replica", "replica"]);
        expect(fs.readFileSync(argsFile, "utf8").trim()).toBe("stack output --json --show-secrets --stack lab2");

        fs.writeFileSync(fake, "#!/bin/sh\necho 'error: no stack named lab9 found' >&2\nexit 255\n", { mode: 0o755 });
        const e = usageError(() => loadOutputs({ stack: "lab9" }, fake));
        expect(e.message).toContain("no stack named lab9 found");
        expect(e.message).toContain("--outputs FILE");
    });
});

describe("connection strings and masking", () => {
    test("mysql:// URLs, with IPv6 hosts and passwords holding @, / and %-escapes", () => {
        expect(parseMysqlUrl("mysql://root:pw@127.0.0.1:13306/app")).toEqual({ user: "root", password: "pw", host: "127.0.0.1", port: 13306, database: "app" });
        expect(parseMysqlUrl("mysql://root:pw@[::1]:13306/app").host).toBe("::1");
        expect(parseMysqlUrl("mysql://root:p@ss/w:rd@127.0.0.1:1/app").password).toBe("p@ss/w:rd");
        expect(parseMysqlUrl("mysql://root:p%40ss@localhost:1").password).toBe("p@ss");
        expect(parseMysqlUrl("mysql://root:p%40ss@localhost:1").database).toBe("");
        const e = usageError(() => parseMysqlUrl("mysql://root:Hidden99@127.0.0.1/app", "the URL"));
        expect(e.message).toContain("mysql://root:***@127.0.0.1/app");
        expect(e.message).not.toContain("Hidden99");
    });

    test("maskUrl hides the password, whatever it holds", () => {
        expect(maskUrl("mysql://root:secret@127.0.0.1:13306/app")).toBe("mysql://root:***@127.0.0.1:13306/app");
        expect(maskUrl("mysql://root:a@b:c@[::1]:13306/app")).toBe("mysql://root:***@[::1]:13306/app");
        expect(maskUrls("a mysql://app:x1@h:1/db and mysql://reader:x2@h:2/db.")).toBe("a mysql://app:***@h:1/db and mysql://reader:***@h:2/db.");
        expect(maskUrls('["mysql://root:p1@h:1/a","mysql://root:p2@h:2/a"]')).toBe('["mysql://root:***@h:1/a","mysql://root:***@h:2/a"]');
        expect(maskUrl("not a url: Pw")).toBe("***");
        expect(maskUrl("mysql://root:NoHost")).toBe("mysql://***");
    });

    test("redact removes every password the outputs held, from any text", () => {
        parseOutputs(outputsJson({ appConnectionString: "mysql://app:Unusual%2Fpw@127.0.0.1:13306/app" }), "x");
        expect(redact("login failed for app with Unusual/pw and RootPw0001")).toBe("login failed for app with *** and ***");
        expect(redact("Unusual%2Fpw")).toBe("***");
    });

    test("endpoints", () => {
        expect(parseEndpoint("127.0.0.1:13399")).toEqual({ host: "127.0.0.1", port: 13399 });
        expect(parseEndpoint("[::1]:13399")).toEqual({ host: "::1", port: 13399 });
        expect(() => parseEndpoint("127.0.0.1")).toThrow(UsageError);
        expect(() => parseEndpoint("h:70000")).toThrow(UsageError);
    });
});

describe("options", () => {
    test("--name value, --name=value and flags", () => {
        const specs = { outputs: { type: "string", help: "" }, json: { type: "boolean", help: "" }, timeout: { type: "number", help: "" } } as const;
        expect(parseArgs(["--outputs", "f.json", "--json", "--timeout=5"], specs)).toEqual({ outputs: "f.json", json: true, timeout: 5 });
        expect(usageError(() => parseArgs(["--nope"], specs)).message).toContain("unknown option --nope");
        expect(usageError(() => parseArgs(["--timeout", "soon"], specs)).message).toContain("--timeout must be a number");
        expect(usageError(() => parseArgs(["--outputs"], specs)).message).toContain("--outputs needs a value");
        expect(usageError(() => parseArgs(["stray"], specs)).message).toContain("unexpected argument");
    });

    test("number ranges", () => {
        expect(numberOption({}, "duration", 30, 1, 600)).toBe(30);
        expect(usageError(() => numberOption({ duration: 601 }, "duration", 30, 1, 600)).message).toBe("--duration must be a number from 1 to 600, got 601");
        expect(() => numberOption({ writers: 1.5 }, "writers", 4, 0, 256, true)).toThrow("whole number");
    });
});

describe("tables", () => {
    test("columns line up, numbers align right, no trailing spaces", () => {
        const text = formatTable([{ header: "NAME" }, { header: "N", align: "right" }, { header: "NOTE" }],
            [["a", "1", ""], ["longer", "100", "x"]]);
        expect(text).toBe("NAME      N  NOTE\na         1\nlonger  100  x\n");
    });

    test("colour only when asked, and it does not shift columns", () => {
        const rows = [[{ text: "Yes", colour: "green" as const }, "x"], [{ text: "No", colour: "red" as const }, "y"]];
        const plain = formatTable([{ header: "IO" }, { header: "V" }], rows, false);
        const coloured = formatTable([{ header: "IO" }, { header: "V" }], rows, true);
        expect(plain).not.toContain("\x1b[");
        expect(coloured).toContain("\x1b[32mYes\x1b[39m");
        expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe(plain);
    });

    test("shorten cuts with an ellipsis", () => {
        expect(shorten("abc", 5)).toBe("abc");
        expect(shorten("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", 10)).toBe("3E11FA47-7…");
    });
});

describe("status rows", () => {
    const servers = labServers(parseOutputs(outputsJson(), "x"));
    const mariadbReplica = {
        Slave_IO_State: "Waiting for master to send event", Master_Host: "mysql-replicas-dev-server-0", Master_Port: 3306,
        Master_User: "repl", Slave_IO_Running: "Yes", Slave_SQL_Running: "Yes", Seconds_Behind_Master: 0,
        Last_IO_Errno: 0, Last_IO_Error: "", Last_SQL_Errno: 0, Last_SQL_Error: "", Using_Gtid: "Slave_Pos", Gtid_IO_Pos: "0-1-42",
    };

    test("a MariaDB replica that replicates", () => {
        const row = rowFromProbe(servers[1], {
            version: "10.11.6-MariaDB-0+deb12u1-log", serverId: 2, readOnly: { read_only: 1, super_read_only: null },
            statusRow: mariadbReplica, executedGtids: "0-1-42",
        });
        expect(row).toMatchObject({
            index: 1, role: "replica", serverId: 2, reachable: true, version: "mariadb 10.11.6", readOnly: true, superReadOnly: null,
            ioThread: "Yes", sqlThread: "Yes", secondsBehind: 0, executedGtids: "0-1-42", lastError: "", replicating: true,
        });
    });

    test("a MySQL 8.4 replica whose IO thread fails, with the error", () => {
        const row = rowFromProbe(servers[2], {
            version: "8.4.3", serverId: 3, readOnly: { read_only: 1, super_read_only: 1 },
            statusRow: {
                Source_Host: "src", Replica_IO_Running: "Connecting", Replica_SQL_Running: "Yes", Seconds_Behind_Source: null,
                Last_IO_Errno: 2003, Last_IO_Error: "error connecting to master 'repl@src:3306'", Last_SQL_Errno: 0, Last_SQL_Error: "",
                Auto_Position: 1, Executed_Gtid_Set: "uuid:1-5",
            },
            executedGtids: "uuid:1-5",
        });
        expect(row).toMatchObject({ superReadOnly: true, ioThread: "Connecting", secondsBehind: null, replicating: false });
        expect(row.lastError).toBe("IO 2003: error connecting to master 'repl@src:3306'");
        expect(notReplicating([row]).map((r) => r.index)).toEqual([2]);
    });

    test("a source has no threads and always counts as fine; an unreachable replica does not", () => {
        const source = rowFromProbe(servers[0], {
            version: "8.0.36", serverId: 1, readOnly: { read_only: 0, super_read_only: 0 }, statusRow: undefined, executedGtids: "",
        });
        expect([source.ioThread, source.sqlThread, source.replicating, source.readOnly]).toEqual([null, null, true, false]);
        const down = unreachableRow(servers[2], "timed out after 3 s waiting for server 2 (x) 127.0.0.1:13308 to accept connections; last error: connect ECONNREFUSED");
        expect([down.reachable, down.replicating, down.serverId]).toEqual([false, false, null]);
        expect(notReplicating([source, down]).map((r) => r.index)).toEqual([2]);
        expect(statusSummary([source, down])).toBe("PROBLEM: 1 of 1 replicas not replicating: mysql-replicas-dev-server-2 (unreachable)");
    });

    test("the table: one row per server, GTIDs shortened, unknowns as -", () => {
        const longGtids = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100000,4e11fa47-71ca-11e1-9e33-c80aa9429562:1-7";
        const rows = [
            rowFromProbe(servers[0], { version: "8.4.3", serverId: 1, readOnly: { read_only: 0, super_read_only: 0 }, executedGtids: longGtids }),
            rowFromProbe(servers[1], {
                version: "8.4.3", serverId: 2, readOnly: { read_only: 1, super_read_only: 1 }, executedGtids: longGtids,
                statusRow: { Source_Host: "s", Replica_IO_Running: "Yes", Replica_SQL_Running: "Yes", Seconds_Behind_Source: 3 },
            }),
            unreachableRow(servers[2], "connect ECONNREFUSED 127.0.0.1:13308"),
        ];
        const lines = statusTable(rows).trimEnd().split("\n");
        expect(lines).toHaveLength(4);
        expect(lines[0]).toMatch(/^#\s+NAME\s+ROLE\s+OBSERVED\s+ID\s+REACHABLE\s+READ-ONLY\s+IO\s+SQL\s+BEHIND\s+SEMI-SYNC\s+EXECUTED GTIDS\s+LAST ERROR$/);
        expect(lines[1]).toMatch(/^0\s+mysql-replicas-dev-server-0\s+source\s+source\s+1\s+yes\s+OFF\s+-\s+-\s+-\s+-\s+3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1…$/);
        expect(lines[2]).toMatch(/^1\s+mysql-replicas-dev-server-1\s+replica\s+replica\s+2\s+yes\s+super\s+Yes\s+Yes\s+3s\s+-\s+3e11fa47\S+…$/);
        expect(lines[3]).toMatch(/^2\s+mysql-replicas-dev-server-2\s+replica\s+-\s+3\?\s+NO\s+-\s+-\s+-\s+-\s+-\s+-\s+connect ECONNREFUSED 127\.0\.0\.1:13308$/);
        expect(statusSummary(rows)).toContain("1 of 2 replicas not replicating");
    });

    test("the observed role: replication configured, else writable, else fenced", () => {
        const probe = (readOnly: number, statusRow?: Record<string, unknown>) =>
            rowFromProbe(servers[1], { version: "9.7.4", serverId: 2, readOnly: { read_only: readOnly, super_read_only: readOnly }, executedGtids: "", statusRow });
        expect(probe(1, { Source_Host: "s", Replica_IO_Running: "Yes", Replica_SQL_Running: "Yes" }).observedRole).toBe("replica");
        expect(probe(0).observedRole).toBe("source");
        expect(probe(1).observedRole).toBe("fenced");
        expect(unreachableRow(servers[1], "down").observedRole).toBeNull();
        // Configured one way, seen another: the table says so (in red on a terminal).
        expect(statusTable([probe(0)], true)).toContain("\x1b[");
    });

    test("semi-sync as status shows it: acknowledged, fallen back to asynchronous, a replica's side, none", async () => {
        const { semiSyncState, semiSyncSummary } = await import("../../scripts/lib/status");
        const mysqlSource = { rpl_semi_sync_source_enabled: "ON", rpl_semi_sync_source_status: "ON", rpl_semi_sync_source_clients: "2" };
        expect(semiSyncState(mysqlSource, true)).toEqual({ enabled: true, active: true, clients: 2 });
        const mariadbFallback = { rpl_semi_sync_master_enabled: "ON", rpl_semi_sync_master_status: "OFF", rpl_semi_sync_master_clients: "0" };
        expect(semiSyncState(mariadbFallback, true)).toEqual({ enabled: true, active: false, clients: 0 });
        expect(semiSyncState({ rpl_semi_sync_replica_enabled: "ON" }, false)).toEqual({ enabled: true, active: null, clients: null });
        expect(semiSyncState(undefined, true)).toBeNull();
        const source = rowFromProbe(servers[0], { version: "11.8.3-MariaDB", serverId: 1, readOnly: { read_only: 0, super_read_only: null },
            executedGtids: "", semiSync: mariadbFallback });
        expect(statusTable([source]).split("\n")[1]).toContain("ASYNC (timed out)");
        expect(semiSyncSummary([source])).toBe("; semi-sync fell back to asynchronous: no replica acknowledged within the timeout");
        expect(statusSummary([source])).toBe("OK: 0 of 0 replicas replicating; semi-sync fell back to asynchronous: no replica acknowledged within the timeout");
    });

    test("a server the stack left out: shown as left out with its reason, counted as not replicating", () => {
        const reason = "holds transactions server 1 lacks: 0-1-43";
        const [source, leftOut] = labServers(parseOutputs({ ...outputsJson(), leftOut: { 1: reason } }, "x"));
        expect([source.leftOut, leftOut.leftOut]).toEqual(["", reason]);
        const row = rowFromProbe(leftOut, { version: "11.8.3-MariaDB", serverId: 2, readOnly: { read_only: 1, super_read_only: null }, executedGtids: "0-1-43" });
        expect(row).toMatchObject({ leftOut: reason, replicating: false, observedRole: "fenced" });
        expect(statusTable([row]).split("\n")[1]).toMatch(/^1\s+mysql-replicas-dev-server-1\s+left out\s+fenced\s/);
        expect(statusSummary([row])).toBe(`PROBLEM: 1 of 1 replicas not replicating: mysql-replicas-dev-server-1 (left out: ${reason})`);
        expect(() => parseOutputs({ ...outputsJson(), leftOut: ["x"] }, "x")).toThrow(/leftOut must map server indexes to reasons/);
    });
});

describe("verify", () => {
    test("checksum comparison names tables that differ, are missing, or exist on one side only", () => {
        expect(compareChecksums({ a: "1", b: "2" }, { a: "1", b: "2" })).toEqual([]);
        expect(compareChecksums({ a: "1", b: "2", c: "3" }, { a: "1", b: "9", d: "4" })).toEqual(["b", "c", "d"]);
        expect(compareChecksums({ a: "1" }, { a: null })).toEqual(["a"]);
    });

    test("the report names each difference by table and replica, and marks comparisons made at another position", () => {
        const outputs = parseOutputs(outputsJson(), "x");
        const report: VerifyReport = {
            database: "app", marker: "m1",
            markers: [{ index: 1, name: "r1", arrivedAfterMs: 40 }, { index: 2, name: "r2", arrivedAfterMs: null, error: "the marker did not arrive (IO thread: No, SQL thread: No)" }],
            tables: ["_lab_verify", "items", "orders"],
            checksums: {
                _lab_verify: { source: "11", replicas: { 1: { checksum: "11", comparedWith: "11" } } },
                items: { source: "22", replicas: { 1: { checksum: "99", comparedWith: "22" } } },
                orders: { source: "34", replicas: { 1: { checksum: "33", comparedWith: "33" } } },
            },
            differences: [{ table: "items", index: 1, replica: "r1", sourceChecksum: "22", replicaChecksum: "99", settled: true }],
            skipped: [{ index: 2, name: "r2", reason: "the marker did not arrive (IO thread: No, SQL thread: No)" }],
            ok: false,
        };
        const text = verifyText(report, outputs);
        expect(text).toContain("  server 1 (r1): marker arrived after 0.04 s\n");
        expect(text).toMatch(/^TABLE\s+SOURCE\s+REPLICA 1$/m);
        expect(text).toMatch(/^items\s+22\s+99 ≠$/m);
        expect(text).toMatch(/^orders\s+34\s+33 \*$/m);
        expect(text).toContain("* compared with the source's checksum at an earlier position");
        expect(text).toContain("NOT CHECKED: server 2 (r2): the marker did not arrive (IO thread: No, SQL thread: No)");
        expect(text).toContain("DIFFERENT: app.items on server 1 (r1): checksum 99 on the replica, 22 on the source\n");
        expect(text.trimEnd().split("\n").pop()).toBe("PROBLEM: 1 table difference(s), 1 replica(s) not checked");
    });
});

describe("percentiles", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    test("nearest rank", () => {
        expect(percentile(hundred, 50)).toBe(50);
        expect(percentile(hundred, 95)).toBe(95);
        expect(percentile(hundred, 100)).toBe(100);
        expect(percentile([5], 95)).toBe(5);
        expect(percentile([3, 1, 2], 50)).toBe(2);
        expect(percentile([10, 20], 50)).toBe(10);
        expect(percentile([10, 20], 51)).toBe(20);
    });
    test("ignores NaN; NaN for nothing; p outside (0, 100] throws", () => {
        expect(percentile([NaN, 4, NaN, 2], 50)).toBe(2);
        expect(percentile([], 50)).toBeNaN();
        expect(() => percentile(hundred, 0)).toThrow();
        expect(() => percentile(hundred, 101)).toThrow();
    });
    test("summaries", () => {
        expect(summarise([...hundred].reverse())).toEqual({ n: 100, p50: 50, p95: 95, max: 100 });
        expect(summarise([NaN])).toEqual({ n: 0, p50: NaN, p95: NaN, max: NaN });
    });
    test("heartbeat lag: age of the oldest heartbeat the replica does not have", () => {
        const acks = new Map([[1, 100], [2, 200], [3, 300]]);
        expect(heartbeatLag(acks, 3, 350)).toBe(0);
        expect(heartbeatLag(acks, 1, 350)).toBe(150);
        expect(heartbeatLag(acks, 0, 350)).toBe(250);
        // Acknowledged after the sample was taken: not yet owed.
        expect(heartbeatLag(acks, 2, 250)).toBe(0);
        expect(heartbeatLag(new Map(), 0, 1000)).toBe(0);
    });
});

describe("loopback only", () => {
    test("loopback hosts", () => {
        for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect([h, isLoopbackHost(h)]).toEqual([h, true]);
        for (const h of ["10.0.0.5", "0.0.0.0", "192.168.1.1", "::", "db.example.com", "128.0.0.1", "127.0.0.300"]) {
            expect([h, isLoopbackHost(h)]).toEqual([h, false]);
        }
    });

    test("the bench refuses any non-loopback endpoint, naming it", () => {
        expect(() => assertLoopback([{ what: "source", host: "127.0.0.1", port: 1 }])).not.toThrow();
        const e = usageError(() => assertLoopback([{ what: "source", host: "127.0.0.1", port: 1 }, { what: "read endpoint", host: "10.0.0.5", port: 13399 }]));
        expect(e.message).toContain("refusing: read endpoint 10.0.0.5:13399");
        const o = parseOutputs(outputsJson({ readEndpoint: "192.168.1.20:13399" }), "x");
        expect(usageError(() => benchTargets(o, 4)).message).toContain("read endpoint 192.168.1.20:13399");
        const v6 = parseOutputs(outputsJson({
            adminConnectionStrings: ["mysql://root:RootPw0001@[fd00::5]:13306/app", ...(outputsJson().adminConnectionStrings as string[]).slice(1)],
        }), "x");
        expect(usageError(() => benchTargets(v6, 4)).message).toContain("server 0 (mysql-replicas-dev-server-0) [fd00::5]:13306");
    });

    test("readers need a read endpoint", () => {
        const o = parseOutputs(outputsJson({ readEndpoint: undefined }), "x");
        expect(usageError(() => benchTargets(o, 2)).message).toContain("--readers 0");
        expect(benchTargets(o, 0).reader).toBeUndefined();
        const t = benchTargets(parseOutputs(outputsJson(), "x"), 2);
        expect([t.reader?.user, t.reader?.port, t.app.user, t.replicas.map((r) => r.index)]).toEqual(["reader", 13399, "app", [1, 2]]);
    });
});

describe("CSV", () => {
    test("fields are quoted only when they must be", () => {
        expect(csvField("plain")).toBe("plain");
        expect(csvField('say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
        expect([csvField(null), csvField(undefined), csvField(NaN), csvField(1.5), csvField(false)]).toEqual(["", "", "", "1.5", "false"]);
    });

    test("writes a file that reads back the same", () => {
        const file = path.join(tmpDir(), "sub", "lag.csv");
        const rows = [[0.25, "server 1 (a, id 2)", 12.5], [0.5, 'x"y', null]];
        writeCsv(file, ["t_s", "replica", "heartbeat_lag_ms"], rows);
        const text = fs.readFileSync(file, "utf8");
        expect(text).toBe(toCsv(["t_s", "replica", "heartbeat_lag_ms"], rows));
        expect(text.split("\n")[1]).toBe('0.25,"server 1 (a, id 2)",12.5');
        expect(parseCsv(text)).toEqual([
            { t_s: "0.25", replica: "server 1 (a, id 2)", heartbeat_lag_ms: "12.5" },
            { t_s: "0.5", replica: 'x"y', heartbeat_lag_ms: "" },
        ]);
    });
});

describe("lag chart", () => {
    const replicas = ["server 1 (r1, id 2)", "server 2 (r2, id 3)", "server 3 (r3, id 4)"];
    const points = replicas.flatMap((replica, i) => Array.from({ length: 20 }, (_, k) => ({ t: k * 0.25, replica, lagMs: (k % 5) * (i + 1) })));

    test("the Vega-Lite spec: lines coloured by replica, failed samples left out", () => {
        const spec = lagChartSpec([...points, { t: 5, replica: replicas[0], lagMs: NaN }]) as any;
        expect(spec.mark.type).toBe("line");
        expect(spec.encoding.color.field).toBe("replica");
        expect(spec.encoding.x.field).toBe("t");
        expect(spec.encoding.y.field).toBe("lagMs");
        expect(spec.data.values).toHaveLength(60);
    });

    test("renders an SVG with one line per replica (vega is ESM-only: rendered in a child process)", async () => {
        const dir = tmpDir();
        const csv = path.join(dir, "lag.csv");
        const svg = path.join(dir, "lag.svg");
        writeCsv(csv, ["t_s", "replica", "heartbeat_lag_ms"], points.map((p) => [p.t, p.replica, p.lagMs]));
        await new Promise<void>((resolve, reject) => {
            execFile(process.execPath, [TS_NODE, "--transpile-only", path.join(ROOT, "scripts/chart.ts"), csv, svg], { cwd: ROOT, timeout: 60_000 },
                (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()));
        });
        const text = fs.readFileSync(svg, "utf8");
        expect(text.startsWith("<svg")).toBe(true);
        expect(text.trimEnd().endsWith("</svg>")).toBe(true);
        const lines = text.match(/<path [^>]*aria-roledescription="line mark"[^>]*>/g) ?? [];
        expect(lines).toHaveLength(3);
        for (const r of replicas) expect(lines.filter((l) => l.includes(`replica: ${r}`))).toHaveLength(1);
    }, 60_000);
});
