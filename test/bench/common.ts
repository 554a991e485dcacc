/**
 * What the benchmarks share: logging, one server's cold start (the unit every convergence figure is
 * a ratio of), and the slowest steps of an operation.
 */
import * as crypto from "node:crypto";
import Docker from "dockerode";
import { createServerContainer } from "../support/docker";
import type { Step } from "../support/harness/mockRuntime/engine";
import { LiveStack, PROJECT, StackConfig, removeLabelled } from "../support/harness/liveStack";
import { openConnection } from "../support/mysql";

export const docker = new Docker();

export function log(line: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

export function seconds(ms: number): string {
    return (ms / 1000).toFixed(1);
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}

export async function imagePresent(image: string): Promise<boolean> {
    return docker.getImage(image).inspect().then(() => true, () => false);
}

/**
 * One server as the lab starts it (same image, options, health check), on an empty volume: time until
 * Docker reports it healthy and until it first takes a TCP login. Labelled for `stack`, removed after.
 */
export async function coldStart(image: string, stack: string, hostPort: number): Promise<{ healthyMs: number; tcpMs: number }> {
    const password = `Bench${crypto.randomBytes(8).toString("hex")}`;
    const name = `${PROJECT}-${stack}-server`;
    const labels = { "mysql-replicas.project": PROJECT, "mysql-replicas.stack": stack };
    const container = docker.getContainer(await createServerContainer({
        name, image, serverId: 1, rootPassword: password, hostPort, labels,
    }));
    const started = Date.now();
    await container.start();
    let tcpMs: number | undefined;
    let healthyMs: number | undefined;
    const deadline = started + 300_000;
    while (tcpMs === undefined || healthyMs === undefined) {
        if (Date.now() > deadline) throw new Error("the cold-start server did not come up within 300 s");
        if (tcpMs === undefined) {
            const conn = await openConnection({ host: "127.0.0.1", port: hostPort, user: "root", password }, 0).catch(() => undefined);
            if (conn) {
                tcpMs = Date.now() - started;
                await conn.end();
            }
        }
        if (healthyMs === undefined && (await container.inspect()).State.Health?.Status === "healthy") healthyMs = Date.now() - started;
        await new Promise((r) => setTimeout(r, 50));
    }
    await container.remove({ force: true, v: true });
    await docker.getVolume(`${name}-data`).remove();
    return { healthyMs, tcpMs };
}

/** The slowest steps of the last operation (mock-runtime records their durations). */
export function slowest(stack: LiveStack, n = 3): string {
    const steps = (stack.lastSteps as Step[]).filter((s) => s.ms !== undefined).sort((a, b) => b.ms! - a.ms!).slice(0, n);
    return `slowest steps: ${steps.map((s) => `${s.name} ${s.op} ${seconds(s.ms!)}s`).join(", ")}`;
}

/** An up, timed. */
export async function timedUp(stack: LiveStack, config: StackConfig): Promise<{ ms: number; outputs: Record<string, any> }> {
    const started = Date.now();
    const outputs = await stack.up(config);
    return { ms: Date.now() - started, outputs };
}

/**
 * Runs a benchmark, then destroys and removes every stack it made and whatever is labelled for them or
 * for `alsoLabelled` (its cold-start servers), also when it failed (exit code 1).
 */
export function runBench(main: () => Promise<void>, stacks: () => readonly LiveStack[], alsoLabelled: readonly string[]): void {
    const cleanup = async () => {
        for (const stack of stacks()) {
            await stack.destroy().catch((err) => log(`destroy ${stack.name}: ${(err as Error).message.split("\n")[0]}`));
            await removeLabelled(stack.name).catch(() => undefined);
            await stack.remove().catch(() => undefined);
        }
        for (const label of alsoLabelled) await removeLabelled(label).catch(() => undefined);
    };
    main().then(
        async () => { await cleanup(); },
        async (err) => {
            log(`failed: ${(err as Error).message}`);
            await cleanup();
            process.exitCode = 1;
        },
    );
}
