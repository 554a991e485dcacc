/**
 * Loads a dynamic provider from the `__provider` text Pulumi serialized into a resource's inputs,
 * the way the engine's dynamic-provider host does (require-from-string, then `handler()`).
 */
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";

const ROOT = path.resolve(__dirname, "../../..");

export type LoadedProvider = Required<Pick<pulumi.dynamic.ResourceProvider,
    "check" | "diff" | "create" | "read" | "update" | "delete">>;

const cache = new Map<string, LoadedProvider>();

export function loadSerializedProvider(text: string): LoadedProvider {
    if (typeof text !== "string" || !text.includes("exports.handler")) {
        throw new Error("not a serialized dynamic provider: expected the text of a module exporting handler");
    }
    let provider = cache.get(text);
    if (!provider) {
        // Resolve the provider's own require() calls (mysql2) from the project, as the engine does.
        const requireFromString = require("require-from-string") as (code: string, filename?: string) => any;
        provider = requireFromString(text, path.join(ROOT, "__provider.js")).handler() as LoadedProvider;
        cache.set(text, provider);
    }
    return provider;
}
