/**
 * Load through the demo app: `concurrency` clients each sending GET requests one after another (a new
 * connection each, no keep-alive) for a time or a number of requests, to 127.0.0.1 only. Measures
 * requests/s, latency percentiles, errors by status, and which servers answered.
 */
import * as http from "node:http";
import { UsageError } from "./outputs";
import { percentile } from "./stats";

export const HTTP_DEFAULTS = { url: "http://127.0.0.1:18080", path: "/information?fresh=1", durationS: 10, concurrency: 4 } as const;
export const HTTP_LIMITS = { durationS: 120, concurrency: 64, requests: 100_000 } as const;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

export interface HttpBenchOptions {
    readonly url: string;
    readonly path: string;
    readonly durationS: number;
    readonly concurrency: number;
    /** Stop after this many requests (all clients together), if set. */
    readonly requests?: number;
}

/** The target URL, refused unless it is loopback (the lab's published port). */
export function benchUrl(o: Pick<HttpBenchOptions, "url" | "path">): URL {
    let u: URL;
    try {
        u = new URL(o.path, o.url);
    } catch {
        throw new UsageError(`--url ${JSON.stringify(o.url)} is not a URL; expected e.g. ${HTTP_DEFAULTS.url}`);
    }
    if (u.protocol !== "http:" || !LOOPBACK.has(u.hostname)) {
        throw new UsageError(`--url ${JSON.stringify(o.url)} is not allowed; expected http:// on 127.0.0.1, localhost or [::1] (the lab's published port)`);
    }
    return u;
}

export interface Sample {
    readonly ms: number;
    readonly status: number;
    /** servedBy.name of the reply, when it had one. */
    readonly server?: string;
}

export interface HttpBenchResult {
    readonly seconds: number;
    readonly requests: number;
    readonly perSecond: number;
    readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
    /** Count per non-200 status ("0" for a connection that failed). */
    readonly errors: Record<string, number>;
    /** Answers per server, and their share in %. */
    readonly servers: { name: string; count: number; percent: number }[];
}

/** The summary of a run's samples. Pure. */
export function summariseHttp(samples: readonly Sample[], seconds: number): HttpBenchResult {
    const ms = samples.map((s) => s.ms);
    const errors: Record<string, number> = {};
    const servers = new Map<string, number>();
    for (const s of samples) {
        if (s.status !== 200) errors[String(s.status)] = (errors[String(s.status)] ?? 0) + 1;
        if (s.server) servers.set(s.server, (servers.get(s.server) ?? 0) + 1);
    }
    const answered = [...servers.values()].reduce((a, b) => a + b, 0);
    return {
        seconds, requests: samples.length, perSecond: seconds > 0 ? samples.length / seconds : 0,
        latencyMs: { p50: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99), max: ms.length ? Math.max(...ms) : NaN },
        errors,
        servers: [...servers].sort(([a], [b]) => a.localeCompare(b))
            .map(([name, count]) => ({ name, count, percent: Math.round((1000 * count) / Math.max(1, answered)) / 10 })),
    };
}

function once(url: URL): Promise<Sample> {
    const started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    return new Promise((resolve) => {
        const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => {
                let server: string | undefined;
                try {
                    server = JSON.parse(body)?.servedBy?.name;
                } catch {
                    // not JSON: counted by status alone
                }
                resolve({ ms: ms(), status: res.statusCode ?? 0, server });
            });
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve({ ms: ms(), status: 0 }));
    });
}

export async function runHttpBench(o: HttpBenchOptions, stop = { stopped: false }): Promise<HttpBenchResult> {
    const url = benchUrl(o);
    const samples: Sample[] = [];
    const started = Date.now();
    const until = started + o.durationS * 1000;
    const more = () => !stop.stopped && Date.now() < until && (o.requests === undefined || samples.length < o.requests);
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
        while (more()) samples.push(await once(url));
    }));
    return summariseHttp(o.requests === undefined ? samples : samples.slice(0, o.requests), (Date.now() - started) / 1000);
}

export function httpBenchText(r: HttpBenchResult, url: string): string {
    const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
    const errors = Object.entries(r.errors).map(([s, n]) => `${s === "0" ? "no answer" : `HTTP ${s}`}: ${n}`).join(", ") || "none";
    return [
        `GET ${url}: ${r.requests} requests in ${r.seconds.toFixed(1)} s = ${r.perSecond.toFixed(1)} requests/s`,
        `latency ms: p50 ${f(r.latencyMs.p50)}  p90 ${f(r.latencyMs.p90)}  p99 ${f(r.latencyMs.p99)}  max ${f(r.latencyMs.max)}`,
        `errors: ${errors}`,
        "answered by:",
        ...r.servers.map((s) => `  ${s.name.padEnd(40)} ${String(s.count).padStart(7)}  ${s.percent.toFixed(1)}%`),
        "",
    ].join("\n");
}
