/** random:index/randomPassword:RandomPassword (@pulumi/random 4.x): generated with node:crypto, every input forces a new one. */
import * as crypto from "node:crypto";
import { Handler, NotImplemented, onlyKnownKeys } from "./handler";
import { Props, changedKeys } from "./values";

const KEYS = ["length", "keepers", "lower", "upper", "numeric", "number", "special", "minLower", "minUpper",
    "minNumeric", "minSpecial", "overrideSpecial"] as const;
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function generate(p: Props): string {
    const length = Number(p.length);
    const sets: Array<{ chars: string; min: number }> = [];
    if (p.lower !== false) sets.push({ chars: "abcdefghijklmnopqrstuvwxyz", min: Number(p.minLower ?? 0) });
    if (p.upper !== false) sets.push({ chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min: Number(p.minUpper ?? 0) });
    if (p.numeric !== false && p.number !== false) sets.push({ chars: "0123456789", min: Number(p.minNumeric ?? 0) });
    if (p.special !== false) sets.push({ chars: typeof p.overrideSpecial === "string" ? p.overrideSpecial : DEFAULT_SPECIAL, min: Number(p.minSpecial ?? 0) });
    const all = sets.map((s) => s.chars).join("");
    if (all.length === 0) throw new Error("random:index/randomPassword:RandomPassword: no character set is enabled");
    const out: string[] = [];
    for (const s of sets) for (let i = 0; i < s.min; i++) out.push(s.chars[crypto.randomInt(s.chars.length)]);
    while (out.length < length) out.push(all[crypto.randomInt(all.length)]);
    for (let i = out.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

export const randomPasswordHandler: Handler = {
    schemaSecrets: ["result", "bcryptHash"],
    async check(news) {
        onlyKnownKeys("random:index/randomPassword:RandomPassword", news, KEYS);
        const length = Number(news.length);
        if (!Number.isInteger(length) || length < 1) throw new Error(`random:index/randomPassword:RandomPassword: length must be at least 1, got ${String(news.length)}`);
        const mins = ["minLower", "minUpper", "minNumeric", "minSpecial"].reduce((n, k) => n + Number(news[k] ?? 0), 0);
        if (mins > length) throw new Error("random:index/randomPassword:RandomPassword: the min* counts exceed length");
        return { special: true, upper: true, lower: true, numeric: true, minLower: 0, minUpper: 0, minNumeric: 0, minSpecial: 0, ...news };
    },
    async diff(_id, oldInputs, _oldOutputs, news) {
        // Every input of RandomPassword forces a new password.
        const changed = changedKeys(oldInputs, news, KEYS);
        return { changes: changed.length > 0, replaces: changed, changedKeys: changed };
    },
    async create(inputs) {
        // bcryptHash needs a bcrypt implementation the project does not have: absent rather than wrong.
        return { id: "none", outputs: { ...inputs, result: generate(inputs) } };
    },
    async update() {
        throw new NotImplemented("an in-place update of RandomPassword (every input replaces)");
    },
    async delete() {
        // Nothing exists outside the state.
    },
    async read(id, _inputs, outputs) {
        return { id, outputs };
    },
};
