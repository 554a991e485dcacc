/**
 * `npm run bench:seed`: adding one replica to a lab that holds 1,000,000 rows, by replaying the
 * source's binary log and by a snapshot (CLONE on MySQL, a dump on MariaDB), each as a ratio to one
 * server's cold start.
 *
 * In one run, with the test bed's image: the median of BENCH_COLD_RUNS cold starts (default 3); a 1+1
 * lab (no read endpoint) that gets BENCH_ROWS rows (default 1,000,000) in transactions of 2,000; then
 * `up` with replicaCount 2 and `seed: binlog` (server 2 replays every transaction), then replicaCount 3
 * with `seed: snapshot` (server 3 is copied). Each `up` is timed whole, and the replica's Replication
 * step on its own; on MySQL the clone's stages are read from performance_schema.clone_progress: the
 * copy, and the recipient's restart and recovery. Everything it creates is
 * labelled bench-seed-* and removed at the end, also on failure.
 *
 * Environment: BENCH_IMAGE (default: the test image), BENCH_ROWS, BENCH_COLD_RUNS, LIVE_VERBOSE=1.
 * Ports: 43500-43599 on 127.0.0.1.
 */
import * as os from "node:os";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { TEST_IMAGE } from "../support/images";
import type { Step } from "../support/harness/mockRuntime/engine";
import { LiveStack, forgetStack, liveStack, removeLabelled } from "../support/harness/liveStack";
import { insertRows, rows, withConn } from "../support/mysql";
import { coldStart, imagePresent, log, median, runBench, seconds, timedUp } from "./common";

const IMAGE = process.env.BENCH_IMAGE || TEST_IMAGE;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const COLD_STACK = "bench-seed-cold";
const BASE_PORT = 43500;
const COLD_PORT = 43590;

let stack: LiveStack | undefined;

/** How long the last up spent on one server's Replication step. */
function replicationStepMs(s: LiveStack, index: number): number | undefined {
    return (s.lastSteps as Step[]).find((step) => step.name === `lab-server-${index}-replication`)?.ms;
}

async function main(): Promise<void> {
    if (!(await imagePresent(IMAGE))) throw new Error(`${IMAGE} is not on the Docker host: run \`bash scripts/testbed.sh\``);
    await removeLabelled(COLD_STACK);
    const colds: number[] = [];
    for (let run = 1; run <= COLD_RUNS; run++) {
        const one = await coldStart(IMAGE, COLD_STACK, COLD_PORT);
        log(`cold start ${run}/${COLD_RUNS}: healthy after ${seconds(one.healthyMs)} s`);
        colds.push(one.healthyMs);
    }
    const cold = median(colds);

    stack = liveStack({
        stack: "bench-seed",
        config: { image: IMAGE, flavor: "auto", pullImage: false, readEndpoint: false, basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99,
            replicaCount: 1, replicationTimeoutSeconds: 3600 },
        log: process.env.LIVE_VERBOSE === "1" ? (l) => process.stderr.write(`${l}\n`) : undefined,
    });
    await forgetStack(stack);
    const lab = await timedUp(stack, {});
    // Server i's admin login; servers 2 and 3 are added later, on the ports that follow.
    const root = (i: number) => ({ ...parseMysqlUrl(lab.outputs.adminConnectionStrings[0]), port: BASE_PORT + i });
    log(`lab 1+1 up in ${seconds(lab.ms)} s; writing ${ROWS} rows`);
    const started = Date.now();
    await withConn(parseMysqlUrl(lab.outputs.appConnectionString), async (c) => {
        await c.query("CREATE TABLE bench (id INT PRIMARY KEY, payload VARCHAR(100) NOT NULL)");
        await insertRows(c, "bench", ROWS, 1, 2000);
    });
    const writeMs = Date.now() - started;
    const version = await withConn(root(0), async (c) => (await rows(c, "SELECT VERSION() AS v"))[0].v as string);
    // Fresh statistics: MySQL caches them for a day by default.
    const [{ size }] = await withConn(root(0), async (c) => {
        await rows(c, "ANALYZE TABLE app.bench");
        if (!/mariadb/i.test(version)) await rows(c, "SET SESSION information_schema_stats_expiry = 0");
        return rows(c, "SELECT ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576) AS size FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'");
    });
    log(`${ROWS} rows (${size} MiB) written in ${seconds(writeMs)} s`);

    log("up: replicaCount 2, seed binlog");
    const binlog = await timedUp(stack, { replicaCount: 2, seed: "binlog" });
    const binlogStep = replicationStepMs(stack, 2);
    log(`binlog replica in ${seconds(binlog.ms)} s`);

    log("up: replicaCount 3, seed snapshot");
    const snap = await timedUp(stack, { replicaCount: 3, seed: "snapshot" });
    const snapStep = replicationStepMs(stack, 3);
    // The clone's stages: the copy (drop data, files, pages, redo, sync), then the restart and recovery.
    const stages = await withConn(root(3), async (c) => {
        if (/mariadb/i.test(version)) return undefined;
        const found = await rows(c, "SELECT STAGE AS stage, TIMESTAMPDIFF(MICROSECOND, BEGIN_TIME, END_TIME) / 1000 AS ms FROM performance_schema.clone_progress");
        const sum = (names: string[]) => found.filter((r) => names.includes(r.stage)).reduce((t, r) => t + Number(r.ms), 0);
        return { copy: sum(["DROP DATA", "FILE COPY", "PAGE COPY", "REDO COPY", "FILE SYNC"]), restart: sum(["RESTART", "RECOVERY"]) };
    });
    // Both replicas hold every row.
    for (const i of [2, 3]) {
        const n = await withConn(root(i), async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM app.bench"))[0].n));
        if (n !== ROWS) throw new Error(`server ${i} holds ${n} rows, not ${ROWS}`);
    }

    const line = (what: string, ms: number | undefined) =>
        `${what.padEnd(58)} ${(ms === undefined ? "-" : seconds(ms)).padStart(8)} ${(ms === undefined ? "-" : (ms / cold).toFixed(2)).padStart(7)}`;
    const method = /mariadb/i.test(version) ? "dump" : "clone";
    process.stdout.write([
        "",
        `seed benchmark: ${IMAGE} (${version}), ${ROWS} rows (${size} MiB), engine ${stack.engine}, ${os.cpus().length} CPUs, ` +
            `load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
        `cold starts (healthy, s): ${colds.map(seconds).join(", ")}`,
        `${"measure".padEnd(58)} ${"seconds".padStart(8)} ${"x cold".padStart(7)}`,
        line("single server cold start (healthy, median)", cold),
        line(`writing the rows on the source (${ROWS / 2000} transactions)`, writeMs),
        line("up: add a replica by binlog replay", binlog.ms),
        line("    of which its Replication step (replay, catch up)", binlogStep),
        line(`up: add a replica by snapshot (${method})`, snap.ms),
        line(`    of which its Replication step (${method}${method === "clone" ? ", restart" : ", load"}, catch up)`, snapStep),
        ...(stages === undefined ? [] : [
            line("        of which the clone's copy (clone_progress)", stages.copy),
            line("        of which the recipient's restart and recovery", stages.restart),
        ]),
        `(ratios against the median healthy cold start, ${seconds(cold)} s)`,
    ].join("\n") + "\n");
}

runBench(main, () => (stack ? [stack] : []), [COLD_STACK]);
