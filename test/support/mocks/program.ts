/**
 * Runs the real index.ts under Pulumi's mock runtime and records every resource registration with
 * its inputs and options (parent, dependsOn, deletedWith, ...), which the plain mocks API hides.
 */
import * as path from "node:path";

export const PROJECT = "mysql-replicas";
const ROOT = path.resolve(__dirname, "../../..");

/** One registration as the engine would receive it. */
export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly custom: boolean;
    /** Inputs as the engine sees them; secrets stay wrapped (see isSecret). */
    readonly inputs: Record<string, unknown>;
    readonly parent: string;
    readonly dependencies: string[];
    readonly deletedWith: string;
    readonly deleteBeforeReplace: boolean;
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly ignoreChanges: string[];
    readonly provider: string;
}

export interface ProgramRun {
    readonly registrations: Registration[];
    /** The program's exports, resolved; secret outputs come back wrapped as { secret: value }. */
    readonly outputs: Record<string, unknown>;
    readonly error?: Error;
}

export interface RunOptions {
    readonly stack?: string;
    /** Plain config, keyed without the project prefix. */
    readonly config?: Record<string, string>;
    /** Secret config, keyed without the project prefix. */
    readonly secrets?: Record<string, string>;
    readonly preview?: boolean;
    /** Outputs the mocked engine adds to a resource's state, by resource type (e.g. a Topology's leftOut). */
    readonly extraState?: Record<string, Record<string, unknown>>;
}


/** True when a value recorded from mocks is a secret wrapper; reveal gives the plain value inside. */
import { isSecretWrapper, reveal } from "../harness/mockRuntime/values";
import { useMemoisedClosureParser } from "./closureParser";

export { isSecretWrapper as isSecret, reveal };

let typescript: unknown;

/** Loads index.ts afresh (a new module registry, as each `pulumi up` is a new process) and records it. */
export async function runProgram(opts: RunOptions = {}): Promise<ProgramRun> {
    const stack = opts.stack ?? "dev";
    const registrations: Registration[] = [];
    let program: Record<string, unknown> = {};
    let error: Error | undefined;
    let pulumi!: typeof import("@pulumi/pulumi");
    let settings!: { waitForRPCs(): Promise<void> };
    const exitListeners = process.listeners("exit");

    jest.resetModules();
    jest.isolateModules(() => {
        // The SDK's closure serializer parses functions with TypeScript, which keeps no state of a run:
        // one copy serves every run, where each fresh registry would evaluate its 9 MB again.
        typescript ??= jest.requireActual("typescript");
        jest.doMock("typescript", () => typescript);
        useMemoisedClosureParser();
        pulumi = require("@pulumi/pulumi");
        settings = require("@pulumi/pulumi/runtime/settings");
        pulumi.runtime.setMocks({
            newResource: (args) => ({ id: mockId(args), state: { ...mockState(args), ...opts.extraState?.[args.type] } }),
            call: (args) => mockCall(args),
        }, PROJECT, stack, opts.preview ?? false);
        recordRegistrations(registrations);
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(opts.config ?? {})) all[`${PROJECT}:${k}`] = v;
        for (const [k, v] of Object.entries(opts.secrets ?? {})) all[`${PROJECT}:${k}`] = v;
        pulumi.runtime.setAllConfig(all, Object.keys(opts.secrets ?? {}).map((k) => `${PROJECT}:${k}`));
        try {
            program = require(path.join(ROOT, "index.ts"));
        } catch (err) {
            error = err as Error;
        }
    });

    const outputs: Record<string, unknown> = {};
    if (!error) {
        for (const [key, value] of Object.entries(program)) outputs[key] = await resolve(pulumi, value);
        // Every registration the program made has been answered (as the engine waits for them).
        await settings.waitForRPCs();
    }
    forgetExitListeners(exitListeners);
    return { registrations, outputs, error };
}

/**
 * Each fresh copy of the SDK adds a process "exit" listener (its promise-leak report) that outlives
 * the run; with a copy per run they pile up past Node's listener limit. A finished run's copy is
 * never used again, so its listeners go with it.
 */
export function forgetExitListeners(before: readonly Function[]): void {
    for (const listener of process.listeners("exit")) {
        if (!before.includes(listener)) process.removeListener("exit", listener as (...args: unknown[]) => void);
    }
}

/** Resolves an exported value; Outputs become plain values, secrets `{ secret: value }`. */
async function resolve(pulumi: typeof import("@pulumi/pulumi"), value: unknown): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const o = value as import("@pulumi/pulumi").Output<unknown>;
        const [plain, secret] = await Promise.all([
            new Promise((r) => o.apply((v) => { r(v); return v; })),
            pulumi.isSecret(o),
        ]);
        const inner = await resolve(pulumi, plain);
        return secret ? { secret: inner } : inner;
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => resolve(pulumi, v)));
    if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) out[k] = await resolve(pulumi, v);
        return out;
    }
    return value;
}

/**
 * Records every registration the mock monitor receives, options included. Call it inside the same
 * module registry (jest.isolateModules) as the setMocks it follows.
 */
export function recordRegistrations(out: Registration[]): void {
    const settings = require("@pulumi/pulumi/runtime/settings");
    const rpc = require("@pulumi/pulumi/runtime/rpc");
    const monitor = settings.getMonitor();
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, res: any) => void) => {
        original(req, (err: unknown, res: any) => {
            if (!err) {
                out.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: res.getUrn(),
                    custom: req.getCustom(),
                    inputs: rpc.deserializeProperties(req.getObject(), true),
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    deletedWith: req.getDeletedwith(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    ignoreChanges: req.getIgnorechangesList(),
                    provider: req.getProvider(),
                });
            }
            callback(err, res);
        });
    };
}

function mockId(args: { type: string; name: string; inputs: any }): string {
    if (args.type === "docker:index/container:Container") return `${reveal<string>(args.inputs.name)}-id`;
    return `${args.name}-id`;
}

function mockState(args: { type: string; name: string; inputs: any }): Record<string, unknown> {
    switch (args.type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...args.inputs, result: `mock-${args.name}-password` };
        case "docker:index/remoteImage:RemoteImage":
            return { ...args.inputs, imageId: `sha256:mock-${args.inputs.name}`, repoDigest: "" };
        default:
            return args.inputs;
    }
}

function mockCall(args: { token: string; inputs: any }): Record<string, unknown> {
    if (args.token === "docker:index/getRemoteImage:getRemoteImage") {
        return { id: `sha256:local-${args.inputs.name}`, name: args.inputs.name, repoDigest: "" };
    }
    throw new Error(`unexpected call ${args.token}`);
}

/** Registrations of one type. */
export function ofType(run: ProgramRun, type: string): Registration[] {
    return run.registrations.filter((r) => r.type === type);
}

export const TYPES = {
    container: "docker:index/container:Container",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    password: "random:index/randomPassword:RandomPassword",
    replication: "pulumi-nodejs:dynamic/replication:Replication",
    serverRole: "pulumi-nodejs:dynamic/replication:ServerRole",
    topology: "pulumi-nodejs:dynamic/replication:Topology",
    sqlDatabase: "pulumi-nodejs:dynamic/sql:Database",
    sqlUser: "pulumi-nodejs:dynamic/sql:User",
    sqlGrant: "pulumi-nodejs:dynamic/sql:Grant",
    dataTemplate: "pulumi-nodejs:dynamic/data:Template",
    serverReady: "pulumi-nodejs:dynamic/server:Ready",
} as const;
