/**
 * Whether tests that need a Docker engine can run. Under CI=true a missing engine is a failure,
 * never a skip; elsewhere those tests are skipped with a loud reason.
 */
import { execFileSync } from "node:child_process";

let cached: { ok: boolean; reason: string } | undefined;

export function dockerStatus(): { ok: boolean; reason: string } {
    if (!cached) {
        try {
            execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
            cached = imageExists(TEST_IMAGE)
                ? { ok: true, reason: "" }
                : { ok: false, reason: `the test image ${TEST_IMAGE} is not on the Docker host; run \`bash scripts/testbed.sh\` ` +
                    "(Debian/Ubuntu) or pull an official one and set LAB_TEST_IMAGE, e.g. LAB_TEST_IMAGE=mariadb:10.11" };
        } catch (err) {
            cached = { ok: false, reason: `no Docker engine answers \`docker info\` (${String((err as Error).message).split("\n")[0]}); run \`bash scripts/testbed.sh\`` };
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
        // eslint-disable-next-line no-console
        console.warn(`\n*** SKIPPED "${name}": ${status.reason} ***\n`);
        describe.skip(name, body);
    }
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

/** The MariaDB image the test bed builds; tests run the lab on it. */
export const TEST_IMAGE = process.env.LAB_TEST_IMAGE ?? "mysql-replicas/mariadb:10.11";
