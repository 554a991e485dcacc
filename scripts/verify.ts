/**
 * npm run verify [-- --outputs FILE | --stack NAME] [--timeout S] [--json]
 *
 * Writes a marker row on the source, waits (bounded) for every replica to have it, then compares
 * CHECKSUM TABLE of every base table of the app database between the source and each replica.
 * Exits 1 on any difference, missing marker or unreachable replica; 2 when it cannot run.
 */
import { COMMON_OPTIONS, EXIT, OptionSpec, numberOption, outputsOf, runMain, toolArgs } from "./lib/cli";
import { colourWanted } from "./lib/table";
import { verify, verifyText } from "./lib/verify";

const OPTIONS: Record<string, OptionSpec> = {
    ...COMMON_OPTIONS,
    timeout: { type: "number", placeholder: "S", help: "seconds to wait for the marker and the checksums (default 30)" },
    json: { type: "boolean", help: "print the report as JSON" },
};

async function main(): Promise<number> {
    const opts = toolArgs("usage: npm run verify -- [options]", "Checks that every replica has the source's data: a marker row, then table checksums.", OPTIONS);
    if (!opts) return EXIT.ok;
    const timeout = numberOption(opts, "timeout", 30, 1, 3600);
    const outputs = outputsOf(opts);
    const report = await verify(outputs, timeout);
    process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + "\n" : verifyText(report, outputs, colourWanted()));
    return report.ok ? EXIT.ok : EXIT.problem;
}

runMain("verify", main);
