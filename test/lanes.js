#!/usr/bin/env node
/**
 * Runs the two Docker suites side by side: `node test/lanes.js` starts `test/matrix.js integration`
 * and `test/matrix.js live` at once. They never share a Docker object or a port (integration uses
 * 23xxx and hand-made labs, live 33xxx–34xxx and its own stacks), and both spend much of their time
 * waiting on servers, so together they take far less than one after the other.
 *
 * Each line of a lane is printed as it comes, prefixed with the lane's name; at the end each lane's
 * matrix table is printed again, whole, then one closing line "N passed, N failed". Exits 1 when
 * either lane failed. LAB_TEST_LANES=serial runs them one after the other instead.
 */
const { spawn } = require("node:child_process");
const path = require("node:path");
const readline = require("node:readline");

const MATRIX = path.join(__dirname, "matrix.js");
const SUITES = ["integration", "live"];

function runLane(suite) {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [MATRIX, suite], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
        const tail = [];
        const relay = (stream, out) => readline.createInterface({ input: stream }).on("line", (line) => {
            out.write(`[${suite}] ${line}\n`);
            tail.push(line);
            if (tail.length > 40) tail.shift();
        });
        relay(child.stdout, process.stdout);
        relay(child.stderr, process.stderr);
        child.on("close", (code, signal) => resolve({ suite, code: code ?? 1, signal, tail }));
    });
}

async function main() {
    const started = Date.now();
    const results = [];
    if (process.env.LAB_TEST_LANES === "serial") {
        for (const suite of SUITES) results.push(await runLane(suite));
    } else {
        results.push(...(await Promise.all(SUITES.map(runLane))));
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
        if (r.code !== 0) process.stdout.write(`${r.suite} lane exited ${r.signal ?? r.code}\n`);
    }
    process.stdout.write(`\nDocker suites took ${Math.round((Date.now() - started) / 1000)} s ` +
        `(${process.env.LAB_TEST_LANES === "serial" ? "one after the other" : "side by side"})\n`);
    process.stdout.write(`${passed} passed, ${failed} failed\n`);
    process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
}

main();
