/**
 * A jest reporter that makes skipped Docker suites impossible to miss: test/support/docker.ts notes
 * each suite it skips (no Docker engine, or no test image) in LAB_SKIP_FILE, and this prints them
 * in a banner at the end of the run. Jest alone hides them: it drops the console output of a
 * file whose tests were all skipped when it runs several files.
 */
const fs = require("node:fs");

class SkipReporter {
    onRunComplete() {
        const file = process.env.LAB_SKIP_FILE;
        if (!file || !fs.existsSync(file)) return;
        const lines = [...new Set(fs.readFileSync(file, "utf8").split("\n").filter(Boolean))];
        fs.rmSync(file, { force: true });
        if (lines.length === 0) return;
        const bar = "*".repeat(78);
        process.stderr.write(`\n${bar}\n*** ${lines.length} Docker suite(s) SKIPPED: their tests did not run.\n` +
            lines.map((l) => `***   ${l}`).join("\n") +
            "\n*** Start Docker and run `bash scripts/testbed.sh` (Debian/Ubuntu), or set LAB_TEST_IMAGE to a pulled image." +
            `\n*** Under CI=true these suites fail instead of skipping.\n${bar}\n\n`);
    }
}

module.exports = SkipReporter;
