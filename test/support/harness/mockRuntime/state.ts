/**
 * The mock-runtime engine's checkpoint: one JSON file per stack, resources keyed by URN in
 * dependency order (as Pulumi's), every secret value encrypted with AES-256-GCM under a key
 * derived (scrypt) from the stack's passphrase. Nothing secret is ever written in plain text.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Props, SECRET_SIG, SIG_KEY } from "./values";

/** One resource as recorded after a step. Values are plain in memory; `secret*` name the secret keys. */
export interface ResourceState {
    urn: string;
    type: string;
    custom: boolean;
    /** Provider id; undefined for components. */
    id?: string;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    deletedWith?: string;
    /** Its explicit provider's reference, `urn::id` (undefined: the default provider). */
    provider?: string;
    /** The resource option as declared (undefined: not set). */
    deleteBeforeReplace?: boolean;
    replaceOnChanges: string[];
    ignoreChanges: string[];
    additionalSecretOutputs: string[];
    inputs: Props;
    outputs: Props;
    secretInputs: string[];
    secretOutputs: string[];
    /** Set when a create failed after the object came into being: the next up replaces it. */
    initErrors?: string[];
    /** The old half of a replacement not deleted yet (Pulumi's `delete: true`): the next up deletes it. */
    pendingDelete?: boolean;
}

export interface StackState {
    project: string;
    stack: string;
    resources: ResourceState[];
    /** The program's exports from the last successful up. */
    outputs: Props;
    secretOutputs: string[];
}

interface OnDisk {
    version: 1;
    project: string;
    stack: string;
    secrets: { cipher: "aes-256-gcm"; kdf: "scrypt"; salt: string };
    resources: Array<Omit<ResourceState, "inputs" | "outputs"> & { inputs: Props; outputs: Props }>;
    outputs: Props;
    secretOutputs: string[];
}

export function emptyState(project: string, stack: string): StackState {
    return { project, stack, resources: [], outputs: {}, secretOutputs: [] };
}

export class StateFile {
    private salt?: Buffer;
    private key?: Buffer;

    constructor(readonly file: string, private readonly passphrase: string) {
        if (!passphrase) throw new Error("a passphrase is required to keep secrets in the state file");
    }

    exists(): boolean {
        return fs.existsSync(this.file);
    }

    load(project: string, stack: string): StackState {
        if (!this.exists()) return emptyState(project, stack);
        const disk = JSON.parse(fs.readFileSync(this.file, "utf8")) as OnDisk;
        if (disk.version !== 1) throw new Error(`${this.file}: unknown state version ${String(disk.version)}`);
        this.useSalt(Buffer.from(disk.secrets.salt, "base64"));
        return {
            project: disk.project,
            stack: disk.stack,
            resources: disk.resources.map((r) => ({
                ...r,
                inputs: this.decryptProps(r.inputs, r.secretInputs, r.urn),
                outputs: this.decryptProps(r.outputs, r.secretOutputs, r.urn),
            })),
            outputs: this.decryptProps(disk.outputs, disk.secretOutputs, "stack outputs"),
            secretOutputs: disk.secretOutputs,
        };
    }

    /** Writes atomically (temp file, then rename), so a crash never leaves half a checkpoint. */
    save(state: StackState): void {
        if (!this.salt) this.useSalt(crypto.randomBytes(16));
        const disk: OnDisk = {
            version: 1,
            project: state.project,
            stack: state.stack,
            secrets: { cipher: "aes-256-gcm", kdf: "scrypt", salt: this.salt!.toString("base64") },
            resources: state.resources.map((r) => ({
                ...r,
                inputs: this.encryptProps(r.inputs, r.secretInputs),
                outputs: this.encryptProps(r.outputs, r.secretOutputs),
            })),
            outputs: this.encryptProps(state.outputs, state.secretOutputs),
            secretOutputs: state.secretOutputs,
        };
        fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(disk, null, 1), { mode: 0o600 });
        fs.renameSync(tmp, this.file);
    }

    remove(): void {
        fs.rmSync(this.file, { force: true });
    }

    private useSalt(salt: Buffer): void {
        this.salt = salt;
        this.key = crypto.scryptSync(this.passphrase, salt, 32);
    }

    private encryptProps(props: Props, secretKeys: readonly string[]): Props {
        const out: Props = {};
        for (const [k, v] of Object.entries(props)) {
            if (v === undefined) continue;
            out[k] = secretKeys.includes(k) ? { [SIG_KEY]: SECRET_SIG, ciphertext: this.encrypt(v) } : v;
        }
        return out;
    }

    private decryptProps(props: Props, secretKeys: readonly string[], where: string): Props {
        const out: Props = {};
        for (const [k, v] of Object.entries(props)) {
            if (secretKeys.includes(k)) {
                const c = (v as { ciphertext?: string } | null)?.ciphertext;
                if (typeof c !== "string") throw new Error(`${this.file}: ${where}: secret ${k} is not encrypted`);
                out[k] = this.decrypt(c, `${where} ${k}`);
            } else {
                out[k] = v;
            }
        }
        return out;
    }

    private encrypt(value: unknown): string {
        const iv = crypto.randomBytes(12);
        const cipher = crypto.createCipheriv("aes-256-gcm", this.key!, iv);
        const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
        return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), data.toString("base64")].join(":");
    }

    private decrypt(text: string, what: string): unknown {
        const [v, iv, tag, data] = text.split(":");
        if (v !== "v1") throw new Error(`${this.file}: ${what}: unknown ciphertext format`);
        try {
            const decipher = crypto.createDecipheriv("aes-256-gcm", this.key!, Buffer.from(iv, "base64"));
            decipher.setAuthTag(Buffer.from(tag, "base64"));
            const plain = Buffer.concat([decipher.update(Buffer.from(data, "base64")), decipher.final()]).toString("utf8");
            return JSON.parse(plain);
        } catch {
            throw new Error(`${this.file}: cannot decrypt ${what}: wrong passphrase or a damaged state file`);
        }
    }
}
