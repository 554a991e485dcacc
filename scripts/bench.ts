/**
 * npm run bench [-- --outputs FILE | --stack NAME] [--duration S] [--writers N] [--readers M] [--rate OPS]
 *                  [--reconnect-every Q] [--out DIR]
 *
 * A bounded load run against the lab's loopback ports: writers on the source, readers through the
 * read endpoint, replica lag sampled every 250 ms. Prints throughput, the spread of reads over the
 * servers and lag percentiles; writes lag.csv, throughput.csv, summary.json and lag.svg to --out.
 * See scripts/lib/bench.ts for what is measured and how.
 */
import { SingleBar } from "cli-progress";
import { BenchOptions, DEFAULT_OPTIONS, MAX_DURATION_S, benchTargets, benchText, runBench } from "./lib/bench";
import { COMMON_OPTIONS, EXIT, OptionSpec, numberOption, outputsOf, runMain, toolArgs } from "./lib/cli";

const OPTIONS: Record<string, OptionSpec> = {
    ...COMMON_OPTIONS,
    duration: { type: "number", placeholder: "S", help: `seconds to run (default ${DEFAULT_OPTIONS.durationS}, at most ${MAX_DURATION_S})` },
    writers: { type: "number", placeholder: "N", help: `writer connections on the source (default ${DEFAULT_OPTIONS.writers})` },
    readers: { type: "number", placeholder: "M", help: `reader connections through the read endpoint (default ${DEFAULT_OPTIONS.readers})` },
    rate: { type: "number", placeholder: "OPS", help: "cap on writes + reads per second, all connections together (default none)" },
    "reconnect-every": {
        type: "number", placeholder: "Q",
        help: `reads per reader connection before it reconnects through the endpoint (default ${DEFAULT_OPTIONS.reconnectEvery}; 0 never)`,
    },
    out: { type: "string", placeholder: "DIR", help: `where the CSV, JSON and SVG files go (default ${DEFAULT_OPTIONS.outDir})` },
    "no-progress": { type: "boolean", help: "no progress output" },
};

async function main(): Promise<number> {
    const opts = toolArgs("usage: npm run bench -- [options]", "Load on the lab (127.0.0.1 only), with read spread and replica lag.", OPTIONS);
    if (!opts) return EXIT.ok;
    const tty = Boolean(process.stderr.isTTY);
    const options: BenchOptions = {
        ...DEFAULT_OPTIONS,
        durationS: numberOption(opts, "duration", DEFAULT_OPTIONS.durationS, 1, MAX_DURATION_S),
        writers: numberOption(opts, "writers", DEFAULT_OPTIONS.writers, 0, 256, true),
        readers: numberOption(opts, "readers", DEFAULT_OPTIONS.readers, 0, 256, true),
        rate: opts.rate === undefined ? undefined : numberOption(opts, "rate", 0, 1, 1_000_000),
        reconnectEvery: numberOption(opts, "reconnect-every", DEFAULT_OPTIONS.reconnectEvery, 0, 1_000_000, true),
        outDir: (opts.out as string | undefined) ?? DEFAULT_OPTIONS.outDir,
        progress: opts["no-progress"] ? "none" : tty ? "bar" : "lines",
    };
    const outputs = outputsOf(opts);
    // Loopback only, and everything the run needs, checked before it announces itself.
    benchTargets(outputs, options.readers);

    // Ctrl-C ends the run early but still writes the results; a second one exits at once.
    const signal = { stopped: false };
    const onSigint = () => {
        if (signal.stopped) process.exit(130);
        signal.stopped = true;
        process.stderr.write("\nbench: stopping (Ctrl-C again to quit at once)\n");
    };
    process.on("SIGINT", onSigint);

    let bar: SingleBar | undefined;
    let lastLine = -1;
    const onProgress = options.progress === "none" ? undefined : (p: { elapsedS: number; writesPerS: number; readsPerS: number; maxLagMs: number; errors: number }) => {
        const payload = { wps: p.writesPerS, rps: p.readsPerS, lag: Math.round(p.maxLagMs), errors: p.errors };
        if (options.progress === "bar") {
            if (!bar) {
                bar = new SingleBar({
                    format: "bench [{bar}] {value}/{total} s | writes {wps}/s | reads {rps}/s | lag {lag} ms | errors {errors}",
                    stream: process.stderr, hideCursor: true, barsize: 30,
                });
                bar.start(options.durationS, 0, payload);
            }
            bar.update(Math.floor(p.elapsedS), payload);
        } else {
            const step = Math.floor(p.elapsedS / 5);
            if (step > lastLine && p.elapsedS >= 1) {
                lastLine = step;
                process.stderr.write(`bench ${Math.floor(p.elapsedS)}/${options.durationS} s  writes ${payload.wps}/s  ` +
                    `reads ${payload.rps}/s  lag ${payload.lag} ms  errors ${payload.errors}\n`);
            }
        }
    };
    process.stderr.write(`bench: ${options.durationS} s, ${options.writers} writers, ${options.readers} readers` +
        `${options.rate ? `, at most ${options.rate} ops/s` : ""}\n`);
    try {
        const result = await runBench(outputs, options, onProgress, signal);
        if (bar) {
            bar.update(options.durationS);
            bar.stop();
        }
        process.stdout.write(benchText(result));
        return EXIT.ok;
    } finally {
        bar?.stop();
        process.off("SIGINT", onSigint);
    }
}

runMain("bench", main);
