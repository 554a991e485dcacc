#!/usr/bin/env node
/**
 * Runs a Docker suite once per server image: `node test/matrix.js integration|live [jest args]`.
 *
 * Images: LAB_TEST_IMAGE (one), else LAB_TEST_IMAGES (comma-separated), else the test bed's three
 * (test/support/test-bed-images.json). Each run is jest with LAB_TEST_IMAGE set; at the end a table gives each
 * image's passed, failed and skipped tests and time, then one closing line "N passed, N failed".
 * Exits 1 when any run failed or ran no test.
 */
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const TEST_BED_SERVER_IMAGES = require("./support/test-bed-images.json").servers;

const [suite, ...jestArgs] = process.argv.slice(2);
if (suite !== "integration" && suite !== "live") {
    process.stderr.write("usage: node test/matrix.js integration|live [jest args]\n");
    process.exit(2);
}
const images = process.env.LAB_TEST_IMAGE
    ? [process.env.LAB_TEST_IMAGE]
    : process.env.LAB_TEST_IMAGES
        ? process.env.LAB_TEST_IMAGES.split(",").map((s) => s.trim()).filter(Boolean)
        : TEST_BED_SERVER_IMAGES;

/**
 * Live files that prove nothing flavor-specific run on some test-bed images only (not registered at all
 * on the others, so nothing is skipped); a file not listed runs on every image, and an image outside the
 * test bed runs every file.
 */
const LIVE_ONLY_ON = {
    // The harness's two engines and config refusals do not depend on the server.
    "harness.test.ts": ["mysql-replicas/mysql:9.7"],
    "config.test.ts": ["mysql-replicas/mysql:9.7"],
    // One MySQL and one MariaDB: the tools' and the app's dialect code, and delays, differ by flavor only.
    "tools.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
    "delay.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
    "demoApp.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
    // On each MariaDB image the integration suite proves the account SQL (sqlAccounts), a whole
    // switchover (topologyUndo) and the replication failures a failover meets (replicationFailures);
    // the program's wiring of all three is the same on 10.11 as on 11.8.
    "accounts.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
    "switchover.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
    "failover.test.ts": ["mysql-replicas/mysql:9.7", "mysql-replicas/mariadb:11.8"],
};

/** Integration files that concern one flavor only, run on its test-bed images only (as LIVE_ONLY_ON). */
const INTEGRATION_ONLY_ON = {
    // The tools against a hand-made lab: the live tools file proves the same on MySQL 9.7 and MariaDB
    // 11.8 against the lab index.ts builds, so this one runs where that one does not.
    "tools.test.ts": ["mysql-replicas/mariadb:10.11"],
};

/** The files of this suite left out on `image`, by LIVE_ONLY_ON or INTEGRATION_ONLY_ON. */
function leftOut(image) {
    if (!TEST_BED_SERVER_IMAGES.includes(image)) return [];
    const onlyOn = suite === "live" ? LIVE_ONLY_ON : INTEGRATION_ONLY_ON;
    return Object.entries(onlyOn).filter(([, on]) => !on.includes(image)).map(([file]) => file);
}

/**
 * The failed tests and failed files of one jest run, a line each with the start of its error, so that
 * the closing table (all a CI log's tail may keep) says which test failed and why, not only how many.
 */
function failuresOf(result) {
    const lines = [];
    for (const file of result.testResults ?? []) {
        const rel = file.name ? path.relative(process.cwd(), file.name) : "(unknown file)";
        const failed = (file.assertionResults ?? []).filter((a) => a.status === "failed");
        for (const a of failed) lines.push(`${rel}: ${a.fullName}: ${headOf(a.failureMessages?.[0])}`);
        if (failed.length === 0 && file.status === "failed") lines.push(`${rel}: ${headOf(file.message)}`);
    }
    return lines;
}

/** The first three lines of an error, on one line: enough for an expect's matcher, expected and received. */
function headOf(text) {
    // eslint-disable-next-line no-control-regex
    const lines = String(text ?? "").replace(/\u001b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim())
        .filter((l) => l && !l.startsWith("● Test suite failed to run") && !l.startsWith("at ") && !/^(>\s*)?\d+ \|/.test(l) && l !== "|" && !/^\|\s*\^/.test(l));
    const said = lines.slice(0, 3).join(" / ");
    return said.length > 400 ? `${said.slice(0, 400)}…` : said;
}

const jest = require.resolve("jest/bin/jest");
const rows = [];
for (const image of images) {
    const out = path.join(os.tmpdir(), `mysql-replicas-${suite}-${process.pid}-${rows.length}.json`);
    const skipFiles = leftOut(image);
    process.stdout.write(`\n=== ${suite} tests on ${image}${skipFiles.length ? ` (not run on this image, by choice: ${skipFiles.join(", ")})` : ""}\n`);
    // The ignore patterns go last: an array option takes the arguments after it, so a test path given
    // after them would become one more pattern to ignore.
    const ignore = skipFiles.map((f) => `--testPathIgnorePatterns=/test/${suite}/${f.replace(/\./g, "\\.")}$`);
    const started = Date.now();
    const run = spawnSync(process.execPath, [jest, "--selectProjects", suite, "--runInBand", "--json", `--outputFile=${out}`, ...jestArgs, ...ignore], {
        stdio: "inherit",
        env: { ...process.env, LAB_TEST_IMAGE: image },
    });
    const seconds = (Date.now() - started) / 1000;
    let result = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTotalTests: 0 };
    try {
        result = JSON.parse(fs.readFileSync(out, "utf8"));
        fs.rmSync(out, { force: true });
    } catch {
        // jest died before writing its results: the exit status says so
    }
    rows.push({
        image, seconds, status: run.status ?? 1,
        passed: result.numPassedTests, failed: result.numFailedTests, skipped: result.numPendingTests, total: result.numTotalTests,
        failures: failuresOf(result),
    });
}

const pad = (s, n) => String(s).padEnd(n);
process.stdout.write(`\n${suite} matrix\n${pad("image", 32)}${pad("passed", 8)}${pad("failed", 8)}${pad("skipped", 9)}seconds\n`);
for (const r of rows) {
    process.stdout.write(`${pad(r.image, 32)}${pad(r.passed, 8)}${pad(r.failed, 8)}${pad(r.skipped, 9)}${r.seconds.toFixed(0)}` +
        `${r.status !== 0 ? "   (jest exited " + r.status + ")" : r.total === 0 ? "   (no test ran)" : ""}\n`);
}
for (const r of rows) {
    for (const f of r.failures) process.stdout.write(`  failed on ${r.image}: ${f}\n`);
}
const passed = rows.reduce((n, r) => n + r.passed, 0);
const failed = rows.reduce((n, r) => n + r.failed, 0);
const skipped = rows.reduce((n, r) => n + r.skipped, 0);
if (skipped > 0) {
    process.stdout.write(`*** ${skipped} ${suite} tests were SKIPPED and did not run (no Docker engine or no test image: see the banners above) ***\n`);
}
process.stdout.write(`${suite}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
process.exit(rows.some((r) => r.status !== 0 || r.total === 0) ? 1 : 0);
