/**
 * One `pulumi up/preview/refresh/destroy` of the mock-runtime path, in a process of its own (a fresh
 * Pulumi runtime and module registry, as the real engine starts a new program process each time).
 * Started by liveStack with `node -r ./register.js` (its TypeScript loader); receives a RunRequest over IPC
 * and answers with a RunResponse. Progress lines go to stderr.
 */
import Docker from "dockerode";
import { Engine, Step } from "./engine";
import { runHooked } from "./program";
import type { RunRequest, RunResponse } from "./protocol";
import { StateFile } from "./state";

let current: Engine | undefined;

async function run(req: RunRequest, log: (line: string) => void): Promise<Omit<RunResponse, "ok" | "ms">> {
    const docker = new Docker();
    const file = new StateFile(req.statePath, req.passphrase);
    const state = file.load(req.project, req.stack);
    const dryRun = req.op === "preview";
    const engine = new Engine({ state, dryRun, docker, log, save: (s) => file.save(s) });
    current = engine;
    let refreshSteps: Step[] = [];

    if (req.op === "refresh") {
        await engine.refresh();
        return { refreshSteps: [], steps: engine.steps };
    }
    if (req.op === "destroy") {
        await engine.destroy();
        return { refreshSteps: [], steps: engine.steps };
    }
    if (req.refresh) {
        refreshSteps = await engine.refresh();
        engine.steps.length = 0;
    }
    try {
        await runHooked({
            program: req.program, project: req.project, stack: req.stack, config: req.config,
            secretKeys: req.secretKeys, dryRun, engine, docker,
        });
    } catch (err) {
        // No deletes after a failed program (as the engine); a failed step, if any, is the cause.
        engine.abort(err as Error);
        throw engine.failed ?? err;
    }
    await engine.finish();
    const { outputs, secretOutputs } = engine.outputs();
    return { refreshSteps, steps: engine.steps, outputs: dryRun ? undefined : outputs, secretOutputs };
}

process.once("message", (req: RunRequest) => {
    const started = Date.now();
    const log = (line: string) => process.stderr.write(`${process.env.LIVE_TIMELINE ? `[t+${Math.round(performance.now())}] ` : ""}[live ${req.stack} ${req.op}] ${line}\n`);
    log(`start (${req.refresh && (req.op === "up" || req.op === "preview") ? "refresh first, " : ""}state ${req.statePath})`);
    run(req, log).then(
        (res) => {
            log(`ok in ${((Date.now() - started) / 1000).toFixed(1)}s`);
            process.send!({ ok: true, ...res, ms: Date.now() - started } satisfies RunResponse, () => process.exit(0));
        },
        (err: Error) => {
            log(`failed in ${((Date.now() - started) / 1000).toFixed(1)}s: ${err.message}`);
            process.send!({ ok: false, error: err.message, refreshSteps: [], steps: current?.steps ?? [], ms: Date.now() - started } satisfies RunResponse,
                () => process.exit(1));
        },
    );
});

// Ask for the request only once listening: nothing sent before is lost.
process.send!({ ready: true });
