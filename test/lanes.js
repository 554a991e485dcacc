#!/usr/bin/env node
/**
 * Runs the Docker suites in three lanes side by side: the live suite on the first image; the live
 * suite on the second; and the integration suite on every image, then the live suite on the others.
 * The integration suite and the live suite never share a Docker object or a port (integration uses
 * 23xxx and hand-made labs, live its own stacks), and each live run has its own stacks and ports
 * (LAB_TEST_LANE, test/support/harness/liveStack.ts). All of them mostly wait on servers, so together
 * they take far less than one after the other; the arrangement evens out the lanes' times
 * (live MySQL ≈ live MariaDB 11.8 ≈ integration + live MariaDB 10.11).
 *
 * Each line is printed as it comes, prefixed with its run's name; at the end each run's matrix table
 * is printed again, whole, then one closing line "N passed, N failed". Exits 1 when any run failed.
 * LAB_TEST_LANES=serial runs everything one after the other instead.
 */
const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const MATRIX = path.join(__dirname, "matrix.js");
const IMAGES = process.env.LAB_TEST_IMAGE
    ? [process.env.LAB_TEST_IMAGE]
    : process.env.LAB_TEST_IMAGES
        ? process.env.LAB_TEST_IMAGES.split(",").map((s) => s.trim()).filter(Boolean)
        : require("./support/test-bed-images.json").servers;

/** One matrix run: a name, the suite, and what it gets in its environment. */
const run = (name, suite, env) => ({ name, suite, env });
const live = (images, lane) => run(lane === 0 ? "live" : `live-${lane + 1}`, "live", { LAB_TEST_IMAGES: images.join(","), LAB_TEST_LANE: String(lane) });

/** The lanes, each a list of runs one after the other. */
const LANES = [
    [live(IMAGES.slice(0, 1), 0)],
    ...(IMAGES.length > 1 ? [[live(IMAGES.slice(1, 2), 1)]] : []),
    [run("integration", "integration", { LAB_TEST_IMAGES: IMAGES.join(",") }), ...(IMAGES.length > 2 ? [live(IMAGES.slice(2), 2)] : [])],
];

function runMatrix({ name, suite, env }) {
    return new Promise((resolve) => {
        const childEnv = { ...process.env, ...env };
        delete childEnv.LAB_TEST_IMAGE;
        const child = spawn(process.execPath, [MATRIX, suite], { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
        const tail = [];
        const relay = (stream, out) => readline.createInterface({ input: stream }).on("line", (line) => {
            out.write(`[${name}] ${line}\n`);
            tail.push(line);
            if (tail.length > 40) tail.shift();
        });
        relay(child.stdout, process.stdout);
        relay(child.stderr, process.stderr);
        child.on("close", (code, signal) => resolve({ name, suite, code: code ?? 1, signal, tail }));
    });
}

async function runLane(runs) {
    const results = [];
    for (const r of runs) results.push(await runMatrix(r));
    return results;
}

async function main() {
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
        if (r.code !== 0) process.stdout.write(`${r.name} exited ${r.signal ?? r.code}\n`);
    }
    process.stdout.write(`\nDocker suites took ${Math.round((Date.now() - started) / 1000)} s ` +
        `(${process.env.LAB_TEST_LANES === "serial" ? "one after the other" : "side by side"})\n`);
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
}

main();
