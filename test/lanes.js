#!/usr/bin/env node
/**
 * Runs the Docker suites side by side in three lanes: `test/matrix.js integration` over every image,
 * `test/matrix.js live` on the first image, and `test/matrix.js live` on the others one after another.
 * The integration suite and the live suite never share a Docker object or a port (integration uses
 * 23xxx and hand-made labs, live its own stacks), and each live lane has its own stacks and ports
 * (LAB_TEST_LANE, test/support/harness/liveStack.ts). All of them mostly wait on servers, so together
 * they take far less than one after the other.
 *
 * Each line of a lane is printed as it comes, prefixed with the lane's name; at the end each lane's
 * matrix table is printed again, whole, then one closing line "N passed, N failed". Exits 1 when
 * any lane failed. LAB_TEST_LANES=serial runs them one after the other instead.
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

/** The lanes: a name, the suite, and what its matrix run gets in its environment. */
const LANES = [
    { name: "integration", suite: "integration", env: { LAB_TEST_IMAGES: IMAGES.join(",") } },
    { name: "live", suite: "live", env: { LAB_TEST_IMAGES: IMAGES[0], LAB_TEST_LANE: "0" } },
    ...(IMAGES.length > 1 ? [{ name: "live-2", suite: "live", env: { LAB_TEST_IMAGES: IMAGES.slice(1).join(","), LAB_TEST_LANE: "1" } }] : []),
];

function runLane({ name, suite, env }) {
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

async function main() {
    const started = Date.now();
    const results = [];
    if (process.env.LAB_TEST_LANES === "serial") {
        for (const lane of LANES) results.push(await runLane(lane));
    } else {
        results.push(...(await Promise.all(LANES.map(runLane))));
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
