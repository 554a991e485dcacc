/**
 * `liveStack({ stack, config })`: the project's real index.ts brought up, previewed, refreshed and
 * destroyed on the live Docker engine, from any test or script.
 *
 * Two engines, one API (`.engine` says which one a stack uses; the choice is printed once per process):
 * - "automation": a real `pulumi` CLI is on PATH (not the npm package's launcher in node_modules/.bin,
 *   which would download one), or the version package.json pins is cached in ~/.pulumi/versions
 *   (scripts/lib/pulumiCli.ts). The Automation API runs the real engine and providers with that CLI
 *   (LocalWorkspace on the repository, a file backend in a temp dir, a test passphrase).
 * - "mock-runtime": no CLI (as on the CI machines). Each operation runs in a child process
 *   (test/support/harness/mockRuntime/runner.ts) that loads index.ts under Pulumi's mock runtime with the resource
 *   monitor hooked: every registration is applied for real (Docker objects through the Engine API,
 *   random passwords, dynamic providers from their serialized `__provider`), with Pulumi's step
 *   rules and a per-stack state file whose secrets are encrypted. See mockRuntime/engine.ts.
 *
 * `up` refreshes first (as `pulumi up --refresh`): a container removed or stopped behind the lab's
 * back, or replication stopped by hand, is seen and repaired by the same up. LIVE_ENGINE forces an
 * engine; LIVE_VERBOSE=1 streams the engine's progress to stderr.
 */
import { ChildProcess, execFileSync, fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { APP_TEST_IMAGE, PROXY_TEST_IMAGE, TEST_IMAGE } from "../images";
import Docker from "dockerode";
import { dockerStatus, ignoreMissing, imageExists } from "../docker";
import type { Step } from "./mockRuntime/engine";
import type { Operation, RunRequest, RunResponse } from "./mockRuntime/protocol";
import { StateFile } from "./mockRuntime/state";
import { SECRET_SIG, SIG_KEY } from "./mockRuntime/values";
import { findPulumiCli } from "../../../scripts/lib/pulumiCli";

export const PROJECT = "mysql-replicas";
const ROOT = path.resolve(__dirname, "../../..");
const RUNNER = path.join(__dirname, "mockRuntime", "runner.ts");
/** The runner's TypeScript loader: transpiles as ts-node's transpile-only mode, cached across runs. */
const REGISTER = path.join(__dirname, "mockRuntime", "register.js");
/** The passphrase of test stacks' secrets (state file, or the file backend's secrets provider). */
export const TEST_PASSPHRASE = process.env.LIVE_PASSPHRASE ?? "mysql-replicas-live-test-passphrase";
const DEFAULT_STATE_DIR = path.join(os.tmpdir(), "mysql-replicas-live");

export type EngineKind = "automation" | "mock-runtime";
export type ConfigValue = string | number | boolean | { value: string | number | boolean; secret?: boolean };
/** Config keys without the project prefix (a key with ":" is taken as a full key); null removes a key. */
export type StackConfig = Record<string, ConfigValue | null | undefined>;
export type StackOutputs = Record<string, any>;
export type PlannedStep = Pick<Step, "op" | "urn" | "type" | "name" | "keys" | "detail">;

/** A resource of the stack's state; secret values show as "[secret]". */
export interface ResourceView {
    readonly urn: string;
    readonly type: string;
    readonly id?: string;
    readonly outputs: Record<string, any>;
}

export interface LiveStackOptions {
    /** Stack name; Docker objects carry it in the label mysql-replicas.stack. */
    readonly stack: string;
    readonly config?: StackConfig;
    /** Defaults to LIVE_ENGINE, else "automation" when there is a pulumi CLI (see pulumiCli()), else "mock-runtime". */
    readonly engine?: EngineKind;
    readonly passphrase?: string;
    /** Where state files (mock-runtime) or the file backend (automation) live. Defaults to $TMPDIR/mysql-replicas-live. */
    readonly stateDir?: string;
    /** Per-operation limit. Defaults to 15 minutes. */
    readonly timeoutMs?: number;
    /** Receives the engine's progress lines (defaults: stderr when LIVE_VERBOSE=1, else kept for errors). */
    readonly log?: (line: string) => void;
    /** Refresh before up and preview (`pulumi up --refresh`). Defaults to true. */
    readonly refresh?: boolean;
    /**
     * Another program than the project's index.ts (absolute path), for the harness's own tests. The
     * Automation API runs it as an inline program of the project, in this process.
     */
    readonly program?: string;
}

export interface LiveStack {
    readonly name: string;
    readonly engine: EngineKind;
    /** mock-runtime: the state file; automation: the file backend's directory. */
    readonly statePath: string;
    /** Steps of the last operation (for up/preview, without the refresh before it). */
    readonly lastSteps: readonly PlannedStep[];
    /** Steps of the refresh that ran before the last up/preview. */
    readonly lastRefreshSteps: readonly PlannedStep[];
    /** The stack's config as it stands (what the next operation uses). */
    config(): StackConfig;
    /** Sets (merges) config keys; null removes one. */
    setConfig(config: StackConfig): Promise<void>;
    /**
     * `pulumi up --refresh`: converges the lab; resolves to the stack outputs, secrets in plain text.
     * `{ refresh: false }` is `pulumi up --refresh=false` for this one up.
     */
    up(config?: StackConfig, op?: { refresh?: boolean }): Promise<StackOutputs>;
    /** `pulumi preview --refresh`: the planned steps, touching nothing. */
    preview(config?: StackConfig): Promise<PlannedStep[]>;
    /** `pulumi refresh`: reads every resource back into the state. */
    refresh(): Promise<PlannedStep[]>;
    /** `pulumi destroy`: removes everything, dependents first. A second destroy is a no-op. */
    destroy(): Promise<PlannedStep[]>;
    /** The resources in the stack's state. */
    resources(): Promise<ResourceView[]>;
    /** Everything stored for the stack, as text (the state file, or the backend's files): for secret checks. */
    storedText(): Promise<string>;
    /** Forgets the stack (`pulumi stack rm`): its state and config. Destroy first. */
    remove(): Promise<void>;
}

/** The CLI the automation engine runs (its version and where it was found), or why there is none. */
type CliFound = { readonly bin: string; readonly version: string; readonly where: string } | { readonly reason: string };
let cli: CliFound | undefined;
let cliLinkRoot: string | undefined;

function findCli(): CliFound {
    if (cli) return cli;
    // Never the npm launcher (node_modules/.bin/pulumi, first on PATH under npm scripts): it would
    // download a CLI, which these machines cannot. Only a real binary, or the pinned one already cached.
    const found = findPulumiCli();
    if (found.source === "none") return (cli = { reason: found.reason });
    const where = found.source === "path" ? `${found.bin}, on PATH` : `${found.bin}, the version package.json pins, cached`;
    try {
        const version = execFileSync(found.bin, ["version"], { stdio: "pipe", timeout: 10_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } })
            .toString().trim();
        return (cli = { bin: found.bin, version, where });
    } catch (err) {
        const e = err as { stderr?: Buffer; message: string };
        return (cli = { reason: `${where}, but \`pulumi version\` failed: ${(e.stderr?.toString().trim() || e.message).split("\n")[0]}` });
    }
}

/**
 * The version of the pulumi CLI the automation engine runs, if there is one: a real `pulumi` on PATH,
 * else the version package.json pins cached at $PULUMI_HOME/versions/<version>/bin/pulumi (default
 * ~/.pulumi). Decided once, from files and that CLI's `pulumi version` (bounded to 10 s).
 */
export function pulumiCli(): string | undefined {
    const found = findCli();
    return "bin" in found ? found.version : undefined;
}

/** The Automation API's handle on that CLI, by its path: its default, `pulumi` from PATH, could be the npm launcher. */
export async function pulumiCommand(): Promise<import("@pulumi/pulumi/automation").PulumiCommand> {
    const found = findCli();
    if (!("bin" in found)) throw new Error(`the automation engine needs a pulumi CLI: ${found.reason}`);
    const { PulumiCommand } = await import("@pulumi/pulumi/automation");
    // PulumiCommand runs <root>/bin/pulumi (and puts that folder first on the CLI's PATH, for the
    // plugins installed beside it): a CLI in a folder not named bin is reached through a link.
    const dir = path.dirname(found.bin);
    if (path.basename(dir) === "bin") return PulumiCommand.get({ root: path.dirname(dir) });
    cliLinkRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), "mysql-replicas-pulumi-"));
    if (!fs.existsSync(path.join(cliLinkRoot, "bin"))) fs.symlinkSync(dir, path.join(cliLinkRoot, "bin"));
    return PulumiCommand.get({ root: cliLinkRoot });
}

/** The engine stacks use by default here. */
export function defaultEngine(): EngineKind {
    const forced = process.env.LIVE_ENGINE;
    if (forced === "automation" || forced === "mock-runtime") return forced;
    if (forced) throw new Error(`LIVE_ENGINE=${forced}: expected automation or mock-runtime`);
    return pulumiCli() ? "automation" : "mock-runtime";
}

function announce(engine: EngineKind): void {
    // Once per process: jest gives each test file fresh globals and env, so the mark is a file naming
    // this process (pid and start time).
    const me = `${process.pid} ${Math.round(Date.now() / 1000 - process.uptime())} ${engine}`;
    const mark = path.join(DEFAULT_STATE_DIR, ".announced");
    try {
        if (fs.readFileSync(mark, "utf8") === me) return;
    } catch {
        // first announcement on this machine
    }
    fs.mkdirSync(DEFAULT_STATE_DIR, { recursive: true });
    fs.writeFileSync(mark, me);
    const docker = dockerStatus();
    const why = !docker.ok
        ? `nothing can be applied: ${docker.reason}`
        : engine === "automation"
            ? `Automation API with the pulumi CLI ${cliWhy()}`
            : `${"bin" in findCli() ? `asked for, though there is the pulumi CLI ${cliWhy()}` : cliWhy()}: ` +
                "index.ts under Pulumi's mock runtime, resources applied for real on Docker";
    process.stderr.write(`liveStack engine: ${engine} (${why})\n`);
}

/** The CLI's version and where it is, or why there is none: for the engine line. */
function cliWhy(): string {
    const found = findCli();
    return "bin" in found ? `${found.version} (${found.where})` : found.reason;
}

export function liveStack(options: LiveStackOptions): LiveStack {
    if (!/^[A-Za-z0-9_.-]+$/.test(options.stack)) throw new Error(`stack name ${JSON.stringify(options.stack)}: letters, digits, _ . - only`);
    const engine = options.engine ?? defaultEngine();
    announce(engine);
    return engine === "automation" ? new AutomationStack(options) : new MockRuntimeStack(options);
}

// ---------------------------------------------------------------------------- shared

function fullKey(key: string): string {
    return key.includes(":") ? key : `${PROJECT}:${key}`;
}

function normaliseConfig(config: StackConfig): Record<string, { value: string; secret: boolean } | null> {
    const out: Record<string, { value: string; secret: boolean } | null> = {};
    for (const [key, v] of Object.entries(config)) {
        if (v === undefined) continue;
        if (v === null) out[key] = null;
        else if (typeof v === "object") out[key] = { value: String(v.value), secret: v.secret === true };
        else out[key] = { value: String(v), secret: false };
    }
    return out;
}

/** Secret wrappers and encrypted values shown as "[secret]". */
function mask(v: unknown): any {
    if (v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG) return "[secret]";
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
}

abstract class BaseStack implements LiveStack {
    readonly name: string;
    abstract readonly engine: EngineKind;
    abstract readonly statePath: string;
    lastSteps: PlannedStep[] = [];
    lastRefreshSteps: PlannedStep[] = [];
    protected cfg: Record<string, { value: string; secret: boolean }> = {};
    protected readonly passphrase: string;
    protected readonly stateDir: string;
    private queue: Promise<unknown> = Promise.resolve();

    constructor(protected readonly options: LiveStackOptions) {
        this.name = options.stack;
        this.passphrase = options.passphrase ?? TEST_PASSPHRASE;
        this.stateDir = options.stateDir ?? DEFAULT_STATE_DIR;
        this.mergeConfig(options.config ?? {});
    }

    config(): StackConfig {
        return Object.fromEntries(Object.entries(this.cfg).map(([k, v]) => [k, v.secret ? { value: v.value, secret: true } : v.value]));
    }

    protected mergeConfig(config: StackConfig): void {
        for (const [key, v] of Object.entries(normaliseConfig(config))) {
            if (v === null) delete this.cfg[key];
            else this.cfg[key] = v;
        }
    }

    /** One operation at a time per stack, as the engine's lock. */
    protected serial<T>(fn: () => Promise<T>): Promise<T> {
        const next = this.queue.then(fn, fn);
        this.queue = next.catch(() => undefined);
        return next;
    }

    protected log(line: string): void {
        if (this.options.log) this.options.log(line);
        // The engine's notice of a resource taking minutes (mockRuntime/engine.ts, SLOW_MARK) always shows.
        else if (process.env.LIVE_VERBOSE === "1" || line.includes("still running after")) process.stderr.write(`${line}\n`);
    }

    abstract setConfig(config: StackConfig): Promise<void>;
    abstract up(config?: StackConfig, op?: { refresh?: boolean }): Promise<StackOutputs>;
    abstract preview(config?: StackConfig): Promise<PlannedStep[]>;
    abstract refresh(): Promise<PlannedStep[]>;
    abstract destroy(): Promise<PlannedStep[]>;
    abstract resources(): Promise<ResourceView[]>;
    abstract remove(): Promise<void>;

    async storedText(): Promise<string> {
        const texts: string[] = [];
        const walk = (p: string) => {
            if (!fs.existsSync(p)) return;
            if (fs.statSync(p).isDirectory()) fs.readdirSync(p).forEach((f) => walk(path.join(p, f)));
            else texts.push(fs.readFileSync(p, "utf8"));
        };
        walk(this.statePath);
        return texts.join("\n");
    }
}

// ---------------------------------------------------------------------------- mock runtime

class MockRuntimeStack extends BaseStack {
    readonly engine = "mock-runtime" as const;
    readonly statePath: string;

    constructor(options: LiveStackOptions) {
        super(options);
        this.statePath = path.join(this.stateDir, `${PROJECT}-${this.name}.state.json`);
    }

    async setConfig(config: StackConfig): Promise<void> {
        this.mergeConfig(config);
    }

    up(config?: StackConfig, op?: { refresh?: boolean }): Promise<StackOutputs> {
        return this.serial(async () => {
            this.mergeConfig(config ?? {});
            const res = await this.run("up", op?.refresh);
            return res.outputs ?? {};
        });
    }

    preview(config?: StackConfig): Promise<PlannedStep[]> {
        return this.serial(async () => {
            this.mergeConfig(config ?? {});
            return (await this.run("preview")).steps;
        });
    }

    refresh(): Promise<PlannedStep[]> {
        return this.serial(async () => (await this.run("refresh")).steps);
    }

    destroy(): Promise<PlannedStep[]> {
        return this.serial(async () => (await this.run("destroy")).steps);
    }

    async resources(): Promise<ResourceView[]> {
        const file = new StateFile(this.statePath, this.passphrase);
        if (!file.exists()) return [];
        return file.load(PROJECT, this.name).resources.map((r) => ({
            urn: r.urn,
            type: r.type,
            id: r.id,
            outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, r.secretOutputs.includes(k) ? "[secret]" : v])),
        }));
    }

    async remove(): Promise<void> {
        new StateFile(this.statePath, this.passphrase).remove();
    }

    private run(op: Operation, refresh = this.options.refresh ?? true): Promise<RunResponse> {
        const request: RunRequest = {
            op,
            project: PROJECT,
            stack: this.name,
            program: this.options.program ?? path.join(ROOT, "index.ts"),
            config: Object.fromEntries(Object.entries(this.cfg).map(([k, v]) => [fullKey(k), v.value])),
            secretKeys: Object.entries(this.cfg).filter(([, v]) => v.secret).map(([k]) => fullKey(k)),
            statePath: this.statePath,
            passphrase: this.passphrase,
            refresh,
        };
        const lines: string[] = [];
        return new Promise<RunResponse>((resolve, reject) => {
            let child: ChildProcess;
            try {
                child = fork(RUNNER, [], {
                    cwd: ROOT,
                    // LIVE_CPU_PROF=dir: one V8 CPU profile per runner, for finding where an up spends its CPU.
                    execArgv: ["-r", REGISTER, ...(process.env.LIVE_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.LIVE_CPU_PROF}`] : [])],
                    stdio: ["ignore", "pipe", "pipe", "ipc"],
                });
            } catch (err) {
                reject(err);
                return;
            }
            let response: RunResponse | undefined;
            const reader = () => {
                let partial = "";
                return (chunk: Buffer) => {
                    const parts = (partial + chunk.toString()).split("\n");
                    partial = parts.pop() ?? "";
                    for (const line of parts.filter(Boolean)) {
                        lines.push(line);
                        this.log(line);
                    }
                };
            };
            child.stdout!.on("data", reader());
            child.stderr!.on("data", reader());
            const limit = this.options.timeoutMs ?? 15 * 60_000;
            const timer = setTimeout(() => {
                lines.push(`[liveStack] ${op} exceeded ${limit / 1000} s: killing runner ${child.pid}`);
                child.kill("SIGKILL");
            }, limit);
            child.on("message", (m) => {
                if ((m as { ready?: boolean }).ready) child.send(request);
                else response = m as RunResponse;
            });
            child.on("error", (err) => lines.push(`[liveStack] runner error: ${err.message}`));
            child.on("exit", (code, signal) => {
                clearTimeout(timer);
                this.lastSteps = response?.steps ?? [];
                this.lastRefreshSteps = response?.refreshSteps ?? [];
                if (response?.ok) {
                    resolve(response);
                    return;
                }
                const tail = lines.slice(-25).join("\n");
                const error = new Error(`${op} of stack ${this.name} failed: ${response?.error ?? `runner exited with ${signal ?? code}`}` +
                    `\n--- last engine lines ---\n${tail}`);
                (error as Error & { steps?: Step[] }).steps = response?.steps;
                reject(error);
            });
        });
    }
}

// ---------------------------------------------------------------------------- automation API

type AutoStack = import("@pulumi/pulumi/automation").Stack;
type EngineEvent = import("@pulumi/pulumi/automation").EngineEvent;

/** Maps the engine's step ops to the harness's five. */
function stepOp(op: string): PlannedStep["op"] | undefined {
    switch (op) {
        case "same": case "create": case "update": case "delete": return op;
        case "replace": case "create-replacement": case "delete-replaced": return "replace";
        case "discard": return "delete";
        default: return undefined;
    }
}

class AutomationStack extends BaseStack {
    readonly engine = "automation" as const;
    readonly statePath: string;
    private stack?: Promise<AutoStack>;
    private pushed = new Map<string, string>();

    constructor(options: LiveStackOptions) {
        super(options);
        this.statePath = path.join(this.stateDir, "backend");
    }

    private open(): Promise<AutoStack> {
        this.stack ??= (async () => {
            const auto = await import("@pulumi/pulumi/automation");
            fs.mkdirSync(this.statePath, { recursive: true });
            const envVars = {
                PULUMI_BACKEND_URL: `file://${this.statePath}`,
                PULUMI_CONFIG_PASSPHRASE: this.passphrase,
                PULUMI_SKIP_UPDATE_CHECK: "true",
            };
            const program = this.options.program;
            const cli = await pulumiCommand();
            if (!program) return auto.LocalWorkspace.createOrSelectStack({ stackName: this.name, workDir: ROOT }, { envVars, pulumiCommand: cli });
            // An inline program runs in this process: load the file afresh for every operation.
            return auto.LocalWorkspace.createOrSelectStack({
                stackName: this.name, projectName: PROJECT,
                program: async () => {
                    delete require.cache[require.resolve(program)];
                    return require(program);
                },
            }, { envVars, pulumiCommand: cli, projectSettings: { name: PROJECT, runtime: "nodejs" } });
        })();
        return this.stack;
    }

    /** Writes changed config into the stack (Pulumi.<stack>.yaml, secrets encrypted), removes dropped keys. */
    private async pushConfig(): Promise<AutoStack> {
        const stack = await this.open();
        const wanted = new Map(Object.entries(this.cfg).map(([k, v]) => [fullKey(k), JSON.stringify(v)]));
        const set: Record<string, { value: string; secret: boolean }> = {};
        for (const [key, v] of Object.entries(this.cfg)) if (this.pushed.get(fullKey(key)) !== wanted.get(fullKey(key))) set[fullKey(key)] = v;
        if (Object.keys(set).length > 0) await stack.setAllConfig(set);
        for (const key of this.pushed.keys()) if (!wanted.has(key)) await stack.removeConfig(key);
        this.pushed = wanted;
        return stack;
    }

    async setConfig(config: StackConfig): Promise<void> {
        await this.serial(async () => {
            this.mergeConfig(config);
            await this.pushConfig();
        });
    }

    /** Collects steps from engine events; refresh steps (of `--refresh` or `pulumi refresh`) apart. */
    private collector(kind: "pre" | "outputs") {
        const steps: PlannedStep[] = [];
        const refreshSteps: PlannedStep[] = [];
        const seen = new Set<string>();
        const onEvent = (e: EngineEvent) => {
            const meta = kind === "pre" ? e.resourcePreEvent?.metadata : e.resOutputsEvent?.metadata;
            if (!meta) return;
            const name = meta.urn.split("::").slice(3).join("::");
            if (meta.op === "refresh") {
                const op = meta.new === undefined ? "delete" : (meta.diffs?.length ?? 0) > 0 ? "update" : "same";
                refreshSteps.push({ op, urn: meta.urn, type: meta.type, name, keys: meta.diffs, detail: op === "delete" ? "gone" : undefined });
                return;
            }
            const op = stepOp(meta.op);
            if (!op || seen.has(meta.urn)) return;
            seen.add(meta.urn);
            steps.push({ op, urn: meta.urn, type: meta.type, name, keys: meta.diffs });
        };
        return { steps, refreshSteps, onEvent, onOutput: (out: string) => out.split("\n").filter(Boolean).forEach((l) => this.log(l)) };
    }

    up(config?: StackConfig, op?: { refresh?: boolean }): Promise<StackOutputs> {
        return this.serial(async () => {
            this.mergeConfig(config ?? {});
            const stack = await this.pushConfig();
            const c = this.collector("outputs");
            const res = await stack.up({ refresh: op?.refresh ?? this.options.refresh ?? true, onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
            this.lastSteps = c.steps;
            this.lastRefreshSteps = c.refreshSteps;
            return Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value]));
        });
    }

    preview(config?: StackConfig): Promise<PlannedStep[]> {
        return this.serial(async () => {
            this.mergeConfig(config ?? {});
            const stack = await this.pushConfig();
            const c = this.collector("pre");
            await stack.preview({ refresh: this.options.refresh ?? true, onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
            this.lastSteps = c.steps;
            this.lastRefreshSteps = c.refreshSteps;
            return c.steps;
        });
    }

    refresh(): Promise<PlannedStep[]> {
        return this.serial(async () => {
            const stack = await this.pushConfig();
            const c = this.collector("outputs");
            await stack.refresh({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
            this.lastSteps = c.refreshSteps;
            return c.refreshSteps;
        });
    }

    destroy(): Promise<PlannedStep[]> {
        return this.serial(async () => {
            const stack = await this.pushConfig();
            const c = this.collector("outputs");
            await stack.destroy({ onEvent: c.onEvent, onOutput: c.onOutput, color: "never" });
            this.lastSteps = c.steps;
            return c.steps;
        });
    }

    async resources(): Promise<ResourceView[]> {
        const stack = await this.open();
        const exported = await stack.exportStack();
        const resources = (exported.deployment?.resources ?? []) as Array<{ urn: string; type: string; id?: string; outputs?: Record<string, unknown> }>;
        return resources.map((r) => ({ urn: r.urn, type: r.type, id: r.id, outputs: mask(r.outputs ?? {}) }));
    }

    async remove(): Promise<void> {
        const stack = await this.open();
        await stack.workspace.removeStack(this.name, { force: true });
        this.stack = undefined;
        this.pushed.clear();
    }
}

// ---------------------------------------------------------------------------- Docker objects of a stack

/** Docker objects labelled with the stack (and the project). */
export async function labelledObjects(stack: string, docker = new Docker()): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    const filters = JSON.stringify({ label: [`mysql-replicas.project=${PROJECT}`, `mysql-replicas.stack=${stack}`] });
    const [containers, volumes, networks] = await Promise.all([
        docker.listContainers({ all: true, filters }),
        docker.listVolumes({ filters }),
        docker.listNetworks({ filters }),
    ]);
    return {
        containers: containers.map((c) => c.Names[0].replace(/^\//, "")),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name),
        networks: networks.map((n) => n.Name),
    };
}

/** Force-removes every Docker object labelled with the stack: the last resort of a test's cleanup. */
export async function removeLabelled(stack: string, docker = new Docker()): Promise<void> {
    const { containers, volumes, networks } = await labelledObjects(stack, docker);
    await Promise.all(containers.map((c) => docker.getContainer(c).remove({ force: true, v: true }).catch(ignoreMissing)));
    await Promise.all(networks.map((n) => docker.getNetwork(n).remove().catch(ignoreMissing)));
    await Promise.all(volumes.map((v) => docker.getVolume(v).remove().catch(ignoreMissing)));
}

/** Removes whatever a test stack left (objects labelled with it, its state): a crashed run's, or this run's at the end. */
export async function forgetStack(stack: LiveStack): Promise<void> {
    await removeLabelled(stack.name);
    await stack.remove();
}

/** Ends a test stack: destroy it, and whatever a failed destroy left is removed anyway. */
export async function tearDownStack(stack: LiveStack): Promise<void> {
    try {
        await stack.destroy();
    } catch (err) {
        process.stderr.write(`live cleanup: destroy failed (${(err as Error).message.split("\n")[0]}); removing labelled objects\n`);
    } finally {
        await forgetStack(stack);
    }
}

/**
 * The hooks of a live suite on one stack: before all, the test image must be on the Docker host, what
 * an earlier run left is removed, the stack comes up (with `config`) and `ready` gets its outputs;
 * after all, the stack is torn down.
 */
export function useLiveStack(stack: LiveStack, ready: (outputs: StackOutputs) => Promise<void>, config?: StackConfig): void {
    beforeAll(async () => {
        if (!imageExists(TEST_IMAGE)) throw new Error(`${TEST_IMAGE} is not on the Docker host: run \`bash scripts/testbed.sh\``);
        await forgetStack(stack);
        await ready(await stack.up(config));
    });
    afterAll(async () => {
        await tearDownStack(stack);
    });
}

// ---------------------------------------------------------------------------- the test lab's config

/**
 * Stack config for a lab on the test images (test/support/images.ts, nothing pulled) with a random root
 * password, which the tests use to reach the servers as root.
 */
export function testLabConfig(o: { basePort: number; readEndpointPort: number; readEndpoint?: boolean; demoAppPort?: number }):
    { config: Record<string, string | number | boolean | { value: string; secret: boolean }>; rootPassword: string } {
    const rootPassword = `Root${randomBytes(12).toString("hex")}`;
    return {
        rootPassword,
        config: {
            image: TEST_IMAGE, flavor: "auto", pullImage: false,
            readEndpoint: o.readEndpoint ?? true, proxyImage: PROXY_TEST_IMAGE,
            basePort: o.basePort, readEndpointPort: o.readEndpointPort,
            // The demo app only where a suite asks for it (a port): the others test the servers.
            demoApp: o.demoAppPort !== undefined, demoAppImage: APP_TEST_IMAGE, ...(o.demoAppPort !== undefined ? { demoAppPort: o.demoAppPort } : {}),
            rootPassword: { value: rootPassword, secret: true },
        },
    };
}

// ---------------------------------------------------------------------------- lanes

/**
 * This process's lane (LAB_TEST_LANE, default 0): test/lanes.js runs the live suite of several images
 * side by side, each in its own lane, so each lane needs its own stacks (and so Docker objects) and
 * host ports. Lane 0 keeps the names and ports the files declare.
 */
export const LANE = laneNumber(process.env.LAB_TEST_LANE);
/** Ports a lane moves by: the live files use 24300-25299, so lanes 1 and 2 use 26300-27299 and 28300-29299, all below the local ports Linux gives outgoing connections (32768 up). */
const LANE_PORT_STEP = 2000;

function laneNumber(value: string | undefined): number {
    const n = Number(value ?? "0");
    if (!Number.isInteger(n) || n < 0 || n > 2) throw new Error(`LAB_TEST_LANE=${value} is not allowed; expected 0, 1 or 2`);
    return n;
}

/** A live file's stack name in this lane. */
export function laneStack(name: string): string {
    return LANE === 0 ? name : `${name}-lane${LANE}`;
}

/** A live file's host port in this lane. */
export function lanePort(port: number): number {
    return port + LANE * LANE_PORT_STEP;
}
