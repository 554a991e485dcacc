/**
 * Issue 17, accounts that converge and a source that may be dead: on a 1+1 lab, every kind of account
 * drift made as root on the source (a privilege revoked, one added, a password changed, a user dropped,
 * the database dropped) shows in a refresh, is planned by preview as an update or a create of that
 * account alone, is restored exactly by up, and a second up changes nothing. With the source paused,
 * refresh, preview and up each finish within a bound. Changing sourceIndex and replicaCount in one up
 * adds the new server as a replica first, then moves the source to it.
 */
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { describeWithDocker, docker } from "../support/docker";
import { PlannedStep, lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, replicaStatus, rows, waitFor, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-accounts");
const BASE_PORT = lanePort(25000);
const PREFIX = `mysql-replicas-${STACK}`;
/** What refresh, preview and up may take with the source paused. */
const DEAD_SOURCE_BOUND_MS = 60_000;

describeWithDocker("live: account drift repaired on every flavor, no stall on a dead source (issue 17)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, readEndpoint: false });
    const replPassword = `Repl${rootPassword.slice(4)}`;
    const stack = liveStack({ stack: STACK, config: {
        ...config, replicaCount: 1, replicationPassword: { value: replPassword, secret: true },
    } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword });
    let outputs: Record<string, any> = {};
    let app: ServerLogin;
    let readerPassword = "";
    let source = 0;

    useLiveStack(stack, async (first) => {
        outputs = first;
        app = parseMysqlUrl(outputs.appConnectionString);
        readerPassword = parseMysqlUrl(outputs.readonlyConnectionStrings[0]).password;
        await withConn(app, (c) => rows(c, "CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL)"));
        await withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('first')"));
    });

    const changed = (steps: readonly PlannedStep[]) => steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();
    /** The privileges SHOW GRANTS lists for a user on the source, one string per line. */
    const grants = (user: string) => withConn(root(source), async (c) => (await rows(c, `SHOW GRANTS FOR '${user}'@'%'`)).map((r) => String(Object.values(r)[0])));
    const drift = (sql: string) => withConn(root(source), (c) => rows(c, sql));
    /** Each step of an up: the refresh finds the drift, preview plans it, up repairs it, a second up does nothing. */
    async function expectRepaired(expected: { refresh: string[]; plan: string[] }): Promise<void> {
        await stack.refresh();
        expect(changed(stack.lastSteps)).toEqual(expected.refresh);
        expect(changed(await stack.preview())).toEqual(expected.plan);
        await stack.up();
        expect(changed(stack.lastSteps)).toEqual(expected.plan);
        await stack.up();
        expect(changed(stack.lastRefreshSteps)).toEqual([]);
        expect(changed(stack.lastSteps)).toEqual([]);
    }

    test("a privilege revoked, a privilege added and a password changed: refresh sees each, up restores exactly what is declared", async () => {
        const before = { app: await grants("app"), reader: await grants("reader"), repl: await grants("repl") };
        await drift("REVOKE ALL PRIVILEGES ON app.* FROM 'app'@'%'");
        await drift("GRANT INSERT, DELETE ON app.* TO 'reader'@'%'");
        await drift("GRANT SELECT, PROCESS ON *.* TO 'reader'@'%'");
        await drift("ALTER USER 'repl'@'%' IDENTIFIED BY 'Changed-out-of-band-1'");
        await expect(withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('locked out')"))).rejects.toMatchObject({ code: expect.stringMatching(/^ER_(DB|TABLE)ACCESS_DENIED_ERROR$/) });

        const updates = ["update lab-accounts-app-grant", "update lab-accounts-readonly-grant", "update lab-accounts-replication"];
        await expectRepaired({ refresh: updates, plan: updates });

        expect({ app: await grants("app"), reader: await grants("reader"), repl: await grants("repl") }).toEqual(before);
        await withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('back')"));
        await withConn({ host: "127.0.0.1", port: BASE_PORT + source, user: "repl", password: replPassword }, (c) => rows(c, "SELECT 1"));
        // Written on the source only, and replicated: the replica holds the same accounts.
        expect(await withConn(root(1), async (c) => (await rows(c, "SHOW GRANTS FOR 'app'@'%'")).map((r) => String(Object.values(r)[0])))).toEqual(before.app);
    });

    test("a user dropped and the database dropped: refresh sees them gone, preview creates them (nothing replaced), up brings them back", async () => {
        await drift("DROP USER 'reader'@'%'");
        await drift("DROP DATABASE app");
        await expectRepaired({
            refresh: ["delete lab-accounts-db", "delete lab-accounts-readonly", "delete lab-accounts-readonly-grant"],
            plan: ["create lab-accounts-db", "create lab-accounts-readonly", "create lab-accounts-readonly-grant"],
        });
        const reader: ServerLogin = { host: "127.0.0.1", port: BASE_PORT + 1, user: "reader", password: readerPassword, database: "app" };
        await withConn(app, (c) => rows(c, "CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL)"));
        await withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('again')"));
        await waitFor("the replica to serve the new row to the reader", 10_000, async () => {
            const got = await withConn(reader, (c) => rows(c, "SELECT note FROM notes")).catch(() => []);
            return got.length === 1 ? true : undefined;
        }, 200);
    });

    test(`with the source paused, refresh, preview and up each finish within ${DEAD_SOURCE_BOUND_MS / 1000} s`, async () => {
        const paused = docker.getContainer(`${PREFIX}-server-${source}`);
        await paused.pause();
        try {
            for (const [what, run] of [["refresh", () => stack.refresh()], ["preview", () => stack.preview()], ["up", () => stack.up()]] as const) {
                const started = Date.now();
                // up may fail (the source's role cannot be checked); it must do so in time, and say why.
                const error = await (run as () => Promise<unknown>)().then(() => undefined, (e: Error) => e);
                const ms = Date.now() - started;
                process.stderr.write(`paused source: ${what} took ${ms} ms${error ? ` and failed: ${error.message.split("\n")[0]}` : ""}\n`);
                expect({ what, withinBound: ms < DEAD_SOURCE_BOUND_MS }).toEqual({ what, withinBound: true });
                if (what !== "up") expect({ what, error: error?.message }).toEqual({ what, error: undefined });
            }
            // Nothing was taken for gone: the accounts are still in the state.
            const names = (await stack.resources()).map((r) => r.urn.split("::").pop());
            expect(names).toEqual(expect.arrayContaining(["lab-accounts-db", "lab-accounts-app", "lab-accounts-app-grant"]));
        } finally {
            await paused.unpause();
        }
        await stack.up();
        await stack.up();
        expect(changed(stack.lastSteps)).toEqual([]);
        await withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('after the pause')"));
    });

    test("sourceIndex and replicaCount in one up: the new server joins as a replica first, then becomes the source", async () => {
        outputs = await stack.up({ replicaCount: 2, sourceIndex: 2 });
        source = 2;
        expect(outputs.roles).toEqual(["replica", "replica", "source"]);
        // The accounts moved with the source as updates of where they are reached: none created, replaced or deleted.
        const accountSteps = stack.lastSteps.filter((s) => s.name.startsWith("lab-accounts-")).map((s) => `${s.op} ${s.name}`).sort();
        expect(accountSteps).toEqual(["db", "replication", "replication-grant", "app", "app-grant", "readonly", "readonly-grant"]
            .map((n) => `update lab-accounts-${n}`).sort());
        expect(outputs.lastTopologyChange).toMatch(/added server 2 .* as a replica of server 0 .*then switched the source from server 0 .* to server 2/);
        app = parseMysqlUrl(outputs.appConnectionString);
        await withConn(app, (c) => rows(c, "INSERT INTO notes (note) VALUES ('on the new source')"));
        const count = async (i: number) => Number((await withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.notes")))[0].n);
        const onSource = await count(2);
        for (const i of [0, 1]) {
            await waitFor(`server ${i} to replicate from server 2 and hold its ${onSource} rows`, 30_000, async () => {
                const st = await withConn(root(i), replicaStatus);
                if (st?.sourceHost !== `${PREFIX}-server-2` || st.ioRunning !== "Yes" || st.sqlRunning !== "Yes") return undefined;
                return (await count(i)) === onSource ? true : undefined;
            }, 250);
        }
        // The accounts followed the source without being recreated.
        await stack.up();
        expect(changed(stack.lastSteps)).toEqual([]);
    });
});
