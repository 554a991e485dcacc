/**
 * How a server container is started, per flavor and image version. Pure: unit-tested for every flavor.
 * Nothing here depends on the server's role, so changing roles never replaces a container.
 */
import type { Flavor } from "./config";
import { atLeast } from "./replication/sql";

/** Parses a tag version such as "8.0.22" or "10.11"; undefined ("latest") means the newest rules. */
function versionOf(tag: string | undefined): { major: number; minor: number; patch: number } | undefined {
    if (!tag) return undefined;
    const [major, minor = 0, patch = 0] = tag.split(".").map(Number);
    return { major, minor, patch };
}

/**
 * mysqld options: unique server id, row-based binary log with GTIDs, relay log, replica updates
 * logged (so any replica can become a source), and read-only until the lab assigns a role.
 */
export function serverArgs(flavor: Flavor, imageVersion: string | undefined, serverId: number): string[] {
    if (!Number.isInteger(serverId) || serverId < 1 || serverId > 4294967295) {
        throw new Error(`server id ${serverId} is not allowed; expected 1 to 4294967295`);
    }
    const v = versionOf(imageVersion);
    const common = [
        `--server-id=${serverId}`,
        "--log-bin=mysql-bin",
        "--relay-log=relay-bin",
        "--read-only=ON",
        "--skip-name-resolve",
        // No host cache, so no host is ever blocked after max_connect_errors failed handshakes (the
        // read endpoint's checks come from one address; the official images set this too).
        "--host-cache-size=0",
    ];
    if (flavor === "mariadb") {
        // MariaDB rejects gtid-mode, enforce-gtid-consistency and super-read-only: it has its own GTIDs,
        // always on, and the lab keeps them strict so a replica refuses out-of-order transactions.
        return [...common, "--binlog-format=ROW", "--log-slave-updates=ON", "--gtid-strict-mode=ON"];
    }
    const gtid = ["--gtid-mode=ON", "--enforce-gtid-consistency=ON"];
    if (v && !atLeast(v, 8)) {
        // 5.7 defaults to statement format and no replica-update logging.
        return [...common, ...gtid, "--binlog-format=ROW", "--log-slave-updates=ON"];
    }
    // 8.0+ already logs ROW (binlog_format is deprecated since 8.0.34) and replica updates by default;
    // log_replica_updates is named explicitly where the name exists (8.0.26+).
    const updates = !v || atLeast(v, 8, 0, 26) ? ["--log-replica-updates=ON"] : ["--log-slave-updates=ON"];
    return [...common, ...gtid, ...updates];
}

/** Environment for the official image: only the root password (no database or user: those would be binlogged). */
export function serverEnv(flavor: Flavor, rootPassword: string): string[] {
    return flavor === "mariadb"
        ? [`MARIADB_ROOT_PASSWORD=${rootPassword}`]
        // The time zone load would be binlogged and replicated as the source's first transactions.
        : [`MYSQL_ROOT_PASSWORD=${rootPassword}`, "MYSQL_INITDB_SKIP_TZINFO=1"];
}

/** A file the image's first start runs from /docker-entrypoint-initdb.d (its init server, socket only). */
export interface InitFile {
    readonly file: string;
    readonly content: string;
}

/**
 * Files for the image's first start. On MySQL 8+ the fence is persisted while the data directory is
 * made, so the server refuses even root's writes (super_read_only) from the moment it takes its first
 * connection, before the lab has looked at it; only the source's ServerRole opens it, with SET GLOBAL.
 * PERSIST_ONLY changes nothing in the init server itself, and no SET is binlogged. MySQL 5.7 cannot
 * persist, and MariaDB has no super_read_only (root holds READ_ONLY ADMIN): both start from
 * `--read-only=ON` only.
 */
export function initFiles(flavor: Flavor, imageVersion: string | undefined): InitFile[] {
    const v = versionOf(imageVersion);
    if (flavor !== "mysql" || (v && !atLeast(v, 8))) return [];
    return [{
        file: "/docker-entrypoint-initdb.d/mysql-replicas-fence.sql",
        content: "-- mysql-replicas: every server starts fenced; the lab opens the source itself.\n" +
            "SET PERSIST_ONLY read_only = ON;\nSET PERSIST_ONLY super_read_only = ON;\n",
    }];
}

/**
 * The options of the lab's data template's initialisation, without the image's init server or a
 * first real start, and without a binary log, so the template holds no transaction and no GTID.
 * MySQL: `mysqld --initialize-insecure` (the log is on by default from 8.0); root's password and the
 * fence come from an --init-file. MariaDB: `mariadb-install-db` with the options the image's first
 * start gives it (--cross-bootstrap: no accounts for the initialising container's host name);
 * root's password comes from an --extra-file (sql/initialise.ts). Neither loads the named time zones
 * (MySQL's servers skip them too: MYSQL_INITDB_SKIP_TZINFO). Undefined where the image initialises
 * each server itself: MariaDB before 10.6, whose mariadb-install-db (10.4.6+) and its options the lab
 * has not been checked against.
 */
export function templateInitArgs(flavor: Flavor, imageVersion: string | undefined): string[] | undefined {
    const v = versionOf(imageVersion);
    if (flavor === "mariadb") {
        if (v && !atLeast(v, 10, 6)) return undefined;
        return ["--user=mysql", "--skip-test-db", "--cross-bootstrap", "--auth-root-authentication-method=normal",
            "--skip-log-bin", "--default-time-zone=SYSTEM", "--loose-innodb-buffer-pool-dump-at-shutdown=0"];
    }
    const noBinlog = v && !atLeast(v, 8) ? [] : ["--skip-log-bin"];
    return ["--user=mysql", "--initialize-insecure", ...noBinlog, "--default-time-zone=SYSTEM"];
}

/**
 * The program that initialises the template, as the image's own user makes it run: its name for
 * messages, the shell command that starts it, and its option for the lab's SQL file.
 */
export function templateInitTool(flavor: Flavor): { name: string; program: string; sqlOption: string } {
    return flavor === "mariadb"
        ? { name: "mariadb-install-db", program: "mariadb-install-db --datadir=/var/lib/mysql", sqlOption: "--extra-file" }
        : { name: "mysqld --initialize-insecure", program: "mysqld", sqlOption: "--init-file" };
}

/**
 * How a server whose volume came from the lab's template is started: its server program, run as the
 * image's `mysql` user, after making the socket directory (the official images ship it; an image
 * whose /run is empty does not). On a data directory that is already initialised the images'
 * entrypoints only reach the same command, after running `--verbose --help` six times to read the
 * server's options: 1.7 s of a 2.2 s start measured on MariaDB 11.8, and three times longer when a
 * lab's servers start at once. A server the image initialises itself keeps the image's entrypoint.
 */
export function serverEntrypoint(flavor: Flavor): string[] {
    const program = flavor === "mariadb" ? "mariadbd" : "mysqld";
    return ["sh", "-c", `mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && exec ${program} --user=mysql "$@"`, program];
}

/** Health check timings, shared by both flavors. */
export const HEALTH_TIMINGS = {
    interval: "2s",
    timeout: "5s",
    startPeriod: "120s",
    retries: 30,
} as const;

/**
 * A check that passes only once the real server takes TCP connections: the images' init server listens
 * on a socket only. `ping` answers 0 even on "Access denied", so no password is needed (or stored).
 */
export function healthcheck(flavor: Flavor): { tests: string[]; interval: string; timeout: string; startPeriod: string; retries: number } {
    const admin = flavor === "mariadb" ? "mariadb-admin" : "mysqladmin";
    return { tests: ["CMD", admin, "ping", "--host=127.0.0.1", "--port=3306", "--silent"], ...HEALTH_TIMINGS };
}
