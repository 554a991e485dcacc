/**
 * A provider's inputs, declared once: each input's table entry says what a change to it does, its
 * default (for Args that leave it out and for older saved state that lacks it) and what values it
 * allows. `check`, `diff`, the constructor's defaults and the reading of older state all come from the
 * table, so a new input is one entry (the compiler asks for it once the input is in the interface).
 */
import type * as pulumi from "@pulumi/pulumi";
import { withAdminKeys } from "./connection";

/**
 * What a change does: `replace` makes a new resource (the input names another object), `apply`
 * updates it and acts on the server, `record` updates it and only keeps the new value.
 */
export type InputChange = "replace" | "apply" | "record";

export interface InputSpec<V, T> {
    readonly change: InputChange;
    /**
     * The value when Args leave it out and when older saved state lacks it. (Not `default`: Pulumi's
     * closure serializer fails on a captured object with a property of that name.)
     */
    readonly byDefault?: V;
    /** What the value must be, as in "port must be a port from 1 to 65535"; checked when `valid` is given. */
    readonly allowed?: string;
    readonly valid?: (value: V) => boolean;
    /** Whether a change to it matters given the other new inputs (e.g. a timeout of a feature turned off). */
    readonly matters?: (news: T) => boolean;
}

export type InputTable<T> = { readonly [K in keyof T]-?: InputSpec<T[K], T> };

/** Saved state as today's inputs: legacy names of the admin endpoint renamed, missing inputs defaulted. */
export function fromState<T extends object>(table: InputTable<T>, olds: Partial<T>): T {
    const o = withAdminKeys(olds as object) as Record<string, unknown>;
    for (const [k, spec] of Object.entries(table) as [string, InputSpec<unknown, T>][]) {
        if (o[k] === undefined && spec.byDefault !== undefined) o[k] = spec.byDefault;
    }
    return o as T;
}

/** The inputs whose value differs between (defaulted) old state and the new inputs, by what their change does. */
export function changedInputs<T extends object>(table: InputTable<T>, olds: Partial<T>, news: T): Record<InputChange, (keyof T & string)[]> {
    const o = fromState(table, olds);
    const n = fromState(table, news);
    const out: Record<InputChange, (keyof T & string)[]> = { replace: [], apply: [], record: [] };
    for (const [k, spec] of Object.entries(table) as [keyof T & string, InputSpec<unknown, T>][]) {
        if (JSON.stringify(o[k]) === JSON.stringify(n[k])) continue;
        if (spec.matters && !spec.matters(n)) continue;
        out[spec.change].push(k);
    }
    return out;
}

/** A diff from the changed inputs: any change is one, `replace` ones replace (the old one deleted first). */
export function diffOf(changed: Record<InputChange, string[]>, drifted = false): pulumi.dynamic.DiffResult {
    const changes = changed.replace.length + changed.apply.length + changed.record.length > 0 || drifted;
    return { changes, replaces: changed.replace, deleteBeforeReplace: true };
}

/** A failure for every input whose value is not allowed; a password's value is never echoed. */
export function checkInputs<T extends object>(table: InputTable<T>, news: T): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const n = fromState(table, news) as Record<string, unknown>;
    for (const [k, spec] of Object.entries(table) as [string, InputSpec<unknown, T>][]) {
        if (!spec.valid || spec.valid(n[k])) continue;
        const shown = k.toLowerCase().includes("password") ? "<secret>" : n[k];
        failures.push({ property: k, reason: `${k} must be ${spec.allowed}, got ${JSON.stringify(shown)}` });
    }
    return failures;
}

/** Args with each input they leave out given its default, for a resource's constructor. */
export function withDefaults<A extends object, T>(table: InputTable<T>, args: A): A {
    const out = { ...args } as Record<string, unknown>;
    for (const [k, spec] of Object.entries(table) as [string, InputSpec<unknown, T>][]) {
        if (out[k] === undefined && spec.byDefault !== undefined) out[k] = spec.byDefault;
    }
    return out as A;
}

/** Checks several inputs share. */
export const is = {
    text: (v: unknown): boolean => typeof v === "string" && v.length > 0,
    string: (v: unknown): boolean => typeof v === "string",
    port: (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535,
    wholeFrom: (min: number) => (v: unknown): boolean => Number.isInteger(v) && (v as number) >= min,
    boolean: (v: unknown): boolean => typeof v === "boolean",
    oneOf: (values: readonly unknown[]) => (v: unknown): boolean => values.includes(v),
};
