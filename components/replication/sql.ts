/**
 * Pure SQL builders, by subject (components/replication/sql/): flavor + version + options in, statements
 * out, every dialect unit-tested. The providers import the subject they need; this collects them all
 * for the tools and the tests.
 */
export * from "./sql/vocabulary";
export * from "./sql/replication";
export * from "./sql/status";
export * from "./sql/roles";
export * from "./sql/gtids";
export * from "./sql/accounts";
export * from "./sql/seeding";
export * from "./sql/initialise";
