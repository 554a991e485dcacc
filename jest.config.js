/** Three suites: unit (mocks, no Docker), integration (providers on live servers), live (index.ts on Docker). */
const os = require("node:os");
const path = require("node:path");

// Where skipped Docker suites are noted (test/support/docker.ts) for the skip reporter; set here, in
// jest's main process, so that every test worker inherits it.
process.env.LAB_SKIP_FILE ??= path.join(os.tmpdir(), `mysql-replicas-skipped-${process.pid}.txt`);

// ts-jest transpiles each file on its own (tsconfig's isolatedModules) rather than type-checking it in
// every worker again: `npm test` type-checks the whole project once first (`npm run build`).
const base = {
    preset: "ts-jest",
    testEnvironment: "node",
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] },
};
module.exports = {
    // The program's unit tests load a fresh copy of the Pulumi SDK per run, and each copy keeps memory
    // that is never given back (about 150 MB a run): a worker past 1 GB is replaced after its file.
    // The Docker suites run in band (test/matrix.js), where this does not apply.
    workerIdleMemoryLimit: "1GB",
    // Jest's default is one worker less than the cores: one worker on these 2-core machines, which
    // left a core idle while the unit suite runs alone (the Docker suites run in band).
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    reporters: ["default", "<rootDir>/test/support/skipReporter.js"],
    projects: [
        { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
        { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
        { ...base, displayName: "live", testMatch: ["<rootDir>/test/live/**/*.test.ts"] },
    ],
};
