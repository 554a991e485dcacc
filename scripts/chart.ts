/**
 * `npx ts-node --transpile-only scripts/chart.ts bench-out/lag.csv lag.svg`: re-renders the bench's
 * lag chart from its lag CSV (scripts/lib/chart.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { lagPointsFromCsv, writeLagSvg } from "./lib/chart";

const [csvFile, svgFile] = process.argv.slice(2);
if (!csvFile || !svgFile) {
    process.stderr.write("usage: ts-node scripts/chart.ts LAG.csv OUT.svg\n");
    process.exit(2);
}
writeLagSvg(svgFile, lagPointsFromCsv(fs.readFileSync(csvFile, "utf8")), `Replica lag (${path.basename(csvFile)})`)
    .then((f) => process.stdout.write(`wrote ${f}\n`))
    .catch((err) => {
        process.stderr.write(`chart: ${(err as Error).message}\n`);
        process.exitCode = 1;
    });
