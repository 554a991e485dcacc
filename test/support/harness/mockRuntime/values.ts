/**
 * Property values as the harness handles them: plain JSON values, with Pulumi's secret wrapper
 * (`{ <sigKey>: <secretSig>, value }`) and unknown sentinel recognised where they occur.
 */

import * as rpc from "@pulumi/pulumi/runtime/rpc";

/** Pulumi's wire markers, as the SDK defines them: the signature key and the secret, resource, asset and archive signatures. */
export const SIG_KEY: string = rpc.specialSigKey;
export const SECRET_SIG: string = rpc.specialSecretSig;
export const RESOURCE_SIG: string = rpc.specialResourceSig;
export const ASSET_SIG: string = rpc.specialAssetSig;
export const ARCHIVE_SIG: string = rpc.specialArchiveSig;
/** Pulumi's marker for a value not known until apply (sent in previews). */
export const UNKNOWN: string = rpc.unknownValue;

export type Props = Record<string, unknown>;

export function isSecretWrapper(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Props)[SIG_KEY] === SECRET_SIG;
}

/** True when `v` holds a secret wrapper anywhere inside. */
export function containsSecret(v: unknown): boolean {
    if (isSecretWrapper(v)) return true;
    if (Array.isArray(v)) return v.some(containsSecret);
    if (v && typeof v === "object") return Object.values(v).some(containsSecret);
    return false;
}

/** `v` with every secret wrapper replaced by its plain value (what a provider receives). */
export function reveal<T = unknown>(v: unknown): T {
    if (isSecretWrapper(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map((x) => reveal(x)) as T;
    if (v && typeof v === "object") {
        const out: Props = {};
        for (const [k, x] of Object.entries(v)) out[k] = reveal(x);
        return out as T;
    }
    return v as T;
}

/**
 * Splits engine-side inputs into plain values and the set of top-level keys that carried a secret.
 * Secrets are tracked per top-level property, as the engine does for providers that do not accept secrets.
 */
export function splitSecrets(props: Props): { plain: Props; secretKeys: string[] } {
    const plain: Props = {};
    const secretKeys: string[] = [];
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined) continue;
        plain[k] = reveal(v);
        if (containsSecret(v)) secretKeys.push(k);
    }
    return { plain, secretKeys };
}

/** Wraps the named top-level keys as secrets (the form the SDK deserializes into secret Outputs). */
export function wrapSecrets(props: Props, secretKeys: Iterable<string>): Props {
    const keys = new Set(secretKeys);
    const out: Props = {};
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined) continue;
        out[k] = keys.has(k) && v !== UNKNOWN ? { [SIG_KEY]: SECRET_SIG, value: v } : v;
    }
    return out;
}

/** A JSON round trip: what survives a protobuf Struct (undefined dropped, Dates as strings). */
export function plainJson<T>(v: T): T {
    return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** Structural equality of JSON values; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) {
        const bb = b as unknown[];
        return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
    }
    const ao = a as Props;
    const bo = b as Props;
    const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
    const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
    return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/** Top-level keys whose values differ between two property maps. */
export function changedKeys(olds: Props, news: Props, keys?: readonly string[]): string[] {
    const all = keys ?? [...new Set([...Object.keys(olds), ...Object.keys(news)])];
    return all.filter((k) => !deepEqual(olds[k], news[k]));
}
