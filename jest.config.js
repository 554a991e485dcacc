/** Three suites: unit (mocks, no Docker), integration (providers on live servers), live (index.ts on Docker). */
const base = {
    preset: "ts-jest",
    testEnvironment: "node",
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", diagnostics: { warnOnly: false } }] },
};
module.exports = {
    projects: [
        { ...base, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
        { ...base, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"] },
        { ...base, displayName: "live", testMatch: ["<rootDir>/test/live/**/*.test.ts"] },
    ],
};
