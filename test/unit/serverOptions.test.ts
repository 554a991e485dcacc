import { healthcheck, initFiles, serverArgs, serverEntrypoint, serverEnv, templateInitArgs, templateInitTool } from "../../components/serverOptions";
import { sqlString, templateInitSql } from "../../components/replication/sql";
import { NOT_COPIED, fillScript } from "../../components/replication/dataDirectory";

describe("server options", () => {
    test.each([["8.0.22"], ["8.4"], ["9.7"], [undefined]])("MySQL %s persists the fence while its data directory is made", (version) => {
        const files = initFiles("mysql", version);
        expect(files.map((f) => f.file)).toEqual(["/docker-entrypoint-initdb.d/mysql-replicas-fence.sql"]);
        // Persisted only: the init server stays writable for the image's own set-up, and nothing is binlogged.
        const statements = files[0].content.split("\n").filter((l) => l && !l.startsWith("--"));
        expect(statements).toEqual(["SET PERSIST_ONLY read_only = ON;", "SET PERSIST_ONLY super_read_only = ON;"]);
    });

    test.each([["mysql", "5.7"], ["mariadb", "10.11"], ["mariadb", "11.8"]] as const)("%s %s cannot persist a fence: no init file", (flavor, version) => {
        expect(initFiles(flavor, version)).toEqual([]);
        expect(serverArgs(flavor, version, 1)).toContain("--read-only=ON");
    });

    test("MySQL 8.4: GTIDs on, read-only, replica updates logged, no options 8.4 removed", () => {
        expect(serverArgs("mysql", "8.4", 3)).toEqual([
            "--server-id=3", "--log-bin=mysql-bin", "--relay-log=relay-bin", "--read-only=ON", "--skip-name-resolve",
            "--host-cache-size=0", "--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--log-replica-updates=ON",
        ]);
    });

    test("an unversioned tag gets the newest option names", () => {
        expect(serverArgs("mysql", undefined, 1)).toContain("--log-replica-updates=ON");
    });

    test("MySQL 8.0 before 8.0.26 uses log-slave-updates", () => {
        expect(serverArgs("mysql", "8.0.22", 1)).toContain("--log-slave-updates=ON");
        expect(serverArgs("mysql", "8.0.22", 1)).not.toContain("--log-replica-updates=ON");
    });

    test("MySQL 5.7 needs ROW format and replica updates spelled out", () => {
        const args = serverArgs("mysql", "5.7", 2);
        expect(args).toEqual(expect.arrayContaining(["--binlog-format=ROW", "--log-slave-updates=ON", "--gtid-mode=ON"]));
    });

    test("MariaDB: its own GTIDs, no option MariaDB rejects", () => {
        const args = serverArgs("mariadb", "10.11", 2);
        expect(args).toEqual(expect.arrayContaining(["--server-id=2", "--binlog-format=ROW", "--log-slave-updates=ON",
            "--gtid-strict-mode=ON", "--read-only=ON"]));
        expect(args.join(" ")).not.toMatch(/gtid-mode|enforce-gtid|super-read-only/);
    });

    test("MySQL rejects MariaDB's gtid-strict-mode, so it never gets it", () => {
        for (const version of ["5.7", "8.0.22", "8.4", undefined]) {
            expect(serverArgs("mysql", version, 1).join(" ")).not.toContain("gtid-strict-mode");
        }
    });

    test.each([["mysql", "5.7"], ["mysql", "8.4"], ["mysql", undefined], ["mariadb", "10.11"], ["mariadb", "11.8"]] as const)(
        "%s %s runs without a host cache, so no host is blocked after max_connect_errors", (flavor, version) => {
            expect(serverArgs(flavor, version, 1)).toContain("--host-cache-size=0");
        });

    test("the role is not in the options: source and replicas differ only in server id", () => {
        const strip = (a: string[]) => a.filter((x) => !x.startsWith("--server-id="));
        expect(strip(serverArgs("mysql", "8.4", 1))).toEqual(strip(serverArgs("mysql", "8.4", 2)));
    });

    test("server ids must be positive 32-bit integers", () => {
        expect(() => serverArgs("mysql", "8.4", 0)).toThrow(/server id 0 is not allowed/);
    });

    test("only the root password goes into the environment", () => {
        expect(serverEnv("mysql", "pw")).toEqual(["MYSQL_ROOT_PASSWORD=pw", "MYSQL_INITDB_SKIP_TZINFO=1"]);
        expect(serverEnv("mariadb", "pw")).toEqual(["MARIADB_ROOT_PASSWORD=pw"]);
        expect([...serverEnv("mysql", "pw"), ...serverEnv("mariadb", "pw")].join(" ")).not.toMatch(/DATABASE|_USER=/);
    });

    test("health checks ping over TCP, never the init server's socket, and carry no password", () => {
        for (const flavor of ["mysql", "mariadb"] as const) {
            const h = healthcheck(flavor);
            expect(h.tests).toContain("--host=127.0.0.1");
            expect(h.tests.filter((t) => /^(-p|--password)/.test(t))).toEqual([]);
            expect(h).toMatchObject({ interval: "2s", startPeriod: "120s" });
        }
        expect(healthcheck("mariadb").tests[1]).toBe("mariadb-admin");
        expect(healthcheck("mysql").tests[1]).toBe("mysqladmin");
    });
});

describe("copies of the data template", () => {
    test("only an empty volume (or one whose copy was cut short) gets the template, without the server's identity, binary logs, TLS keys or pid files", () => {
        const script = fillScript("/template");
        expect(script).toContain('[ -d /template/mysql ] || {');
        expect(script).toContain('if [ -n "$(ls -A "$d")" ] && [ ! -e "$d/.mysql-replicas-copying" ]; then echo "kept $n"; return 0; fi');
        expect(script).toContain('cp -a /template/. "$d"/ &&');
        // Every volume at once, and any copy failing fails the script.
        expect(script).toContain('for d in /fill/*; do [ -d "$d" ] || continue; fill "$d" & pids="$pids $!"; done');
        expect(script).toContain("for p in $pids; do wait $p || status=1; done");
        for (const f of ["auto.cnf", "mysql-bin.*", "relay-bin.*", "*.pem", "*.pid"]) expect(NOT_COPIED).toContain(f);
        // The fence persisted by the initialisation (mysqld-auto.cnf) travels with the copy.
        expect(NOT_COPIED.join(" ")).not.toContain("mysqld-auto.cnf");
    });

    test.each([["5.7", false], ["8.0.22", true], ["8.4", true], ["9.7", true], [undefined, true]])(
        "the template of MySQL %s is mysqld --initialize-insecure, binary log off", (version, skipsLog) => {
            const args = templateInitArgs("mysql", version)!;
            expect(args.slice(0, 2)).toEqual(["--user=mysql", "--initialize-insecure"]);
            // 8.0+ logs by default: a logged initialisation would give every copy transactions of its own.
            expect(args.includes("--skip-log-bin")).toBe(skipsLog);
            expect(args.some((a) => a.startsWith("--log-bin"))).toBe(false);
        });

    test.each([["10.6", true], ["10.11", true], ["11.8", true], [undefined, true], ["10.5", false], ["10.3", false]])(
        "the template of MariaDB %s is mariadb-install-db, binary log off (made: %s; none before 10.6)", (version, made) => {
            const args = templateInitArgs("mariadb", version);
            if (!made) {
                // Its mariadb-install-db is unchecked (none before 10.4.6): each server initialises itself.
                expect(args).toBeUndefined();
                return;
            }
            expect(args).toEqual(expect.arrayContaining(["--user=mysql", "--skip-log-bin", "--skip-test-db", "--cross-bootstrap", "--auth-root-authentication-method=normal"]));
            expect(args!.some((a) => a.startsWith("--log-bin") || a.startsWith("--initialize"))).toBe(false);
        });

    test("each flavor's template is made by its image's own tool, with the lab's SQL in that tool's file option", () => {
        expect(templateInitTool("mysql")).toEqual({ name: "mysqld --initialize-insecure", program: "mysqld", sqlOption: "--init-file" });
        expect(templateInitTool("mariadb")).toMatchObject({ name: "mariadb-install-db", sqlOption: "--extra-file" });
        expect(templateInitTool("mariadb").program).toContain("--datadir=/var/lib/mysql");
    });

    test.each([["mysql", "mysqld"], ["mariadb", "mariadbd"]] as const)("%s on a template copy starts %s itself, as the image's user, with the lab's options", (flavor, program) => {
        const [shell, dashC, script, name] = serverEntrypoint(flavor);
        expect([shell, dashC, name]).toEqual(["sh", "-c", program]);
        // The socket directory first (not every image ships it), then exec: the server is PID 1 and gets SIGTERM.
        expect(script).toBe(`mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && exec ${program} --user=mysql "$@"`);
    });

    test("MariaDB's template SQL writes root's accounts into the grant tables (bootstrap refuses account statements)", () => {
        const sql = templateInitSql("mariadb", "it's\\a\nsecret", initFiles("mariadb", "11.8").map((f) => f.content)).split("\n");
        // mariadb-install-db runs it in bootstrap mode: no CREATE USER, ALTER USER or GRANT could run there.
        expect(sql.filter((l) => /^(CREATE|ALTER) USER|^GRANT|^FLUSH/.test(l))).toEqual([]);
        expect(sql).toContain("DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';");
        expect(sql).toContain("DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host <> 'localhost';");
        expect(sql.find((l) => l.startsWith("INSERT INTO mysql.proxies_priv"))).toContain("VALUES ('%', 'root', '%', '', 1)");
        expect(sql.find((l) => l.startsWith("UPDATE mysql.global_priv"))).toContain("PASSWORD('it\\'s\\\\a\\nsecret')");
        expect(sql.find((l) => l.startsWith("INSERT INTO mysql.global_priv"))).toContain("SELECT '%', User, Priv");
        expect(sql.at(-1)).toBe("");
    });

    test("the template's init file sets root's password unlogged, then runs the fence without its comments", () => {
        const sql = templateInitSql("mysql", "it's\\a\nsecret", initFiles("mysql", "9.7").map((f) => f.content)).split("\n");
        expect(sql[0]).toBe("SET @@SESSION.SQL_LOG_BIN = 0;");
        expect(sql).toContain("ALTER USER 'root'@'localhost' IDENTIFIED BY 'it\\'s\\\\a\\nsecret';");
        expect(sql).toContain("CREATE USER 'root'@'%' IDENTIFIED BY 'it\\'s\\\\a\\nsecret';");
        expect(sql).toContain("GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;");
        expect(sql.slice(-3)).toEqual(["SET PERSIST_ONLY read_only = ON;", "SET PERSIST_ONLY super_read_only = ON;", ""]);
        expect(sql.some((l) => l.startsWith("--"))).toBe(false);
        expect(sqlString("a\0b")).toBe("'a\\0b'");
    });
});

