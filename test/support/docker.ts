/**
 * Whether tests that need a Docker engine can run. Under CI=true a missing engine is a failure,
 * never a skip; elsewhere those tests are skipped with a loud reason.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { TEST_IMAGE } from "./images";

let cached: { ok: boolean; reason: string } | undefined;

export function dockerStatus(): { ok: boolean; reason: string } {
    if (!cached) {
        try {
            execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
            cached = imageExists(TEST_IMAGE)
                ? { ok: true, reason: "" }
                : { ok: false, reason: `the test image ${TEST_IMAGE} is not on the Docker host; run \`bash scripts/testbed.sh\` ` +
                    "(Debian/Ubuntu) or pull an official one and set LAB_TEST_IMAGE, e.g. LAB_TEST_IMAGE=mysql:8.4" };
        } catch (err) {
            const e = err as Error & { stderr?: Buffer | string; code?: string };
            const said = e.code === "ENOENT" ? "no docker command on PATH" : String(e.stderr ?? "").trim().split("\n").pop() || e.message.split("\n")[0];
            cached = { ok: false, reason: `no Docker engine answers \`docker info\` (${said}); run \`bash scripts/testbed.sh\`` };
        }
    }
    return cached;
}

/** `describe` for suites that need Docker: fails under CI=true without it, skips loudly elsewhere. */
export function describeWithDocker(name: string, body: () => void): void {
    const status = dockerStatus();
    if (status.ok) {
        describe(name, body);
    } else if (process.env.CI === "true") {
        describe(name, () => {
            test("needs a Docker engine", () => {
                throw new Error(`CI=true and ${status.reason}`);
            });
        });
    } else {
        // Jest drops the console output of a file whose tests are all skipped when it runs several
        // files, so the reason also goes to the file test/support/skipReporter.js prints at the end.
        // eslint-disable-next-line no-console
        console.warn(`\n*** SKIPPED "${name}": ${status.reason} ***\n`);
        noteSkip(`${name}: ${status.reason}`);
        describe.skip(name, body);
    }
}

/** Appends a skipped suite to the file jest.config.js names in LAB_SKIP_FILE, for skipReporter.js. */
function noteSkip(line: string): void {
    const file = process.env.LAB_SKIP_FILE;
    if (file) fs.appendFileSync(file, `${line}\n`);
}

/** Whether a local image exists (the test bed builds them). */
export function imageExists(image: string): boolean {
    try {
        execFileSync("docker", ["image", "inspect", image], { stdio: "pipe", timeout: 15_000 });
        return true;
    } catch {
        return false;
    }
}
