/**
 * The user tools (scripts/status.ts, verify.ts, bench.ts) run as users run them, against a live stack:
 * the stack's outputs written as `pulumi stack output --json --show-secrets` would print them, the
 * tool run as a child process, and probes of the read endpoint over fresh connections.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Connection } from "mysql2/promise";
import type { StackOutputs } from "./harness/liveStack";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { ServerLogin } from "./mysql";

const ROOT = path.resolve(__dirname, "../..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export type ToolName = "status" | "verify" | "bench";

export interface ToolRun {
    /** The exit code; -1 when the tool was killed (timeout) or could not start. */
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/**
 * Writes the outputs as the JSON of `pulumi stack output --json --show-secrets` (secrets in plain
 * text, so readable by the owner only). Returns the file's path.
 */
export function writeOutputsFile(file: string, outputs: StackOutputs): string {
    fs.writeFileSync(file, JSON.stringify(outputs, null, 2) + "\n", { mode: 0o600 });
    return file;
}

/** `npx ts-node --transpile-only scripts/<name>.ts ...args`, as `npm run <name> -- ...args` runs it, without colour. */
export function runTool(name: ToolName, args: readonly string[], timeoutMs = 120_000): Promise<ToolRun> {
    const started = Date.now();
    return new Promise((resolve) => {
        execFile(process.execPath, [TS_NODE, "--transpile-only", path.join(ROOT, "scripts", `${name}.ts`), ...args], {
            cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
        }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
            resolve({ code, stdout, stderr, ms: Date.now() - started });
        });
    });
}

/** The read-only user of the outputs, aimed at the read endpoint (as the bench reads). */
export function readEndpointLogin(outputs: StackOutputs): ServerLogin {
    const [host, port] = String(outputs.readEndpoint).split(/:(?=\d+$)/);
    return { ...parseMysqlUrl(outputs.readonlyConnectionStrings[0]), host: host.replace(/^\[|\]$/g, ""), port: Number(port) };
}

/** @@server_id behind one fresh connection through `login`; null when the connection or query fails. */
export async function serverIdOnce(login: ServerLogin, connectTimeoutMs = 3000): Promise<number | null> {
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    let conn: Connection | undefined;
    try {
        conn = await mysql.createConnection({ ...login, connectTimeout: connectTimeoutMs });
        const [rows] = await conn.query({ sql: "SELECT @@server_id AS id", timeout: connectTimeoutMs });
        return Number((rows as Array<{ id: number | string }>)[0].id);
    } catch {
        return null;
    } finally {
        if (conn) await conn.end().catch(() => conn!.destroy());
    }
}

/** @@server_id behind one fresh connection and how long it took, connect included. */
export async function timedServerId(login: ServerLogin): Promise<{ id: number | null; ms: number }> {
    const started = Date.now();
    const id = await serverIdOnce(login);
    return { id, ms: Date.now() - started };
}

/** @@server_id of `n` fresh connections, one after another (failed ones are null). */
export async function serverIds(login: ServerLogin, n: number): Promise<(number | null)[]> {
    const ids: (number | null)[] = [];
    for (let i = 0; i < n; i++) ids.push(await serverIdOnce(login));
    return ids;
}

/**
 * Probes fresh connections until `streak` answers in a row satisfy `ok`, or `timeoutMs` passes.
 * Returns how long that took (up to the first answer of the streak) and every answer seen.
 */
export async function settle(login: ServerLogin, ok: (id: number | null) => boolean, streak: number, timeoutMs: number)
    : Promise<{ settled: boolean; afterMs: number; seen: (number | null)[] }> {
    const started = Date.now();
    const seen: (number | null)[] = [];
    let run = 0;
    let runStartedAt = started;
    while (run < streak && Date.now() - started < timeoutMs) {
        const at = Date.now();
        const id = await serverIdOnce(login);
        seen.push(id);
        if (ok(id)) {
            if (run === 0) runStartedAt = at;
            run++;
        } else {
            run = 0;
        }
    }
    return { settled: run >= streak, afterMs: runStartedAt - started, seen };
}
