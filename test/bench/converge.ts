/**
 * `npm run bench:converge`: how long convergence takes on this host, in units of one server's cold start.
 *
 * In one run, through liveStack (the Automation API where a pulumi CLI exists, else the mock runtime
 * with real Docker hooks), with the test bed's image:
 *   1. a single server's cold start: container start on an empty volume until Docker reports
 *      it healthy (the lab's own health check), and until it first takes a TCP login (about when the
 *      lab's ServerReady lets the server's dependents go);
 *   2. wall time of `up` from nothing to a converged lab of 1+2, and of 1+5;
 *   3. wall time of the `up` that adds one replica to a lab (1+1) holding 100,000 rows;
 *   4. then, while `npm run bench`'s writers load its source, of the `up` that adds two more; the
 *      writers stop with it, and the time until both new replicas hold every row follows (no target:
 *      reported, with how many rows they lacked when the up ended).
 * Each is printed with its ratios to both cold starts and its target (1.5×, 2.5×, 1.5×: only the lab's
 * data template pays for an initialisation, see components/replication/dataDirectory.ts), met only
 * when it holds against both. Everything it
 * creates is labelled bench-converge-* and removed at the end, also on failure.
 *
 * The cold start is measured BENCH_COLD_RUNS times (default 3), and each of 2 and 3 BENCH_UP_RUNS
 * times (default 3: from nothing again, or the replica removed and added again), and the medians
 * taken: single runs of the same up here differ by up to 3 s. The labs include the read endpoint
 * (HAProxy) and the demo app when their images are on the host, as a default lab does.
 *
 * Environment: BENCH_IMAGE (default: the test image, see test/support/images.ts), BENCH_PROXY_IMAGE
 * (default: the test proxy image), BENCH_ROWS (100000), BENCH_COLD_RUNS (3), BENCH_UP_RUNS (3),
 * LIVE_VERBOSE=1.
 * Ports: 43300-43399 on 127.0.0.1.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BENCH_TABLE, DEFAULT_OPTIONS, MAX_DURATION_S, runBench as runLoad } from "../../scripts/lib/bench";
import { parseMysqlUrl, parseOutputs } from "../../scripts/lib/outputs";
import { APP_TEST_IMAGE, PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";
import { insertRows, rows, sleep, waitFor, withConn } from "../support/mysql";
import { LiveStack, StackConfig, forgetStack, liveStack, removeLabelled } from "../support/harness/liveStack";
import { coldStart, imagePresent, log, median, runBench, seconds, slowest, timedUp } from "./common";

const IMAGE = process.env.BENCH_IMAGE || TEST_IMAGE;
const PROXY_IMAGE = process.env.BENCH_PROXY_IMAGE || PROXY_TEST_IMAGE;
const APP_IMAGE = process.env.BENCH_APP_IMAGE || APP_TEST_IMAGE;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 3);
const UP_RUNS = Math.max(1, Math.floor(Number(process.env.BENCH_UP_RUNS ?? 3)) || 3);
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const COLD_STACK = "bench-converge-cold";
const COLD_PORT = 43390;

const stacks: LiveStack[] = [];

let readEndpoint = false;
let demoApp = false;

function benchStack(suffix: string, basePort: number): LiveStack {
    const stack = liveStack({
        stack: `bench-converge-${suffix}`,
        config: {
            image: IMAGE, flavor: "auto", pullImage: false, readEndpoint, proxyImage: PROXY_IMAGE,
            basePort, readEndpointPort: basePort + 9, demoApp, demoAppImage: APP_IMAGE, demoAppPort: basePort + 8,
        } satisfies StackConfig,
        log: process.env.LIVE_VERBOSE === "1" ? (l) => log(l) : undefined,
    });
    stacks.push(stack);
    return stack;
}

const fresh = forgetStack;

async function main(): Promise<void> {
    const results: Array<{ what: string; ms: number; target?: number; note?: string }> = [];

    if (!(await imagePresent(IMAGE))) throw new Error(`${IMAGE} is not on the Docker host: run \`bash scripts/testbed.sh\``);
    readEndpoint = await imagePresent(PROXY_IMAGE);
    demoApp = readEndpoint && (await imagePresent(APP_IMAGE));
    await removeLabelled(COLD_STACK);
    const colds: Array<{ healthyMs: number; tcpMs: number }> = [];
    for (let run = 1; run <= COLD_RUNS; run++) {
        log(`cold start ${run}/${COLD_RUNS} of one server (${IMAGE}) on an empty volume`);
        const one = await coldStart(IMAGE, COLD_STACK, COLD_PORT);
        log(`cold start: healthy after ${seconds(one.healthyMs)} s, first TCP login after ${seconds(one.tcpMs)} s`);
        colds.push(one);
    }
    const cold = { healthyMs: median(colds.map((c) => c.healthyMs)), tcpMs: median(colds.map((c) => c.tcpMs)) };
    results.push({ what: "single server cold start (healthy, median)", ms: cold.healthyMs });
    results.push({ what: "single server cold start (first TCP login, median)", ms: cold.tcpMs });

    results.push(await fromNothing("a", 43300, 2, 1.5));
    results.push(await fromNothing("b", 43310, 5, 2.5));

    // The slowest steps are those of the last run.
    let slow = "";
    const c = benchStack("c", 43320);
    await fresh(c);
    log(`up: 1+1, then ${ROWS} rows`);
    const lab11 = await timedUp(c, { replicaCount: 1 });
    await withConn(parseMysqlUrl(lab11.outputs.appConnectionString), async (conn) => {
        await conn.query("CREATE TABLE bench (id INT PRIMARY KEY, payload VARCHAR(100) NOT NULL)");
        await insertRows(conn, "bench", ROWS, 1, 2000);
    });
    let add: Awaited<ReturnType<typeof timedUp>> | undefined;
    const addOne = await medianOf("up: add one replica to the lab holding the rows", async () => {
        // Again: the replica (its container and volume) removed first, so the next up adds it anew.
        if (add) await timedUp(c, { replicaCount: 1 });
        add = await timedUp(c, { replicaCount: 2 });
        slow = slowest(c);
        return add.ms;
    });
    results.push({ what: `up: add a replica to a lab holding ${ROWS} rows`, ms: addOne.ms, target: 1.5, note: `${addOne.note}; ${slow}` });

    // The bench's writers (npm run bench, without readers: the endpoint is replaced as the servers change)
    // load the source while two more replicas are added; then the new ones must catch up with it.
    log("up: add two replicas while the bench's writers load the source");
    const outputs = parseOutputs(add!.outputs, "the converge bench's lab");
    const signal = { stopped: false };
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-converge-"));
    const load = runLoad(outputs, { ...DEFAULT_OPTIONS, readers: 0, durationS: MAX_DURATION_S, outDir: out, progress: "none" }, undefined, signal);
    load.catch(() => undefined); // awaited below; a failed load must not end the process first
    let two: Awaited<ReturnType<typeof timedUp>>;
    try {
        await sleep(3000);
        two = await timedUp(c, { replicaCount: 4 });
    } finally {
        signal.stopped = true;
    }
    const upNote = slowest(c);
    const loaded = await load;
    fs.rmSync(out, { recursive: true, force: true });
    // The writers stop with the up: the new replicas then catch up with a source that no longer moves.
    // Rows are only ever inserted, with increasing ids, so a replica holding as many rows as the source
    // has every row (the backlog is what it still lacked when the up ended).
    const grown = parseOutputs(two.outputs, "the converge bench's lab");
    const [, , , ...added] = grown.adminConnectionStrings;
    const count = (url: string) => withConn(url, async (conn) =>
        Number((await rows(conn, `SELECT COUNT(*) AS n FROM ${grown.database}.${BENCH_TABLE}`))[0].n));
    const caughtUpFrom = Date.now();
    const expected = await count(grown.adminConnectionStrings[0]);
    const backlog = expected - Math.min(...(await Promise.all(added.map(count))));
    await waitFor("the added replicas to hold every row the source has once the writers stopped", 600_000, async () => {
        const counts = await Promise.all(added.map((url) => count(url).catch(() => -1)));
        return counts.every((n) => n === expected) ? true : undefined;
    }, 250);
    const caughtUp = Date.now() - caughtUpFrom;
    results.push({
        what: "up: add two replicas under the bench's write load", ms: two.ms,
        note: `${upNote}; load: ${loaded.writes.perSecond.toFixed(0)} writes/s over ${loaded.elapsedS.toFixed(0)} s, ${loaded.writes.errors} failed`,
    });
    results.push({
        what: "  … then, writers stopped, until both hold every row", ms: caughtUp,
        note: `${backlog} rows behind when the up ended`,
    });
    await c.destroy();

    // Two bases: Docker's health check (what a compose user waits on) and the first TCP login (what the
    // lab's own ServerReady waits on). A target is met only when it holds against both.
    const base = cold.healthyMs;
    const lines = [
        "",
        `converge benchmark: ${IMAGE}${readEndpoint ? ` + read endpoint (${PROXY_IMAGE})` : ""}` +
            `${demoApp ? ` + demo app (${APP_IMAGE})` : ""}, engine ${c.engine}, ` +
            `${os.cpus().length} CPUs, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
        `cold starts (healthy / TCP, s): ${colds.map((c) => `${seconds(c.healthyMs)}/${seconds(c.tcpMs)}`).join(", ")}`,
        `${"measure".padEnd(52)} ${"seconds".padStart(8)} ${"x cold".padStart(7)} ${"x TCP".padStart(7)} ${"target".padStart(7)}  result`,
    ];
    for (const r of results) {
        const ratio = r.ms / base;
        const tcpRatio = r.ms / cold.tcpMs;
        const verdict = r.target === undefined ? ""
            : tcpRatio <= r.target ? "meets target"
                : ratio <= r.target ? "meets target against healthy only" : "MISSES target";
        lines.push(`${r.what.padEnd(52)} ${seconds(r.ms).padStart(8)} ${ratio.toFixed(2).padStart(7)} ${tcpRatio.toFixed(2).padStart(7)} ` +
            `${(r.target ? `<= ${r.target}x` : "").padStart(7)}  ${verdict}`);
        if (r.note) lines.push(`${"".padEnd(6)}${r.note}`);
    }
    lines.push(`(x cold: against the median healthy cold start, ${seconds(base)} s; x TCP: against the median first TCP login, ` +
        `${seconds(cold.tcpMs)} s, which is when the lab's ServerReady lets a server's dependents go)`);
    process.stdout.write(lines.join("\n") + "\n");
}

/** `up` from nothing to 1+`replicas`, UP_RUNS times, each destroyed after; the median as a result row. */
async function fromNothing(suffix: string, basePort: number, replicas: number, target: number) {
    const stack = benchStack(suffix, basePort);
    // The slowest steps are those of the last run (its destroy would replace them).
    let slow = "";
    const lab = await medianOf(`up: nothing -> 1+${replicas}`, async () => {
        await fresh(stack);
        const up = await timedUp(stack, { replicaCount: replicas });
        slow = slowest(stack);
        await stack.destroy();
        return up.ms;
    });
    return { what: `up: nothing -> converged 1+${replicas}`, ms: lab.ms, target, note: `${lab.note}; ${slow}` };
}

/** Runs `once` UP_RUNS times; its median, and every run's seconds for the note. */
async function medianOf(what: string, once: () => Promise<number>): Promise<{ ms: number; note: string }> {
    const runs: number[] = [];
    for (let run = 1; run <= UP_RUNS; run++) {
        log(`${what} (${run}/${UP_RUNS})`);
        runs.push(await once());
    }
    return { ms: median(runs), note: `runs ${runs.map(seconds).join(", ")} s` };
}

runBench(main, () => stacks, [COLD_STACK]);
