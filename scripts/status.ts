/**
 * npm run status [-- --outputs FILE | --stack NAME] [--json] [--timeout S]
 *
 * One row per server: role, server id, reachable, read-only, replication threads, seconds behind,
 * executed GTIDs, last error. Exits 1 when any replica is not replicating, 2 when it cannot run.
 */
import { COMMON_OPTIONS, EXIT, OptionSpec, numberOption, outputsOf, runMain, toolArgs } from "./lib/cli";
import { collectStatus, notReplicating, statusSummary, statusTable } from "./lib/status";
import { colourWanted } from "./lib/table";

const OPTIONS: Record<string, OptionSpec> = {
    ...COMMON_OPTIONS,
    json: { type: "boolean", help: "print the rows as JSON instead of a table" },
    timeout: { type: "number", placeholder: "S", help: "seconds to wait for each server to answer (default 3)" },
};

async function main(): Promise<number> {
    const opts = toolArgs("usage: npm run status -- [options]", "Replication status of every server of the lab; exits 1 when a replica is not replicating.", OPTIONS);
    if (!opts) return EXIT.ok;
    const timeout = numberOption(opts, "timeout", 3, 1, 120);
    const outputs = outputsOf(opts);
    const rows = await collectStatus(outputs, timeout);
    if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    } else {
        process.stdout.write(statusTable(rows, colourWanted()));
        process.stdout.write(`\n${statusSummary(rows)}\n`);
    }
    return notReplicating(rows).length > 0 ? EXIT.problem : EXIT.ok;
}

runMain("status", main);
