/**
 * The deployment engine of the mock-runtime path: what `pulumi up/preview/refresh/destroy` do with
 * the registrations a program makes, applied for real through the handlers. It keeps Pulumi's rules:
 * - a registration is diffed against the (refreshed) state: create, same, update or replace; a
 *   replacement creates the new object before deleting the old one, unless deleteBeforeReplace (the
 *   option, else the provider's answer) says otherwise; dependents that must be replaced with it
 *   (their inputs depend on it and would force a replacement) are deleted first;
 * - replaceOnChanges turns any change of the named inputs into a replacement; ignoreChanges keeps the
 *   old value of the named inputs; additionalSecretOutputs (and secret inputs) make outputs secret;
 * - what the program no longer declares is deleted after it ran, dependents first (dependencies,
 *   property dependencies, parent and deletedWith all order deletes), skipping any resource whose
 *   deletedWith target is deleted in the same operation;
 * - a failed step stops new steps, lets running ones end, keeps what exists in the state and fails.
 */
import type Docker from "dockerode";
import { containerHandler, networkHandler, remoteImageHandler, volumeHandler } from "./docker";
import { dynamicHandler } from "./dynamic";
import { Handler, HandlerContext, InitError, NotImplemented } from "./handler";
import { randomPasswordHandler } from "./random";
import type { ResourceState, StackState } from "./state";
import { Props, UNKNOWN, deepEqual, splitSecrets, wrapSecrets } from "./values";

export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

export type StepOp = "create" | "update" | "replace" | "delete" | "same";

/** One step as planned (preview) or done (up, refresh, destroy). */
export interface Step {
    readonly op: StepOp;
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** Changed inputs (update, replace) or outputs (refresh). */
    readonly keys?: readonly string[];
    /** e.g. "delete-before-replace", "skipped: deletedWith …", "gone" (refresh). */
    readonly detail?: string;
    readonly ms?: number;
}

/** A registration as the SDK sends it, inputs still carrying secret wrappers and unknowns. */
export interface Goal {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly parent?: string;
    readonly dependencies: string[];
    readonly propertyDependencies: Record<string, string[]>;
    readonly deletedWith?: string;
    /** An explicit provider's reference (`urn::id`), when the resource names one. */
    readonly provider?: string;
    readonly deleteBeforeReplace?: boolean;
    readonly replaceOnChanges: string[];
    readonly ignoreChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly inputs: Props;
}

const HANDLERS: Record<string, Handler> = {
    "docker:index/container:Container": containerHandler,
    "docker:index/network:Network": networkHandler,
    "docker:index/volume:Volume": volumeHandler,
    "docker:index/remoteImage:RemoteImage": remoteImageHandler,
    "random:index/randomPassword:RandomPassword": randomPasswordHandler,
};

/** Providers a resource may name explicitly (with `{ provider }`): none, since the lab's accounts are its own resources. */
const EXPLICIT_PROVIDERS = new Set<string>();

/** How often a resource still being applied says so, and the words it starts with (liveStack looks for them). */
const SLOW_NOTICE_MS = 60_000;
export const SLOW_MARK = "still running after";

export function handlerFor(type: string): Handler {
    const handler = HANDLERS[type] ?? (type.startsWith("pulumi-nodejs:dynamic") ? dynamicHandler : undefined);
    if (!handler) throw new NotImplemented(`resource type ${type}`);
    return handler;
}

export function urnName(urn: string): string {
    return urn.split("::").slice(3).join("::");
}

/** Whether a top-level key is named by a replaceOnChanges/ignoreChanges list (nested paths are not implemented). */
function named(paths: readonly string[], key: string, option: string, urn: string): boolean {
    for (const p of paths) {
        if (p !== "*" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) throw new NotImplemented(`${option} path ${JSON.stringify(p)} on ${urn} (only top-level properties)`);
    }
    return paths.includes("*") || paths.includes(key);
}

interface OldEntry {
    state: ResourceState;
    registered: boolean;
    deleted: boolean;
}

export interface EngineOptions {
    readonly state: StackState;
    readonly dryRun: boolean;
    readonly docker: Docker;
    log(line: string): void;
    /** Persists a snapshot; called after every step that changes the state (never in a dry run). */
    save?(state: StackState): void;
}

export class Engine {
    readonly steps: Step[] = [];
    private olds: OldEntry[];
    private readonly news = new Map<string, ResourceState>();
    private readonly newOrder: string[] = [];
    /** Old objects of create-before-delete replacements, deleted at the end. */
    private readonly replaced: OldEntry[] = [];
    private failure?: Error;
    private stackOutputs: Props;
    private stackSecretOutputs: string[];

    constructor(private readonly opts: EngineOptions) {
        this.olds = opts.state.resources.map((state) => ({ state, registered: false, deleted: false }));
        this.stackOutputs = opts.state.outputs;
        this.stackSecretOutputs = opts.state.secretOutputs;
    }

    get failed(): Error | undefined {
        return this.failure;
    }

    // ------------------------------------------------------------ snapshot

    snapshot(): StackState {
        const resources: ResourceState[] = this.newOrder.map((urn) => this.news.get(urn)!);
        // Old resources stay until deleted or superseded by a new registration (a failed step keeps them).
        for (const e of this.olds) if (!e.deleted && (!this.news.has(e.state.urn) || e.state.pendingDelete)) resources.push(e.state);
        for (const e of this.replaced) if (!e.deleted) resources.push(e.state);
        return {
            project: this.opts.state.project,
            stack: this.opts.state.stack,
            resources,
            outputs: this.stackOutputs,
            secretOutputs: this.stackSecretOutputs,
        };
    }

    private save(): void {
        if (!this.opts.dryRun) this.opts.save?.(this.snapshot());
    }

    private ctx(urn: string, providerRef?: string): HandlerContext {
        return {
            urn, name: urnName(urn), docker: this.opts.docker, provider: providerRef ? this.providerConfig(providerRef, urn) : undefined,
            log: (m) => this.opts.log(`  ${urnName(urn)}: ${m}`),
        };
    }

    /**
     * The config of the explicit provider `ref` (`urn::id`) names: this run's registration when the
     * program declared it, else the state's (a resource being deleted or refreshed uses the provider it
     * was created with, as Pulumi does).
     */
    private providerConfig(ref: string, user: string): Props {
        const urn = ref.slice(0, ref.lastIndexOf("::"));
        // The URN's type is the qualified chain of parent types: the provider's own type comes last.
        const type = urn.split("::")[2].split("$").pop()!;
        if (!EXPLICIT_PROVIDERS.has(type)) throw new NotImplemented(`explicit provider ${type} (on ${user})`);
        const state = this.news.get(urn) ?? this.olds.find((e) => e.state.urn === urn && !e.deleted)?.state;
        if (!state) throw new Error(`${user}: its provider ${urn} is not in the state`);
        return state.inputs;
    }

    private step(s: Step): void {
        this.steps.push(s);
        if (s.op !== "same" || this.opts.dryRun) {
            const keys = s.keys && s.keys.length > 0 ? ` [${s.keys.join(", ")}]` : "";
            const ms = s.ms !== undefined ? ` ${(s.ms / 1000).toFixed(1)}s` : "";
            this.opts.log(`${this.opts.dryRun ? "plan" : "done"} ${s.op.padEnd(7)} ${s.type} ${s.name}${keys}${s.detail ? ` (${s.detail})` : ""}${ms}`);
        }
    }

    private liveOld(urn: string): OldEntry | undefined {
        return this.olds.find((e) => e.state.urn === urn && !e.deleted && !e.state.pendingDelete);
    }

    // ------------------------------------------------------------ refresh

    /** Reads every custom resource back (`pulumi refresh`); gone ones leave the state. */
    async refresh(): Promise<Step[]> {
        const before = this.steps.length;
        await Promise.all(this.olds.filter((e) => e.state.custom && !e.deleted).map(async (e) => {
            const r = e.state;
            const started = Date.now();
            const got = await handlerFor(r.type).read(r.id!, r.inputs, r.outputs, this.ctx(r.urn, r.provider));
            const name = urnName(r.urn);
            if (!got) {
                e.deleted = true;
                this.step({ op: "delete", urn: r.urn, type: r.type, name, detail: "gone", ms: Date.now() - started });
                return;
            }
            const keys = [...new Set([...Object.keys(r.outputs), ...Object.keys(got.outputs)])]
                .filter((k) => !deepEqual(r.outputs[k], got.outputs[k]));
            e.state = { ...r, id: got.id, outputs: got.outputs, inputs: got.inputs ?? r.inputs };
            this.step({ op: keys.length > 0 || got.id !== r.id ? "update" : "same", urn: r.urn, type: r.type, name, keys, ms: Date.now() - started });
        }));
        this.save();
        return this.steps.slice(before);
    }

    // ------------------------------------------------------------ registrations

    /** Applies (or plans) one registration; resolves to what the SDK gets back. */
    async register(goal: Goal): Promise<{ id: string; outputs: Props }> {
        if (this.news.has(goal.urn)) throw new Error(`Duplicate resource URN '${goal.urn}'; try giving it a unique name`);
        if (this.failure) throw new Error(`${goal.urn}: not applied: an earlier step failed (${this.failure.message.split("\n")[0]})`);
        const { plain, secretKeys } = splitSecrets(goal.inputs);
        const meta = {
            urn: goal.urn, type: goal.type, custom: goal.custom, parent: goal.parent || undefined, provider: goal.provider,
            dependencies: goal.dependencies, propertyDependencies: goal.propertyDependencies,
            deletedWith: goal.deletedWith || undefined, deleteBeforeReplace: goal.deleteBeforeReplace,
            replaceOnChanges: goal.replaceOnChanges, ignoreChanges: goal.ignoreChanges,
            additionalSecretOutputs: goal.additionalSecretOutputs,
        };
        const old = this.liveOld(goal.urn);
        if (old) old.registered = true;

        if (!goal.custom) {
            const state: ResourceState = {
                ...meta, inputs: plain, secretInputs: secretKeys,
                outputs: old?.state.outputs ?? {}, secretOutputs: old?.state.secretOutputs ?? [],
            };
            this.record(state);
            this.step({ op: old ? "same" : "create", urn: goal.urn, type: goal.type, name: goal.name });
            this.save();
            return { id: "", outputs: {} };
        }

        const started = Date.now();
        // A resource that takes minutes says so while it runs, so an operation cut short by a test's
        // timeout still shows where it was (liveStack prints these lines even when not verbose).
        const slow = setInterval(() => this.opts.log(
            `${SLOW_MARK} ${Math.round((Date.now() - started) / 1000)} s: ${goal.type} ${goal.name}`), SLOW_NOTICE_MS);
        try {
            const ctx = this.ctx(goal.urn, goal.provider);
            const handler = handlerFor(goal.type);
            let news = plain;
            if (old && goal.ignoreChanges.length > 0) {
                news = { ...plain };
                for (const key of new Set([...Object.keys(plain), ...Object.keys(old.state.inputs)])) {
                    if (named(goal.ignoreChanges, key, "ignoreChanges", goal.urn)) {
                        if (old.state.inputs[key] === undefined) delete news[key];
                        else news[key] = old.state.inputs[key];
                    }
                }
            }
            const checked = await handler.check(news, old?.state.inputs, ctx);
            const secretOutputs = [...new Set([...secretKeys, ...goal.additionalSecretOutputs, ...(handler.schemaSecrets ?? [])])];

            let op: StepOp = "create";
            let keys: readonly string[] = [];
            let dbr = false;
            if (old) {
                const o = old.state;
                const diff = await handler.diff(o.id!, o.inputs, o.outputs, checked, ctx);
                keys = diff.changedKeys;
                const replace = diff.replaces.length > 0 || (o.initErrors?.length ?? 0) > 0 ||
                    (diff.changes && diff.changedKeys.some((k) => named(goal.replaceOnChanges, k, "replaceOnChanges", goal.urn)));
                op = replace ? "replace" : diff.changes ? "update" : "same";
                dbr = goal.deleteBeforeReplace ?? diff.deleteBeforeReplace ?? false;
                if (op === "replace" && (o.initErrors?.length ?? 0) > 0 && keys.length === 0) keys = ["(failed to initialise)"];
            }

            if (this.opts.dryRun) {
                const outputs = op === "same" ? old!.state.outputs : op === "update" ? { ...old!.state.outputs, ...checked } : checked;
                const id = op === "same" || op === "update" ? old!.state.id! : "";
                this.record({ ...meta, id: id || undefined, inputs: checked, secretInputs: secretKeys, outputs, secretOutputs });
                this.step({ op, urn: goal.urn, type: goal.type, name: goal.name, keys, detail: op === "replace" && dbr ? "delete-before-replace" : undefined });
                return { id, outputs: wrapSecrets(outputs, secretOutputs) };
            }

            let id: string;
            let outputs: Props;
            const o = old?.state;
            if (op === "same") {
                id = o!.id!;
                outputs = o!.outputs;
            } else if (op === "update") {
                id = o!.id!;
                outputs = await handler.update(id, o!.inputs, o!.outputs, checked, ctx);
            } else {
                if (op === "replace" && dbr) await this.deleteForReplace(old!);
                try {
                    ({ id, outputs } = await handler.create(checked, ctx));
                } catch (err) {
                    if (err instanceof InitError) {
                        // The object exists: keep it in the state, to be replaced by the next up.
                        this.record({ ...meta, id: err.id, inputs: checked, secretInputs: secretKeys, outputs: err.outputs, secretOutputs, initErrors: [err.message] });
                        if (op === "replace" && !dbr) this.replaced.push({ state: { ...old!.state, pendingDelete: true }, registered: true, deleted: false });
                    }
                    throw err;
                }
                if (op === "replace" && !dbr) this.replaced.push({ state: { ...old!.state, pendingDelete: true }, registered: true, deleted: false });
            }
            this.record({ ...meta, id, inputs: checked, secretInputs: secretKeys, outputs, secretOutputs });
            this.step({ op, urn: goal.urn, type: goal.type, name: goal.name, keys, detail: op === "replace" && dbr ? "delete-before-replace" : undefined, ms: Date.now() - started });
            this.save();
            return { id, outputs: wrapSecrets(outputs, secretOutputs) };
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            const message = error.message.includes(goal.urn) || error.message.startsWith("live harness:") ? error.message : `${goal.type} ${goal.name}: ${error.message}`;
            if (!this.failure) this.failure = new Error(message);
            this.opts.log(`FAILED ${goal.type} ${goal.name}: ${error.message}`);
            this.save();
            throw new Error(message);
        } finally {
            clearInterval(slow);
        }
    }

    /** Component outputs, and the stack's outputs when `urn` is the root stack. */
    registerOutputs(urn: string, outputs: Props): void {
        const { plain, secretKeys } = splitSecrets(outputs);
        const state = this.news.get(urn);
        if (state) {
            state.outputs = plain;
            state.secretOutputs = secretKeys;
        }
        if (state?.type === ROOT_STACK_TYPE) {
            this.stackOutputs = plain;
            this.stackSecretOutputs = secretKeys;
        }
        this.save();
    }

    outputs(): { outputs: Props; secretOutputs: string[] } {
        return { outputs: this.stackOutputs, secretOutputs: this.stackSecretOutputs };
    }

    private record(state: ResourceState): void {
        if (!this.news.has(state.urn)) this.newOrder.push(state.urn);
        this.news.set(state.urn, state);
    }

    /**
     * Delete-before-replace: dependents whose inputs depend on the resource and would be replaced
     * with those inputs unknown go first (in reverse order), then the resource itself.
     */
    private async deleteForReplace(root: OldEntry): Promise<void> {
        const replacedUrns = new Set([root.state.urn]);
        const dependents: OldEntry[] = [];
        for (const e of this.olds) {
            if (e === root || e.deleted || e.registered || !e.state.custom) continue;
            const keys = Object.entries(e.state.propertyDependencies)
                .filter(([, urns]) => urns.some((u) => replacedUrns.has(u))).map(([k]) => k);
            if (keys.length === 0) continue;
            const news = { ...e.state.inputs };
            for (const k of keys) news[k] = UNKNOWN;
            const diff = await handlerFor(e.state.type).diff(e.state.id!, e.state.inputs, e.state.outputs, news, this.ctx(e.state.urn, e.state.provider));
            if (diff.replaces.length > 0) {
                dependents.push(e);
                replacedUrns.add(e.state.urn);
            }
        }
        for (const e of [...dependents.reverse(), root]) {
            const started = Date.now();
            await handlerFor(e.state.type).delete(e.state.id!, e.state.inputs, e.state.outputs, this.ctx(e.state.urn, e.state.provider));
            e.deleted = true;
            if (e !== root) this.step({ op: "delete", urn: e.state.urn, type: e.state.type, name: urnName(e.state.urn), detail: `replaced with ${urnName(root.state.urn)}`, ms: Date.now() - started });
            this.save();
        }
    }

    // ------------------------------------------------------------ deletes

    /** The program failed: keep the state as it is (no deletes) and remember why. */
    abort(err: Error): void {
        this.failure ??= err;
        this.save();
    }

    /** After the program ran: deletes what it no longer declares and the old halves of replacements. */
    async finish(): Promise<void> {
        if (this.failure) {
            this.save();
            throw this.failure;
        }
        const gone = this.olds.filter((e) => !e.registered && !e.deleted);
        await this.deleteAll([...gone, ...this.replaced.filter((e) => !e.deleted)]);
        this.save();
    }

    /** `pulumi destroy`: everything in the state. */
    async destroy(): Promise<void> {
        await this.deleteAll(this.olds.filter((e) => !e.deleted));
        this.stackOutputs = {};
        this.stackSecretOutputs = [];
        this.save();
    }

    private async deleteAll(entries: OldEntry[]): Promise<void> {
        const deleting = new Set(entries.map((e) => e.state.urn));
        const refersTo = (a: ResourceState, b: ResourceState) => a !== b && a.urn !== b.urn && (
            a.dependencies.includes(b.urn) || a.parent === b.urn || a.deletedWith === b.urn ||
            (a.provider !== undefined && a.provider.startsWith(`${b.urn}::`)) ||
            Object.values(a.propertyDependencies).some((urns) => urns.includes(b.urn)));
        let pending = [...entries];
        while (pending.length > 0) {
            let wave = pending.filter((e) => !pending.some((o) => refersTo(o.state, e.state)));
            if (wave.length === 0) wave = [pending[pending.length - 1]];
            pending = pending.filter((e) => !wave.includes(e));
            const results = await Promise.allSettled(wave.map((e) => this.deleteOne(e, deleting)));
            const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
            if (failed) {
                this.failure ??= failed.reason as Error;
                this.save();
                throw failed.reason;
            }
        }
    }

    private async deleteOne(e: OldEntry, deleting: Set<string>): Promise<void> {
        const r = e.state;
        const name = urnName(r.urn);
        const started = Date.now();
        if (r.deletedWith && deleting.has(r.deletedWith)) {
            if (!this.opts.dryRun) e.deleted = true;
            this.step({ op: "delete", urn: r.urn, type: r.type, name, detail: `skipped: deleted with ${urnName(r.deletedWith)}` });
            this.save();
            return;
        }
        if (!this.opts.dryRun && r.custom) {
            try {
                await handlerFor(r.type).delete(r.id!, r.inputs, r.outputs, this.ctx(r.urn, r.provider));
            } catch (err) {
                throw new Error(`deleting ${r.type} ${name}: ${(err as Error).message}`);
            }
        }
        if (!this.opts.dryRun) e.deleted = true;
        this.step({ op: "delete", urn: r.urn, type: r.type, name, detail: r.pendingDelete ? "old half of a replacement" : undefined, ms: Date.now() - started });
        this.save();
    }
}
