/** What the engine asks of each resource type: the provider protocol, on plain values. */
import type Docker from "dockerode";
import type { Props } from "./values";

export interface DiffResult {
    /** Whether anything changed (an update, or a replace when `replaces` is not empty). */
    readonly changes: boolean;
    /** Changed keys that force a replacement. */
    readonly replaces: readonly string[];
    /** Every changed top-level key, for replaceOnChanges and for display. */
    readonly changedKeys: readonly string[];
    /** The provider asks for delete-before-replace (dynamic providers may). */
    readonly deleteBeforeReplace?: boolean;
}

export interface HandlerContext {
    readonly urn: string;
    readonly name: string;
    readonly docker: Docker;
    /** The config (plain inputs) of the resource's explicit provider, if it has one. */
    readonly provider?: Props;
    log(message: string): void;
}

export interface ReadResult {
    readonly id: string;
    readonly outputs: Props;
    /** Inputs the provider reports for later diffs (dynamic providers' read may return them). */
    readonly inputs?: Props;
}

/** A provider for one resource type. Values are plain (secrets revealed); unknowns appear only in preview. */
export interface Handler {
    /** Validates and normalises new inputs (defaults applied); an input it does not implement throws. */
    check(news: Props, olds: Props | undefined, ctx: HandlerContext): Promise<Props>;
    diff(id: string, oldInputs: Props, oldOutputs: Props, news: Props, ctx: HandlerContext): Promise<DiffResult>;
    create(inputs: Props, ctx: HandlerContext): Promise<{ id: string; outputs: Props }>;
    update(id: string, oldInputs: Props, oldOutputs: Props, news: Props, ctx: HandlerContext): Promise<Props>;
    delete(id: string, inputs: Props, outputs: Props, ctx: HandlerContext): Promise<void>;
    /** undefined: the object is gone. */
    read(id: string, inputs: Props, outputs: Props, ctx: HandlerContext): Promise<ReadResult | undefined>;
    /** Outputs the provider's schema marks secret. */
    readonly schemaSecrets?: readonly string[];
}

/**
 * A create that failed after the object came into being (e.g. a container that never became
 * healthy): the engine records it with init errors and replaces it on the next up.
 */
export class InitError extends Error {
    constructor(message: string, readonly id: string, readonly outputs: Props) {
        super(message);
        this.name = "InitError";
    }
}

/** Raised for any type, input, option or invoke the harness does not implement: never ignored. */
export class NotImplemented extends Error {
    constructor(what: string) {
        super(`live harness: ${what} is not implemented (refusing to ignore it)`);
        this.name = "NotImplemented";
    }
}

/** Rejects keys outside `known`, naming the resource, the path and the key. */
export function onlyKnownKeys(where: string, value: unknown, known: readonly string[]): void {
    if (value === undefined || value === null) return;
    if (typeof value !== "object" || Array.isArray(value)) throw new Error(`${where}: expected an object, got ${JSON.stringify(value)}`);
    for (const [k, v] of Object.entries(value)) {
        if (v === undefined || v === null) continue;
        if (!known.includes(k)) throw new NotImplemented(`input ${where}.${k}`);
    }
}
