/**
 * Dynamic resources (`pulumi-nodejs:dynamic/...`) run as Pulumi's dynamic-provider host runs them
 * (sdk/nodejs/cmd/dynamic-provider): the provider is loaded from the serialized `__provider` text;
 * check gets (old inputs, new inputs), diff/update get (old outputs, new inputs), read/delete get the
 * old outputs; `__provider` is carried into every result. Values are plaintext, as the engine sends
 * them to a provider that does not accept secrets.
 */
import { loadSerializedProvider } from "../../mocks/serializedProvider";
import { Handler, InitError, NotImplemented } from "./handler";
import { Props, UNKNOWN, changedKeys, deepEqual, plainJson } from "./values";

const PROVIDER_KEY = "__provider";

type AnyProvider = {
    check?: (olds: Props, news: Props) => Promise<{ inputs?: Props; failures?: Array<{ property: string; reason: string }> }>;
    diff?: (id: string, olds: Props, news: Props) => Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
    create: (inputs: Props) => Promise<{ id: string; outs?: Props }>;
    read?: (id: string, props: Props) => Promise<{ id?: string; props?: Props; inputs?: Props }>;
    update?: (id: string, olds: Props, news: Props) => Promise<{ outs?: Props } | undefined>;
    delete?: (id: string, props: Props) => Promise<void>;
    configure?: unknown;
};

function providerOf(props: Props | undefined, what: string): AnyProvider {
    const text = props?.[PROVIDER_KEY];
    if (typeof text !== "string" || text === UNKNOWN) throw new Error(`${what}: no serialized provider (${PROVIDER_KEY}) to run`);
    const provider = loadSerializedProvider(text) as unknown as AnyProvider;
    if (provider.configure) throw new NotImplemented(`${what}: a dynamic provider with configure()`);
    return provider;
}

function withProvider(result: Props | undefined, from: Props): Props {
    return plainJson({ ...(result ?? {}), [PROVIDER_KEY]: from[PROVIDER_KEY] });
}

export const dynamicHandler: Handler = {
    async check(news, olds, ctx) {
        const provider = providerOf(news[PROVIDER_KEY] === UNKNOWN ? olds : news, ctx.urn);
        let inputs = news;
        if (provider.check) {
            const result = await provider.check(plainJson(olds ?? {}), plainJson(news));
            const failures = result.failures ?? [];
            if (failures.length > 0) {
                throw new Error(`${ctx.urn}: check failed:\n  ` + failures.map((f) => `${f.property}: ${f.reason}`).join("\n  "));
            }
            if (result.inputs) inputs = result.inputs;
        }
        return withProvider(inputs, news);
    },
    async diff(id, oldInputs, oldOutputs, news, ctx) {
        const provider = providerOf(news[PROVIDER_KEY] === UNKNOWN ? oldOutputs : news, ctx.urn);
        const keys = changedKeys(oldInputs, news);
        if (!provider.diff) {
            // DIFF_UNKNOWN: the engine compares old and new inputs itself.
            return { changes: keys.length > 0, replaces: [], changedKeys: keys };
        }
        const result = await provider.diff(id, plainJson(oldOutputs), plainJson(news));
        const replaces = result.replaces ?? [];
        const changes = result.changes === undefined ? !deepEqual(oldInputs, news) : result.changes || replaces.length > 0;
        return {
            changes,
            replaces,
            changedKeys: changes ? [...new Set([...keys, ...replaces])] : [],
            deleteBeforeReplace: result.deleteBeforeReplace === true,
        };
    },
    async create(inputs, ctx) {
        const provider = providerOf(inputs, ctx.urn);
        let result: { id: string; outs?: Props };
        try {
            result = await provider.create(plainJson(inputs));
        } catch (err) {
            const e = err as { id?: string; properties?: Props; message?: string };
            if (e.id) throw new InitError(e.message ?? String(err), e.id, withProvider(e.properties, inputs));
            throw err;
        }
        if (!result || typeof result.id !== "string" || result.id === "") {
            throw new Error(`${ctx.urn}: the provider's create returned an empty id`);
        }
        return { id: result.id, outputs: withProvider(result.outs, inputs) };
    },
    async update(id, _oldInputs, oldOutputs, news, ctx) {
        const provider = providerOf(news, ctx.urn);
        const result = provider.update ? (await provider.update(id, plainJson(oldOutputs), plainJson(news))) ?? {} : {};
        return withProvider(result.outs, news);
    },
    async delete(id, _inputs, outputs, ctx) {
        const provider = providerOf(outputs, ctx.urn);
        if (provider.delete) await provider.delete(id, plainJson(outputs));
    },
    async read(id, inputs, outputs, ctx) {
        const provider = providerOf(outputs, ctx.urn);
        if (!provider.read) return { id, outputs };
        const result = await provider.read(id, plainJson(outputs));
        if (!result?.id) return undefined;
        return {
            id: result.id,
            outputs: withProvider(result.props, outputs),
            inputs: result.inputs ? withProvider(result.inputs, inputs) : undefined,
        };
    },
};
