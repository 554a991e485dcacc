/**
 * Runs a Pulumi program under the SDK's mock runtime with the resource monitor's hooks replaced:
 * each registration goes to the Engine (applied for real before the SDK gets its outputs, so
 * dependents wait exactly as with the real engine), invokes run for real, and any option, invoke or
 * value the harness does not implement fails the run with its name.
 */
import * as path from "node:path";
import type Docker from "dockerode";
import { getRemoteImage } from "./docker";
import { Engine, Goal, ROOT_STACK_TYPE } from "./engine";
import { NotImplemented } from "./handler";
import { ARCHIVE_SIG, ASSET_SIG, Props, RESOURCE_SIG, SIG_KEY, reveal } from "./values";


/** Loads a module the way the SDK does, so protobuf classes are the SDK's own. */
function sdkRequire<T = any>(id: string): T {
    const base = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    return require(require.resolve(id, { paths: [base] })) as T;
}

function rpcError(err: unknown): Error {
    const e = err instanceof Error ? err : new Error(String(err));
    // invoke() reports err.details; registerResource err.message.
    (e as Error & { details?: string }).details = e.message;
    return e;
}

/** Struct values, refusing kinds the harness does not implement. */
function checkValues(where: string, value: unknown, allowResources = false): Props {
    const walk = (v: unknown, at: string): void => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
        else if (v && typeof v === "object") {
            const sig = (v as Props)[SIG_KEY];
            // Components' registered outputs may name their children; state keeps the reference.
            if (sig === RESOURCE_SIG && allowResources) return;
            if (sig === RESOURCE_SIG) throw new NotImplemented(`a resource reference as input ${at} of ${where}`);
            if (sig === ASSET_SIG || sig === ARCHIVE_SIG) throw new NotImplemented(`an asset or archive as input ${at} of ${where}`);
            for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
        }
    };
    walk(value, "");
    return (value ?? {}) as Props;
}

export interface HookedRun {
    readonly program: string;
    readonly project: string;
    readonly stack: string;
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    readonly dryRun: boolean;
    readonly engine: Engine;
    readonly docker: Docker;
}

/** Runs the program to completion (every registration answered); rejects on the first program error. */
export async function runHooked(run: HookedRun): Promise<void> {
    const pulumi = sdkRequire<typeof import("@pulumi/pulumi")>("@pulumi/pulumi");
    const settings = sdkRequire("@pulumi/pulumi/runtime/settings");
    const resproto = sdkRequire("@pulumi/pulumi/proto/resource_pb");
    const provproto = sdkRequire("@pulumi/pulumi/proto/provider_pb");
    const gstruct = sdkRequire("google-protobuf/google/protobuf/struct_pb");
    const gempty = sdkRequire("google-protobuf/google/protobuf/empty_pb");
    const { engine } = run;

    const urnOf = (parent: string, type: string, name: string): string => {
        let qualified = type;
        if (parent) {
            const parentType = parent.split("::")[2];
            // As the engine's NewURN: the parent's qualified type chain, without the root stack's.
            if (parentType !== ROOT_STACK_TYPE) qualified = `${parentType}$${type}`;
        }
        return `urn:pulumi:${run.stack}::${run.project}::${qualified}::${name}`;
    };

    const goalOf = (req: any): Goal => {
        const type: string = req.getType();
        const name: string = req.getName();
        const what = `${type} ${name}`;
        const refuse = (option: string) => { throw new NotImplemented(`resource option ${option} (on ${what})`); };
        if (req.getRemote()) refuse("remote (multi-language component)");
        // An explicit provider goes to the engine, which refuses types it does not implement.
        if (req.getProvidersMap().getLength() > 0) refuse("providers (a component's provider map)");
        if (req.hasProtect() && req.getProtect()) refuse("protect");
        if (req.hasRetainondelete() && req.getRetainondelete()) refuse("retainOnDelete");
        if (req.getImportid()) refuse("import");
        const timeouts = req.getCustomtimeouts();
        if (timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())) refuse("customTimeouts");
        if (req.getAliasesList().length > 0 || req.getAliasurnsList().length > 0) refuse("aliases");
        if (req.getReplaceWithList().length > 0) refuse("replaceWith");
        if (req.hasReplacementTrigger()) refuse("replacementTrigger");
        if (req.getTransformsList().length > 0) refuse("transforms");
        if (req.hasHooks() && Object.values(req.getHooks().toObject()).some((v) => (Array.isArray(v) ? v.length > 0 : Boolean(v)))) refuse("hooks");
        if (req.getHidediffsList().length > 0) refuse("hideDiffs");
        if (req.getEnvvarmappingsMap().getLength() > 0) refuse("envVarMappings");
        const parent: string = req.getParent();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => { propertyDependencies[key] = deps.getUrnsList(); });
        return {
            urn: urnOf(parent, type, name),
            type,
            name,
            custom: req.getCustom(),
            parent: parent || undefined,
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            deletedWith: req.getDeletedwith() || undefined,
            provider: req.getProvider() || undefined,
            deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
            replaceOnChanges: req.getReplaceonchangesList(),
            ignoreChanges: req.getIgnorechangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            inputs: checkValues(what, req.getObject()?.toJavaScript() ?? {}),
        };
    };

    pulumi.runtime.setMocks({
        newResource: () => { throw new Error("live harness: the mock newResource hook must not be reached"); },
        call: () => { throw new Error("live harness: the mock call hook must not be reached"); },
    }, run.project, run.stack, run.dryRun);
    pulumi.runtime.setAllConfig(run.config, run.secretKeys);
    const monitor = settings.getMonitor();

    monitor.registerResource = (req: any, callback: (err: unknown, resp?: unknown) => void) => {
        (async () => {
            const goal = goalOf(req);
            if (process.env.LIVE_TIMELINE) process.stderr.write(`[t+${Math.round(performance.now())}] register ${goal.type} ${goal.name}\n`);
            const result = await engine.register(goal);
            const resp = new resproto.RegisterResourceResponse();
            resp.setUrn(goal.urn);
            resp.setId(result.id);
            resp.setObject(gstruct.Struct.fromJavaScript(result.outputs));
            return resp;
        })().then((resp) => callback(null, resp), (err) => callback(rpcError(err)));
    };
    monitor.registerResourceOutputs = (req: any, callback: (err: unknown, resp?: unknown) => void) => {
        try {
            engine.registerOutputs(req.getUrn(), checkValues(`outputs of ${req.getUrn()}`, req.getOutputs()?.toJavaScript() ?? {}, true));
            callback(null, new gempty.Empty());
        } catch (err) {
            callback(rpcError(err));
        }
    };
    monitor.invoke = (req: any, callback: (err: unknown, resp?: unknown) => void) => {
        (async () => {
            const tok: string = req.getTok();
            if (req.getProvider()) throw new NotImplemented(`an explicit provider on invoke ${tok}`);
            const args = reveal<Props>(checkValues(`invoke ${tok}`, req.getArgs()?.toJavaScript() ?? {}));
            let result: Props;
            if (tok === "docker:index/getRemoteImage:getRemoteImage") result = await getRemoteImage(run.docker, args);
            else throw new NotImplemented(`invoke ${tok}`);
            const resp = new provproto.InvokeResponse();
            resp.setReturn(gstruct.Struct.fromJavaScript(result));
            return resp;
        })().then((resp) => callback(null, resp), (err) => callback(rpcError(err)));
    };
    monitor.readResource = (req: any, callback: (err: unknown) => void) =>
        callback(rpcError(new NotImplemented(`reading an existing resource (${req.getType()}.get)`)));
    monitor.call = (req: any, callback: (err: unknown) => void) =>
        callback(rpcError(new NotImplemented(`resource method call ${req.getTok()}`)));

    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => {
        unhandled.push(err);
        // Said at once: a program that fails this way (a provider that cannot be serialized) may leave
        // registrations that never end, and the process then exits before the run can report it.
        process.stderr.write(`unhandled error in the program: ${err instanceof Error ? err.message : String(err)}\n`);
    };
    process.on("unhandledRejection", onUnhandled);
    let programError: unknown;
    try {
        await pulumi.runtime.runInPulumiStack(async () => {
            const exported = require(run.program);
            return exported instanceof Function ? exported() : exported;
        });
    } catch (err) {
        programError = err;
    }
    // Every registration the program made is answered before the run ends (as `pulumi up` waits).
    await settings.waitForRPCs();
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", onUnhandled);
    const first = programError ?? unhandled[0];
    if (first !== undefined) {
        const e = first instanceof Error ? first : new Error(String(first));
        throw new Error(`the program failed: ${e.message}`);
    }
}
