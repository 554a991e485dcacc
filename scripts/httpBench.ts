/**
 * npm run bench:http [-- --url http://127.0.0.1:18080] [--path /information?fresh=1] [--duration S]
 *                       [--concurrency N] [--requests N]
 *
 * Load through the demo app (127.0.0.1 only), like the old lab's ApacheBench run: requests/s, latency
 * percentiles, errors and the spread of answering servers. See scripts/lib/httpBench.ts.
 */
import { EXIT, type OptionSpec, numberOption, runMain, toolArgs } from "./lib/cli";
import { HTTP_DEFAULTS, HTTP_LIMITS, benchUrl, httpBenchText, runHttpBench } from "./lib/httpBench";

const OPTIONS: Record<string, OptionSpec> = {
    url: { type: "string", placeholder: "URL", help: `the app (default ${HTTP_DEFAULTS.url}, the demoAppUrl output); loopback only` },
    path: { type: "string", placeholder: "PATH", help: `what to GET (default ${HTTP_DEFAULTS.path})` },
    duration: { type: "number", placeholder: "S", help: `seconds to run (default ${HTTP_DEFAULTS.durationS}, at most ${HTTP_LIMITS.durationS})` },
    concurrency: { type: "number", placeholder: "N", help: `clients at once (default ${HTTP_DEFAULTS.concurrency}, at most ${HTTP_LIMITS.concurrency})` },
    requests: { type: "number", placeholder: "N", help: `stop after N requests (default: none; at most ${HTTP_LIMITS.requests})` },
    help: { type: "boolean", help: "show this help" },
};

async function main(): Promise<number> {
    const opts = toolArgs("usage: npm run bench:http -- [options]", "Load through the demo app, and which servers answered.", OPTIONS);
    if (!opts) return EXIT.ok;
    const options = {
        url: (opts.url as string | undefined) ?? HTTP_DEFAULTS.url,
        path: (opts.path as string | undefined) ?? HTTP_DEFAULTS.path,
        durationS: numberOption(opts, "duration", HTTP_DEFAULTS.durationS, 1, HTTP_LIMITS.durationS),
        concurrency: numberOption(opts, "concurrency", HTTP_DEFAULTS.concurrency, 1, HTTP_LIMITS.concurrency, true),
        requests: opts.requests === undefined ? undefined : numberOption(opts, "requests", 1, 1, HTTP_LIMITS.requests, true),
    };
    const url = benchUrl(options).toString();
    process.stderr.write(`bench:http: ${options.concurrency} clients, ${options.durationS} s` +
        `${options.requests ? ` or ${options.requests} requests` : ""}, GET ${url}\n`);
    const stop = { stopped: false };
    process.once("SIGINT", () => (stop.stopped = true));
    process.stdout.write(httpBenchText(await runHttpBench(options, stop), url));
    return EXIT.ok;
}

runMain("bench:http", main);
