/**
 * Seeding: how a replica that lacks the source's history gets it. The choice is pure (chooseSeed);
 * this module reads the facts it is made from and carries out a snapshot: CLONE on MySQL, a dump
 * taken in one session on MariaDB. Like connection.ts it travels inside the Replication provider, so
 * it loads its modules inside the functions that use them.
 */
import type { Connection } from "mysql2/promise";
import { Endpoint, execAll, hostPort, isGone, query, readServerVersion, secondsUntil, sleep, withConnection, withSuperReadOnlyLifted } from "./connection";
import { IMAGE_ACCOUNTS, SYSTEM_SCHEMAS, dropDatabase, dropUser } from "./sql/accounts";
import { gtidDialect, mariadbPurgedMissing, mariadbSnapshotState, parseGtidList, purgedDialect, restartBinlogAt, slavePosQuery } from "./sql/gtids";
import { killQuery, replicationDialect, sessionBinlog } from "./sql/replication";
import { installPlugin, superReadOnly } from "./sql/roles";
import { accountsQuery, schemasQuery } from "./sql/status";
import { type CloneDialect, CLONE_RESTART_FAILED, CLONE_USER, PLUGIN_EXISTS, cloneDialect, releaseSeedLock, seedLock } from "./sql/seeding";
import { type ServerVersion, describeVersion } from "./sql/vocabulary";

/** What seeding needs to know of a replica and its source. */
export interface SeedTarget {
    /** The replica as Pulumi reaches it, as an administrator. */
    readonly replica: Endpoint;
    /** The replica's container id: a dump runs inside it ("" when unknown). */
    readonly replicaContainer: string;
    /** The source as the replica reaches it (on the lab network). */
    readonly sourceHost: string;
    readonly sourcePort: number;
    /**
     * The source as Pulumi reaches it, as an account that may copy it: on MySQL it installs the clone
     * plugin and makes the clone account (root does), on MariaDB it reads everything, accounts included.
     */
    readonly donor: Endpoint;
}

/** Every GTID a replica holds: what it must not be sent again. */
async function replicaGtids(conn: Connection, v: ServerVersion): Promise<string> {
    const [row] = await query<{ slave: string; binlog: string }>(conn, gtidDialect(v).heldQuery);
    return [row.slave, row.binlog].filter(Boolean).join(",");
}

/**
 * The transactions the replica lacks that the source's binary logs no longer hold ("" for none).
 * A fresh replica is taken to hold nothing: its initialisation transactions are dropped before it replicates.
 */
export async function purgedMissing(replica: Connection, source: Connection, v: ServerVersion, fresh: boolean): Promise<string> {
    const has = fresh ? "" : await replicaGtids(replica, v);
    const d = purgedDialect(v);
    if (d.kind === "query") {
        const [row] = await query<{ missing: string }>(source, d.missing(has));
        return row.missing.replace(/\s+/g, "");
    }
    // The oldest binary log's Gtid_list event holds the state before it: all that was purged.
    const [oldest] = await query<{ Log_name: string }>(source, d.binaryLogs);
    if (!oldest) return "";
    const events = await query<{ Event_type: string; Info: string }>(source, d.events(oldest.Log_name));
    const list = events.find((e) => e.Event_type === "Gtid_list");
    return mariadbPurgedMissing(parseGtidList(list?.Info ?? ""), has);
}

/** The lock on the source that lets one replica at a time be copied from it. */
const SEED_LOCK = "mysql_replicas_seed";

/**
 * Copies the source into a fresh replica: CLONE on MySQL, a one-session dump on MariaDB. Replicas added
 * in the same `up` are seeded in parallel, so each snapshot holds a named lock on the source first:
 * they are copied one after another, and the clone account's name is never in use twice.
 */
export async function snapshot(t: SeedTarget, method: "clone" | "dump", deadline: number): Promise<void> {
    await withConnection(t.donor, secondsUntil(deadline), "source", async (lock) => {
        const [row] = await query<{ got: number | string | null }>(lock, seedLock(SEED_LOCK, secondsUntil(deadline)));
        if (Number(row.got) !== 1) throw new Error("timed out waiting for another replica's seeding from this source to end");
        try {
            await (method === "clone" ? cloneInto(t, deadline) : dumpInto(t, deadline));
        } finally {
            await query(lock, releaseSeedLock(SEED_LOCK)).catch(() => undefined);
        }
    });
}

/** Time given to cleaning up after a clone, even past the deadline: the recipient may still be restarting. */
const CLEANUP_GRACE_MS = 30_000;

/**
 * CLONE: the plugin on both sides, a clone account on the source that exists only for this clone
 * (BACKUP_ADMIN, a random password), the source as the only valid donor, then the copy. The recipient
 * must restart to use the copied data; mysqld in a container has no supervisor to restart it, so it
 * shuts down (error 3707) and the container's restart policy (unless-stopped) starts it again.
 */
async function cloneInto(t: SeedTarget, deadline: number): Promise<void> {
    const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
    const password = randomBytes(18).toString("base64url");
    let d: CloneDialect | undefined;
    let failure: Error | undefined;
    try {
        await withConnection(t.donor, secondsUntil(deadline), "source", async (conn) => {
            d = await dialectOf(conn);
            await ensurePlugin(conn, d);
            await execAll(conn, d.createAccount(password)).catch((err) => {
                throw new Error(`making the clone account on the source failed: ${(err as Error).message}`);
            });
        });
        await cloneWith(t, d!, password, deadline);
    } catch (err) {
        failure = err as Error;
    }
    // The account goes from the source, and from the recipient that copied it with everything else.
    const leftovers: string[] = [];
    if (d) {
        const until = Math.max(deadline, Date.now() + CLEANUP_GRACE_MS);
        for (const [endpoint, what] of [[t.donor, "source"], [t.replica, "replica"]] as const) {
            await withConnection(endpoint, secondsUntil(until), what, (conn) => withSuperReadOnlyLifted(conn, { flavor: "mysql" }, () => execAll(conn, d!.dropAccount)))
                .catch((err) => leftovers.push(`on the ${what}: ${(err as Error).message}`));
        }
    }
    if (leftovers.length > 0) {
        const note = `the clone account ${CLONE_USER} could not be removed (${leftovers.join("; ")})`;
        throw new Error(failure ? `${failure.message}; ${note}` : `the copy completed, but ${note}: remove it by hand`);
    }
    if (failure) throw failure;
}

async function ensurePlugin(conn: Connection, d: CloneDialect): Promise<void> {
    const [row] = await query<{ n: number | string }>(conn, d.pluginActive);
    if (Number(row.n) > 0) return;
    // Not binlogged: a replica of this server must not try to install it again.
    await execAll(conn, [sessionBinlog(false), installPlugin(d.plugin), sessionBinlog(true)]).catch((err) => {
        // Installed meanwhile by someone else: what was wanted.
        if ((err as { errno?: number }).errno !== PLUGIN_EXISTS) throw err;
    });
}

async function dialectOf(conn: Connection): Promise<CloneDialect> {
    const v = await readServerVersion(conn);
    const d = cloneDialect(v);
    if (!d) throw new Error(`${describeVersion(v)} has no CLONE plugin`);
    return d;
}

/** Errors of a server that is going down or coming back: the clone's restart. */
function restarting(err: unknown): boolean {
    const e = err as { errno?: number; code?: string; message?: string };
    return e.errno === CLONE_RESTART_FAILED || e.code === "PROTOCOL_CONNECTION_LOST" || isGone(err) ||
        /Connection lost|closed state|shutdown in progress|Server shutdown/i.test(e.message ?? "");
}

/** The copy itself, bounded by the deadline, and the recipient's restart. */
async function cloneWith(t: SeedTarget, d: CloneDialect, password: string, deadline: number): Promise<void> {
    await withConnection(t.replica, secondsUntil(deadline), "replica", async (conn) => {
        // A recipient under super_read_only (every new server is fenced from its first start) can neither
        // install the plugin nor take the copy; the restart brings its own persisted setting back.
        const sro = superReadOnly(await readServerVersion(conn));
        const [ro] = sro ? await query<{ on: number | string }>(conn, sro.query) : [{ on: 0 }];
        const lifted = Number(ro.on) === 1;
        if (lifted) await query(conn, sro!.set(false));
        // CLONE has no time limit of its own: at the deadline it is killed from a second connection.
        let killed = false;
        const timer = setTimeout(() => {
            killed = true;
            withConnection(t.replica, 10, "replica", (c) => query(c, killQuery(Number(conn.threadId)))).catch(() => undefined);
        }, Math.max(1000, deadline - Date.now()));
        let down = false;
        try {
            await ensurePlugin(conn, d);
            await query(conn, d.validDonor(t.sourceHost, t.sourcePort));
            await query(conn, d.cloneFrom(CLONE_USER, t.sourceHost, t.sourcePort, password));
        } catch (err) {
            down = restarting(err) && !killed;
            if (!down) {
                throw new Error(`cloning the source ${hostPort(t.sourceHost, t.sourcePort)} failed` +
                    `${killed ? " (stopped at the time bound, replicationTimeoutSeconds)" : ""}: ${(err as Error).message}`);
            }
        } finally {
            clearTimeout(timer);
            if (lifted && !down) await query(conn, sro!.set(true)).catch(() => undefined);
        }
    });
    // Back after the restart, the recipient reports how the clone ended.
    for (;;) {
        const st = await withConnection(t.replica, secondsUntil(deadline), "replica restarting after the clone", async (conn) => {
            const [row] = await query<{ state: string; errno: number | string; message: string }>(conn, d.status);
            return row;
        }).catch((err) => {
            if (restarting(err) && Date.now() < deadline) return undefined;
            throw new Error(`the replica did not come back after the clone: ${(err as Error).message}`);
        });
        if (st?.state === "Completed") return;
        if (st?.state === "Failed" || Date.now() >= deadline) {
            throw new Error(`the clone from ${hostPort(t.sourceHost, t.sourcePort)} did not complete: state ${st?.state ?? "unknown"}` +
                (st?.message ? `, error ${st.errno}: ${st.message}` : ""));
        }
        await sleep(500);
    }
}

/** Schemas of the source to copy: every one but the system schemas. */
async function userSchemas(conn: Connection): Promise<string[]> {
    const rows = await query<{ name: string }>(conn, schemasQuery);
    return rows.map((r) => r.name).filter((n) => !SYSTEM_SCHEMAS.includes(n.toLowerCase()));
}

/**
 * The dump, run inside the replica's container with the image's own clients: mariadb-dump reads the
 * source in ONE consistent transaction and writes the GTID position of that very snapshot into the
 * dump (`--single-transaction --gtid --master-data`), which sets the replica's gtid_slave_pos; the
 * load is not binlogged, so the replica holds no transaction of its own. Users come across too.
 * Passwords travel in the exec's environment, never on a command line. `timeout` ends the whole
 * pipeline at the deadline.
 */
const DUMP_SCRIPT = [
    "set -o pipefail",
    'MYSQL_PWD="$SEED_SOURCE_PASSWORD" mariadb-dump --host="$SEED_SOURCE_HOST" --port="$SEED_SOURCE_PORT" --user="$SEED_SOURCE_USER"' +
    " --single-transaction --gtid --master-data=1 --routines --events --triggers --system=users --insert-ignore --databases \"$@\"" +
    ' | MYSQL_PWD="$SEED_REPLICA_PASSWORD" mariadb --user="$SEED_REPLICA_USER" --init-command="SET SESSION sql_log_bin = 0"',
].join("\n");

async function dumpInto(t: SeedTarget, deadline: number): Promise<void> {
    if (!t.replicaContainer) throw new Error("the replica's container is not known, so no dump can be loaded into it");
    const schemas = await withConnection(t.donor, secondsUntil(deadline), "source", userSchemas);
    if (schemas.length === 0) throw new Error("the source holds no schema to copy");
    await withConnection(t.replica, secondsUntil(deadline), "replica", async (conn) => {
        const v = await readServerVersion(conn);
        // Fresh: whatever its initialisation logged goes, so that it holds nothing of its own.
        await execAll(conn, replicationDialect(v).resetOwnGtids);
        let failure: string | undefined;
        try {
            const result = await execInContainer(t.replicaContainer,
                ["timeout", "--kill-after=5", String(secondsUntil(deadline)), "bash", "-c", DUMP_SCRIPT, "seed", ...schemas], [
                    `SEED_SOURCE_HOST=${t.sourceHost}`, `SEED_SOURCE_PORT=${t.sourcePort}`, `SEED_SOURCE_USER=${t.donor.user}`,
                    `SEED_SOURCE_PASSWORD=${t.donor.password}`, `SEED_REPLICA_USER=${t.replica.user}`, `SEED_REPLICA_PASSWORD=${t.replica.password}`,
                ], deadline);
            if (result.exitCode !== 0) {
                const said = redact(result.stderr, [t.donor.password, t.replica.password]).trim().split("\n").slice(-3).join(" / ");
                failure = `exit code ${result.exitCode}${[124, 137].includes(result.exitCode) ? " (stopped at the time bound, replicationTimeoutSeconds)" : ""}: ${said}`;
            } else {
                const [pos] = await query<{ pos: string }>(conn, slavePosQuery);
                if (pos.pos === "") failure = "the dump set no GTID position";
                else await takeSnapshotState(conn, t, pos.pos, deadline);
            }
        } catch (err) {
            failure = (err as Error).message;
        }
        if (failure !== undefined) {
            const undone = await undoDump(conn, v, schemas).then(() => "what was loaded was removed again",
                (e) => `removing what was loaded failed too: ${(e as Error).message}`);
            throw new Error(`dumping the source ${hostPort(t.sourceHost, t.sourcePort)} into the replica failed (${failure}); ${undone}`);
        }
    });
}

/**
 * The replica's binary log starts where the snapshot stands, as CLONE's gtid_purged does on MySQL: its
 * gtid_binlog_state becomes the source's as of the snapshot. The oldest log's Gtid_list then says what
 * came before it, so the replica, once a source, sends a fresh replica to a snapshot too, and the
 * errant checks compare like with like.
 */
async function takeSnapshotState(conn: Connection, t: SeedTarget, slavePos: string, deadline: number): Promise<void> {
    const sourceState = await withConnection(t.donor, secondsUntil(deadline), "source",
        async (c) => (await query<{ gtids: string }>(c, gtidDialect({ flavor: "mariadb" }).stateQuery))[0].gtids);
    await execAll(conn, restartBinlogAt(mariadbSnapshotState(sourceState, slavePos)));
}

/** Text from the clients, without the passwords or the statement text the server quotes back. */
function redact(text: string, secrets: readonly string[]): string {
    let out = text.replace(/near '[\s\S]*?' at line/g, "near '...' at line");
    for (const s of secrets) if (s) out = out.split(s).join("<hidden>");
    return out;
}

/** A failed load leaves nothing: the copied schemas and accounts go, and the GTID positions are cleared. */
async function undoDump(conn: Connection, v: ServerVersion, schemas: readonly string[]): Promise<void> {
    const d = replicationDialect(v);
    await query(conn, sessionBinlog(false));
    for (const s of schemas) await query(conn, dropDatabase({ name: s }));
    const users = await query<{ user: string; host: string }>(conn, accountsQuery);
    for (const u of users.filter((u) => !IMAGE_ACCOUNTS.includes(u.user))) await query(conn, dropUser(u));
    // The dump's own CHANGE MASTER runs before any data.
    await execAll(conn, [d.resetReplica, ...d.resetOwnGtids]);
}

/**
 * Runs a command in a container through the Docker engine the lab runs on (DOCKER_HOST, as the docker
 * provider), and waits for it to end. The command bounds itself (timeout); this waits a little longer.
 */
async function execInContainer(container: string, cmd: string[], env: string[], deadline: number):
    Promise<{ exitCode: number; stderr: string }> {
    const Docker = require("dockerode") as typeof import("dockerode");
    const { PassThrough } = require("node:stream") as typeof import("node:stream");
    const docker = new Docker();
    const until = deadline + 20_000;
    const exec = await docker.getContainer(container).exec({ Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let stderr = "";
    const out = new PassThrough();
    const err = new PassThrough();
    out.resume();
    err.on("data", (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
    docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { stream.destroy(); resolve(); }, Math.max(1000, until - Date.now()));
        stream.on("end", () => { clearTimeout(timer); resolve(); });
        stream.on("close", () => { clearTimeout(timer); resolve(); });
        stream.on("error", (e: Error) => { clearTimeout(timer); reject(e); });
    });
    let info = await exec.inspect();
    while (info.Running) {
        if (Date.now() >= until) throw new Error(`the command still runs in container ${container.slice(0, 12)} past its time bound`);
        await sleep(200);
        info = await exec.inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stderr };
}
