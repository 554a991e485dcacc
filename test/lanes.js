#!/usr/bin/env node
/**
 * Runs the Docker suites side by side in three lanes, balanced by their measured length:
 * `test/matrix.js integration` over every image then `test/matrix.js live` on the third image and
 * beyond (lane 2), `test/matrix.js live` on the first image (lane 0), and on the second (lane 1).
 * The integration suite and the live suite never share a Docker object or a port (integration uses
 * 23xxx and hand-made labs, live its own stacks), and each live lane has its own stacks and ports
 * (LAB_TEST_LANE, test/support/harness/liveStack.ts). All of them mostly wait on servers, so together
 * they take far less than one after the other.
 *
 * Each line of a lane is printed as it comes, prefixed with the lane's name; at the end each lane's
 * matrix tables are printed again, whole, then one closing line "N passed, N failed". Exits 1 when
 * any lane failed. LAB_TEST_LANES=serial runs them one after the other instead.
 */
const { spawn, spawnSync } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const MATRIX = path.join(__dirname, "matrix.js");
const IMAGES = process.env.LAB_TEST_IMAGE
    ? [process.env.LAB_TEST_IMAGE]
    : process.env.LAB_TEST_IMAGES
        ? process.env.LAB_TEST_IMAGES.split(",").map((s) => s.trim()).filter(Boolean)
        : require("./support/test-bed-images.json").servers;

/**
 * The lanes: a name, and the matrix runs it makes one after the other (a suite, and what its run gets
 * in its environment). Measured in CI (fresh clone, 2 cores, 1c1d9af): integration on the three
 * images about 1,450 s, live on MySQL 9.7 about 1,550 s, on MariaDB 11.8 about 1,290 s and on 10.11
 * about 350 s; with the duplicated files left out since (test/matrix.js), integration is about
 * 1,200 s and live on 10.11 about 200 s, so 10.11's live run follows the integration suite.
 */
const LANES = [
    {
        name: "integration",
        runs: [
            { suite: "integration", env: { LAB_TEST_IMAGES: IMAGES.join(",") } },
            ...(IMAGES.length > 2 ? [{ suite: "live", env: { LAB_TEST_IMAGES: IMAGES.slice(2).join(","), LAB_TEST_LANE: "2" } }] : []),
        ],
    },
    { name: "live", runs: [{ suite: "live", env: { LAB_TEST_IMAGES: IMAGES[0], LAB_TEST_LANE: "0" } }] },
    ...(IMAGES.length > 1 ? [{ name: "live-2", runs: [{ suite: "live", env: { LAB_TEST_IMAGES: IMAGES[1], LAB_TEST_LANE: "1" } }] }] : []),
];

/**
 * LAB_TESTBED_FIRST=1 (.ci/run sets it, having started the test bed in the background): the test
 * bed must be ready first. scripts/testbed.sh waits for a build that holds its lock, then checks the
 * engine and images (building what is missing), and fails when it cannot.
 */
function testBedFirst() {
    if (process.env.LAB_TESTBED_FIRST !== "1") return;
    process.stdout.write("waiting for the test bed (scripts/testbed.sh)\n");
    // Checks what the background build made; TESTBED_REBUILD=1 was for that build, not for this check.
    const run = spawnSync("bash", [path.join(__dirname, "..", "scripts", "testbed.sh")], {
        stdio: "inherit", env: { ...process.env, TESTBED_REBUILD: "0" },
    });
    if (run.status !== 0) {
        process.stdout.write(`scripts/testbed.sh exited ${run.signal ?? run.status}: the Docker suites cannot run\n`);
        process.exit(1);
    }
}

function runMatrix(name, { suite, env }) {
    return new Promise((resolve) => {
        const childEnv = { ...process.env, ...env };
        delete childEnv.LAB_TEST_IMAGE;
        const child = spawn(process.execPath, [MATRIX, suite], { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
        const tail = [];
        const relay = (stream, out) => readline.createInterface({ input: stream }).on("line", (line) => {
            out.write(`[${name}] ${line}\n`);
            tail.push(line);
            if (tail.length > 80) tail.shift();
        });
        relay(child.stdout, process.stdout);
        relay(child.stderr, process.stderr);
        child.on("close", (code, signal) => resolve({ name, suite, code: code ?? 1, signal, tail }));
    });
}

/** A lane's runs, one after the other; every run is made even when an earlier one failed. */
async function runLane({ name, runs }) {
    const results = [];
    for (const run of runs) results.push(await runMatrix(name, run));
    return results;
}

async function main() {
    testBedFirst();
    const started = Date.now();
    const results = [];
    if (process.env.LAB_TEST_LANES === "serial") {
        for (const lane of LANES) results.push(...(await runLane(lane)));
    } else {
        results.push(...(await Promise.all(LANES.map(runLane))).flat());
    }
    let passed = 0;
    let failed = 0;
    for (const r of results) {
        const table = r.tail.slice(Math.max(0, r.tail.findIndex((l) => l === `${r.suite} matrix`)));
        process.stdout.write(`\n${table.join("\n")}\n`);
        const closing = r.tail.map((l) => /^\w+: (\d+) passed, (\d+) failed/.exec(l)).filter(Boolean).pop();
        if (closing) {
            passed += Number(closing[1]);
            failed += Number(closing[2]);
        }
        if (r.code !== 0) process.stdout.write(`${r.name} lane exited ${r.signal ?? r.code}\n`);
    }
    process.stdout.write(`\nDocker suites took ${Math.round((Date.now() - started) / 1000)} s ` +
        `(${process.env.LAB_TEST_LANES === "serial" ? "one after the other" : "side by side"})\n`);
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
}

main();
