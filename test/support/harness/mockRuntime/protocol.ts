/** What liveStack sends to a runner process and gets back (over the fork IPC channel, never on disk). */
import type { Step } from "./engine";
import type { Props } from "./values";

export type Operation = "up" | "preview" | "refresh" | "destroy";

export interface RunRequest {
    readonly op: Operation;
    readonly project: string;
    readonly stack: string;
    /** Absolute path of the Pulumi program (the project's index.ts). */
    readonly program: string;
    /** Config with full keys ("mysql-replicas:replicaCount"); secrets in plain text, only in memory. */
    readonly config: Record<string, string>;
    /** Full keys of the secret config values. */
    readonly secretKeys: string[];
    readonly statePath: string;
    readonly passphrase: string;
    /** Refresh before up/preview, as `pulumi up --refresh`. */
    readonly refresh: boolean;
}

export interface RunResponse {
    readonly ok: boolean;
    readonly error?: string;
    /** Steps of a refresh run before up/preview. */
    readonly refreshSteps: Step[];
    readonly steps: Step[];
    /** Stack outputs (plain), after up. */
    readonly outputs?: Props;
    readonly secretOutputs?: string[];
    readonly ms: number;
}
