/**
 * The lab's dynamic providers exactly as the engine runs them: each resource class is constructed under
 * Pulumi's mocks, the `__provider` text it serialized into its inputs is captured and loaded the way
 * the dynamic-provider host does. A small driver then calls the provider's methods in the engine's
 * order, with values round-tripped through protobuf Structs as they are on the wire.
 */
import type { LoadedProvider } from "./serializedProvider";
import { loadSerializedProvider } from "./serializedProvider";
import { Registration, forgetExitListeners, recordRegistrations } from "./program";
import { isSecretWrapper } from "../harness/mockRuntime/values";

export type ProviderKind = "replication" | "serverRole" | "database" | "user" | "grant";

/** What one resource class registered with the engine. */
export interface ClassRegistration {
    readonly type: string;
    /** The serialized provider, as the engine stores it in the resource's `__provider` input. */
    readonly providerText: string;
    /** Whether `__provider` was registered as a secret. */
    readonly providerIsSecret: boolean;
    /** Every input name the resource registered (output-only properties left undefined are not sent). */
    readonly inputKeys: string[];
    /** Input names the SDK sent as secrets. */
    readonly secretInputs: string[];
    /** Output names the class asks the engine to keep secret. */
    readonly additionalSecretOutputs: string[];
}

export interface SerializedProviders {
    readonly replication: LoadedProvider;
    readonly serverRole: LoadedProvider;
    readonly database: LoadedProvider;
    readonly user: LoadedProvider;
    readonly grant: LoadedProvider;
    readonly registrations: Record<ProviderKind, ClassRegistration>;
}

const PROVIDER_KEY = "__provider";


let cached: Promise<SerializedProviders> | undefined;

/**
 * Constructs one Replication, ServerRole, SqlDatabase, SqlUser and SqlGrant with dummy inputs under mocks
 * (in a fresh module registry, as each `pulumi up` is a new process) and loads each captured `__provider`.
 */
export function serializedProviders(): Promise<SerializedProviders> {
    cached ??= capture();
    return cached;
}

/**
 * Globals the jest environment adds. Pulumi's closure serializer treats any name on `global` as a
 * built-in and does not capture it, so a provider module's own helper named like one (e.g. `describe`) would
 * be left out of `__provider` under jest, unlike under `pulumi up`. Hide them while serializing.
 */
const JEST_GLOBALS = ["describe", "fdescribe", "xdescribe", "it", "fit", "xit", "test", "xtest", "expect",
    "beforeAll", "afterAll", "beforeEach", "afterEach", "pending", "fail", "spyOn"];

async function capture(): Promise<SerializedProviders> {
    const hidden = new Map<string, PropertyDescriptor>();
    for (const name of JEST_GLOBALS) {
        const d = Object.getOwnPropertyDescriptor(globalThis, name);
        if (d) {
            hidden.set(name, d);
            delete (globalThis as Record<string, unknown>)[name];
        }
    }
    try {
        return await captureWithoutJestGlobals();
    } finally {
        for (const [name, d] of hidden) Object.defineProperty(globalThis, name, d);
    }
}

async function captureWithoutJestGlobals(): Promise<SerializedProviders> {
    const registrations: Registration[] = [];
    const declared: Promise<unknown>[] = [];
    const exitListeners = process.listeners("exit");

    jest.isolateModules(() => {
        const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
        pulumi.runtime.setMocks({
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => { throw new Error(`unexpected call ${args.token}`); },
        }, "mysql-replicas", "integration", false);
        // The mocks hide resource options; the recorder sees additionalSecretOutputs too.
        recordRegistrations(registrations);

        const { Replication } = require("../../../components/replication/replication") as typeof import("../../../components/replication/replication");
        const { ServerRole } = require("../../../components/replication/serverRole") as typeof import("../../../components/replication/serverRole");
        const accounts = require("../../../components/replication/accounts") as typeof import("../../../components/replication/accounts");
        const server = { adminHost: "127.0.0.1", adminPort: 3306, adminPassword: "dummy-admin-pw" };
        const resources = [
            new Replication("replication", {
                replicaName: "replica", adminHost: "127.0.0.1", adminPort: 3307, adminPassword: "dummy-admin-pw",
                sourceHost: "source", sourceProbeHost: "127.0.0.1", sourceProbePort: 3306, user: "repl", password: "dummy-repl-pw",
            }),
            new ServerRole("serverRole", { ...server, serverName: "source", role: "source" }),
            new accounts.SqlDatabase("database", { ...server, name: "app" }),
            new accounts.SqlUser("user", { ...server, user: "app", plaintextPassword: "dummy-user-pw" }),
            new accounts.SqlGrant("grant", { ...server, user: "app", database: "app", privileges: ["SELECT"] }),
        ];
        // A custom resource's id resolves once the (mock) engine has registered it.
        for (const r of resources) declared.push(new Promise((resolve) => r.id.apply((id) => { resolve(id); return id; })));
    });
    await Promise.all(declared);
    forgetExitListeners(exitListeners);

    const byKind = {} as Record<ProviderKind, ClassRegistration>;
    const loaded = {} as Record<ProviderKind, LoadedProvider>;
    for (const kind of ["replication", "serverRole", "database", "user", "grant"] as const) {
        const request = registrations.find((r) => r.name === kind);
        if (!request) throw new Error(`the ${kind} resource was never registered under mocks`);
        const props = request.inputs;
        const raw = props[PROVIDER_KEY];
        const providerText = isSecretWrapper(raw) ? raw.value : raw;
        if (typeof providerText !== "string") throw new Error(`the ${kind} resource carries no ${PROVIDER_KEY} text`);
        byKind[kind] = {
            type: request.type,
            providerText,
            providerIsSecret: isSecretWrapper(raw),
            inputKeys: Object.keys(props).filter((k) => k !== PROVIDER_KEY).sort(),
            secretInputs: Object.entries(props).filter(([, v]) => isSecretWrapper(v)).map(([k]) => k).sort(),
            additionalSecretOutputs: [...request.additionalSecretOutputs].sort(),
        };
        loaded[kind] = loadSerializedProvider(providerText);
    }
    return { ...loaded, registrations: byKind };
}

// ---------------------------------------------------------------- driver

/** One call the driver made and what came back: the record the password checks read. */
export interface CallRecord {
    readonly kind: string;
    readonly method: "check" | "diff" | "create" | "read" | "update" | "delete";
    /** The method's result (as the engine would store or use it), or undefined for delete. */
    readonly result?: unknown;
    /** The message of an error the method threw. */
    readonly error?: string;
}

export interface DiffResult {
    readonly changes: boolean | undefined;
    readonly replaces: string[];
    readonly deleteBeforeReplace: boolean;
}

/** A resource's state after create or update, as the engine keeps it. */
export interface State<O> {
    readonly id: string;
    readonly outs: O;
}

/** Raised when check reports failures, as the engine refuses the step. */
export class CheckFailedError extends Error {
    constructor(readonly failures: { property: string; reason: string }[]) {
        super(`check failed: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }
}

/** Values as they cross the gRPC boundary: protobuf Struct in and out (undefined is not allowed there). */
function wire<T>(value: T): T {
    const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
    return Struct.fromJavaScript(value).toJavaScript() as T;
}

/**
 * Calls a loaded provider the way the dynamic-provider host does: every request carries `__provider`,
 * check runs before create and diff/update, update only when diff reports changes.
 */
export class ProviderDriver<I extends object, O extends object = I> {
    /** Every call and its result or error, in order. */
    public readonly calls: CallRecord[] = [];

    constructor(readonly kind: string, readonly provider: LoadedProvider, readonly providerText: string,
        private readonly sink?: CallRecord[]) {}

    private record(r: CallRecord): void {
        this.calls.push(r);
        this.sink?.push(r);
    }

    private async call<T>(method: CallRecord["method"], fn: () => Promise<T>): Promise<T> {
        try {
            const result = await fn();
            this.record({ kind: this.kind, method, result });
            return result;
        } catch (err) {
            this.record({ kind: this.kind, method, error: (err as Error)?.message ?? String(err) });
            throw err;
        }
    }

    private withProvider<T extends object>(props: T): T & { __provider: string } {
        return wire({ ...props, [PROVIDER_KEY]: this.providerText }) as T & { __provider: string };
    }

    /** check(olds, news): the inputs the engine goes on with; throws CheckFailedError on failures. */
    async check(olds: Partial<I> | Record<string, never>, news: I): Promise<I> {
        // A new resource has no old inputs at all.
        const o = Object.keys(olds).length > 0 ? this.withProvider(olds as object) : {};
        const n = this.withProvider(news);
        const result = await this.call("check", async () => {
            if (!this.provider.check) return { inputs: n, failures: [] };
            const r = await this.provider.check(o, n);
            return { inputs: r.inputs ?? n, failures: r.failures ?? [] };
        });
        if (result.failures.length > 0) throw new CheckFailedError(result.failures);
        return wire({ ...(result.inputs as object), [PROVIDER_KEY]: this.providerText }) as I;
    }

    /** check then create, as for a new resource. */
    async create(news: I): Promise<State<O>> {
        const inputs = await this.check({}, news);
        return this.call("create", async () => {
            const r = await this.provider.create(inputs);
            return { id: r.id, outs: wire({ ...(r.outs ?? {}), [PROVIDER_KEY]: this.providerText }) as O };
        });
    }

    /** read(id, state), as `pulumi refresh`; an empty id means the resource is gone. */
    async read(id: string, outs: O): Promise<State<O>> {
        const props = this.withProvider(outs);
        return this.call("read", async () => {
            if (!this.provider.read) return { id, outs: props as O };
            const r = await this.provider.read(id, props);
            return { id: r.id ?? id, outs: wire({ ...(r.props ?? {}), [PROVIDER_KEY]: this.providerText }) as O };
        });
    }

    /**
     * check(olds, news) then diff(id, old state, checked news). The engine hands check the old inputs;
     * the driver keeps only state and passes that (the lab's providers' check ignores olds).
     */
    async diff(id: string, outs: O, news: I): Promise<DiffResult & { inputs: I }> {
        const inputs = await this.check(outs as unknown as Partial<I>, news);
        const olds = this.withProvider(outs);
        const result = await this.call("diff", async () => {
            if (!this.provider.diff) throw new Error(`${this.kind} has no diff`);
            const r = await this.provider.diff(id, olds, inputs);
            return { changes: r.changes, replaces: r.replaces ?? [], deleteBeforeReplace: r.deleteBeforeReplace ?? false };
        });
        return { ...result, inputs };
    }

    /** update(id, old state, checked news). */
    async update(id: string, outs: O, inputs: I): Promise<State<O>> {
        const olds = this.withProvider(outs);
        const news = this.withProvider(inputs);
        return this.call("update", async () => {
            const r = this.provider.update ? await this.provider.update(id, olds, news) : {};
            return { id, outs: wire({ ...(r.outs ?? {}), [PROVIDER_KEY]: this.providerText }) as O };
        });
    }

    /**
     * One `pulumi up` step for an existing resource: check, diff, then nothing, update, or (when diff
     * asks for a replacement) delete and create. Returns the new state and what diff said.
     */
    async up(state: State<O>, news: I): Promise<{ state: State<O>; diff: DiffResult }> {
        const d = await this.diff(state.id, state.outs, news);
        if (d.changes === false) return { state, diff: d };
        if (d.replaces.length > 0) {
            await this.delete(state.id, state.outs);
            return { state: await this.create(news), diff: d };
        }
        return { state: await this.update(state.id, state.outs, d.inputs), diff: d };
    }

    async delete(id: string, outs: O): Promise<void> {
        const props = this.withProvider(outs);
        await this.call("delete", async () => {
            if (this.provider.delete) await this.provider.delete(id, props);
            return undefined;
        });
    }
}

/** Drivers for all five providers, sharing one call log. */
export async function providerDrivers(): Promise<{
    replication: ProviderDriver<any>; serverRole: ProviderDriver<any>; database: ProviderDriver<any>;
    user: ProviderDriver<any>; grant: ProviderDriver<any>; calls: CallRecord[]; registrations: Record<ProviderKind, ClassRegistration>;
}> {
    const p = await serializedProviders();
    const calls: CallRecord[] = [];
    const make = (kind: ProviderKind) => new ProviderDriver<any>(kind, p[kind], p.registrations[kind].providerText, calls);
    return {
        replication: make("replication"), serverRole: make("serverRole"), database: make("database"),
        user: make("user"), grant: make("grant"), calls, registrations: p.registrations,
    };
}
