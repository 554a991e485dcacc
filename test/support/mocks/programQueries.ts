/**
 * Queries over a recorded program run that the program's unit tests share.
 */
import { ProgramRun, Registration, TYPES, ofType, runProgram } from "./program";

export const byUrn = (run: ProgramRun, urn: string) => run.registrations.find((r) => r.urn === urn);
export const named = (run: ProgramRun, type: string, name: string) => {
    const found = ofType(run, type).find((r) => r.name === name);
    if (!found) throw new Error(`no ${type} named ${name}`);
    return found;
};

/** The server containers (the read endpoint's proxy is a container too). */
export const serverContainers = (run: ProgramRun): Registration[] => ofType(run, TYPES.container).filter((c) => c.name.startsWith("lab-server-"));
/** The lab's own accounts and grants (not the demo app's), other than the proxy's health-check user. */
export const ofLabAccounts = (run: ProgramRun, type: string) => ofType(run, type).filter((r) => r.parent.includes("mysqllab:index:LabAccounts"));
export const labUsers = (run: ProgramRun, type: string) => ofLabAccounts(run, type).filter((u) => u.inputs.user !== "haproxy_check");

/** Runs the program with `config`; its error, if any, fails the test. */
export async function program(config: Record<string, string>,
    opts: { stack?: string; secrets?: Record<string, string>; extraState?: Record<string, Record<string, unknown>> } = {}) {
    const run = await runProgram({ config, ...opts });
    if (run.error) throw run.error;
    return run;
}
