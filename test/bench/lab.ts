/**
 * Runs the bench against a throwaway 1+N lab started with dockerode (test/support/labs/dockerLab.ts),
 * then removes the lab. For figures on a machine without Pulumi; arguments go to the bench.
 *
 *   npx ts-node --transpile-only test/bench/lab.ts [--replicas N] [--base-port P] [--tools] -- --duration 30
 *
 * --tools also runs `status` before the bench and `verify` after it, against the same lab.
 *
 * Environment: LAB_TEST_IMAGE and LAB_PROXY_IMAGE (see test/support/images.ts). Ports: the source
 * on --base-port (default 23420), then the replicas, then the read endpoint.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";
import { DockerLab } from "../support/labs/dockerLab";

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    const split = argv.indexOf("--");
    const own = split === -1 ? argv : argv.slice(0, split);
    const benchArgs = split === -1 ? [] : argv.slice(split + 1);
    const opt = (name: string, fallback: number) => {
        const i = own.indexOf(`--${name}`);
        return i === -1 ? fallback : Number(own[i + 1]);
    };
    const replicas = opt("replicas", 2);
    const basePort = opt("base-port", 23420);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-lab-"));
    const outputsFile = path.join(dir, "outputs.json");
    const log = (m: string) => process.stderr.write(`bench-lab: ${m}\n`);
    const started = Date.now();
    const lab = await DockerLab.start({
        suite: "bench", basePort, replicas,
        image: TEST_IMAGE,
        proxyImage: PROXY_TEST_IMAGE,
        log,
    });
    let stopping = false;
    const onSignal = () => {
        if (stopping) return;
        stopping = true;
    };
    process.on("SIGINT", onSignal);
    try {
        log(`lab up in ${((Date.now() - started) / 1000).toFixed(0)} s; outputs in ${outputsFile}`);
        lab.writeOutputs(outputsFile);
        const tool = (name: string, args: string[]) => new Promise<number>((resolve) => {
            const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only",
                path.join(__dirname, "..", "..", "scripts", `${name}.ts`), "--outputs", outputsFile, ...args], { stdio: "inherit" });
            child.on("exit", (code) => resolve(code ?? 1));
        });
        const tools = own.includes("--tools");
        if (tools) {
            log("npm run status");
            await tool("status", []);
        }
        log("npm run bench");
        const code = await tool("bench", benchArgs);
        if (tools) {
            log("npm run verify");
            await tool("verify", []);
        }
        return code;
    } finally {
        log("removing the lab");
        await lab.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
        process.off("SIGINT", onSignal);
    }
}

main().then((code) => {
    process.exitCode = code;
}, (err) => {
    process.stderr.write(`bench-lab: ${(err as Error).message}\n`);
    process.exitCode = 1;
});
