/**
 * Issue 18, the demo app in a real lab (1+2, read endpoint, app): its page and state name every server
 * with its configured and observed role; reads with ?fresh=1 spread over both replicas; a stopped
 * replica drops out of the answers and comes back; a write read back with ?wait=1 is read on a replica
 * that applied its GTID; bad input is refused with nothing written; a planned switchover under app
 * traffic leaves the app container in place, writes work again within 2 s of the up, and no
 * acknowledged write is lost. A real Chromium watches the page through a switchover (screenshots kept).
 * A scale-up and back does not replace the app either: it follows the desired topology table.
 */
import type { AddReply, InformationReply, LabState } from "../../app/types";
import { describeWithDocker, docker } from "../support/docker";
import { TEST_SERVER } from "../support/images";
import { lanePort, laneStack, liveStack, testLabConfig, useLiveStack } from "../support/harness/liveStack";
import { ServerLogin, rows, sleep, waitFor, withConn } from "../support/mysql";
import { type BrowserSession, openBrowser } from "../support/browser";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-app");
const BASE_PORT = lanePort(25100);
const APP_PORT = lanePort(25180);
const PREFIX = `mysql-replicas-${STACK}`;
const NAMES = [0, 1, 2].map((i) => `${PREFIX}-server-${i}`);
/** How soon after a switchover's up the app's writes must work again (issue 18). */
const WRITES_BACK_MS = 2_000;

describeWithDocker("live: the demo app and its page (issue 18)", () => {
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, demoAppPort: APP_PORT });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 2 } });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword });
    let url = "";

    useLiveStack(stack, async (outputs) => {
        url = outputs.demoAppUrl;
    });

    const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
        const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
        return { status: res.status, body: (await res.json()) as T };
    };
    const post = async <T>(path: string, body: unknown): Promise<{ status: number; body: T }> => {
        const res = await fetch(`${url}${path}`, {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
        });
        return { status: res.status, body: (await res.json()) as T };
    };
    const state = async () => (await get<LabState>("/api/state")).body;
    const appContainerId = async () => (await docker.getContainer(`${PREFIX}-app`).inspect()).Id;
    /** The servers that answered `n` fresh reads. */
    async function answering(n: number): Promise<Set<string>> {
        const seen = new Set<string>();
        for (let k = 0; k < n; k++) {
            const r = await get<InformationReply>("/information?fresh=1");
            expect(r.status).toBe(200);
            seen.add(r.body.servedBy.name);
        }
        return seen;
    }
    /** Waits until the app's state shows `source` as the source, every server reachable and in its role. */
    async function settledOn(source: number): Promise<LabState> {
        return waitFor(`the app to see server ${source} as the source`, 30_000, async () => {
            const s = await state();
            const ok = s.source === NAMES[source] && s.writesTo === NAMES[source] && s.servers.every((x) =>
                x.reachable && x.observedRole === (x.index === source ? "source" : "replica") && x.configuredRole === x.observedRole);
            return ok ? s : undefined;
        }, 250);
    }

    test("the page is served and the state names every server with its configured and observed role", async () => {
        const page = await fetch(url);
        expect(page.status).toBe(200);
        expect(page.headers.get("content-type")).toMatch(/text\/html/);
        expect(await page.text()).toContain("page.js");
        const s = await settledOn(0);
        expect(s.flavor).toBe(TEST_SERVER.flavor);
        expect(s.servers.map((x) => x.name)).toEqual(NAMES);
        for (const x of s.servers.filter((x) => x.index > 0)) {
            expect({ name: x.name, io: x.replication?.ioRunning, sql: x.replication?.sqlRunning, source: x.replication?.sourceHost, readOnly: x.readOnly })
                .toEqual({ name: x.name, io: true, sql: true, source: NAMES[0], readOnly: true });
        }
        // HAProxy checks each second; a check that timed out on a loaded machine shows as "UP 1/2" until the next.
        const readers = await waitFor("the app to see both replicas UP behind the read endpoint", 10_000, async () => {
            const b = (await state()).readEndpoint.backends.filter((x) => !x.backup).map((x) => [x.name, x.status]).sort();
            return b.every(([, status]) => status === "UP") ? b : undefined;
        }, 250).catch(async () => (await state()).readEndpoint.backends.filter((x) => !x.backup).map((x) => [x.name, x.status]).sort());
        expect(readers).toEqual([[NAMES[1], "UP"], [NAMES[2], "UP"]]);
        // Never root: the app's accounts are its own, with their own privileges.
        const grants = await withConn(root(0), (c) => rows(c, "SHOW GRANTS FOR 'demo_app'@'%'"));
        expect(grants.map((g) => String(Object.values(g)[0])).join("\n")).toMatch(/GRANT SELECT, INSERT ON `app`\.\* TO/);
    });

    test("a write is read back on a replica that applied its GTID; bad input is refused and nothing is written", async () => {
        const added = await post<AddReply>("/add-information?wait=1", { name: "Ada", address: "12 Analytical Row" });
        expect(added.status).toBe(201);
        expect(added.body.source).toBe(NAMES[0]);
        expect(added.body.gtid).toMatch(TEST_SERVER.flavor === "mysql" ? /^[0-9a-f-]{36}:\d+$/ : /^\d+-\d+-\d+$/);
        expect(added.body.readBack?.row).toMatchObject({ id: added.body.id, name: "Ada", address: "12 Analytical Row" });
        expect([NAMES[1], NAMES[2]]).toContain(added.body.readBack?.servedBy.name);
        // The replica that answered has the transaction itself.
        const replica = NAMES.indexOf(added.body.readBack!.servedBy.name);
        const applied = TEST_SERVER.flavor === "mysql"
            ? "SELECT GTID_SUBSET(?, @@GLOBAL.gtid_executed) AS ok"
            : "SELECT FIND_IN_SET(?, @@GLOBAL.gtid_current_pos) > 0 AS ok";
        expect(Number((await withConn(root(replica), (c) => rows(c, applied, [added.body.gtid])))[0].ok)).toBe(1);

        const count = async () => Number((await withConn(root(0), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.information")))[0].n);
        const before = await count();
        const bad = await post<{ error: string }>("/add-information", { name: "", address: "x" });
        expect(bad.status).toBe(400);
        expect(bad.body.error).toMatch(/name/);
        const extra = await post<{ error: string }>("/add-information", { name: "a", address: "b", admin: true });
        expect(extra.status).toBe(400);
        expect(extra.body.error).toMatch(/admin/);
        expect(await count()).toBe(before);
    });

    test("fresh reads spread over both replicas; a stopped replica drops out of the answers and comes back", async () => {
        expect(await answering(12)).toEqual(new Set([NAMES[1], NAMES[2]]));
        const tally = (await state()).answered;
        expect(tally[NAMES[1]]).toBeGreaterThan(0);
        expect(tally[NAMES[2]]).toBeGreaterThan(0);

        await docker.getContainer(NAMES[2]).stop({ t: 5 });
        try {
            await waitFor("reads to come from server 1 alone", 20_000, async () => {
                const seen = await answering(8).catch(() => undefined);
                return seen && seen.size === 1 && seen.has(NAMES[1]) ? true : undefined;
            }, 500);
            const s = await waitFor("the app to see server 2 stopped", 10_000, async () => {
                const x = await state();
                // HAProxy says DOWN, or MAINT once Docker's DNS no longer knows the stopped container's name.
                const status = x.readEndpoint.backends.find((b) => b.name === NAMES[2])?.status ?? "UP";
                return !x.servers[2].reachable && !status.startsWith("UP") ? x : undefined;
            }, 250);
            expect(s.servers[2].error).toBeTruthy();
        } finally {
            await docker.getContainer(NAMES[2]).start();
        }
        await waitFor("server 2 to answer reads again", 120_000, async () => ((await answering(8).catch(() => new Set())).has(NAMES[2]) ? true : undefined), 1000);
        await settledOn(0);
    });

    test("a switchover under app traffic: the app stays, writes are back within 2 s, no acknowledged write lost", async () => {
        const appBefore = await appContainerId();
        const acked: number[] = [];
        const failures: number[] = [];
        let running = true;
        const traffic = (async () => {
            for (let n = 0; running; n++) {
                const r = await post<AddReply>("/add-information", { name: `w${n}`, address: "switchover" }).catch(() => undefined);
                if (r?.status === 201) acked.push(r.body.id);
                else failures.push(Date.now());
                await sleep(20);
            }
        })();
        await stack.up({ sourceIndex: 1 });
        const upDone = Date.now();
        await sleep(WRITES_BACK_MS + 1000);
        running = false;
        await traffic;

        expect(await appContainerId()).toBe(appBefore);
        const lateFailures = failures.filter((t) => t > upDone + WRITES_BACK_MS).length;
        expect({ lateFailures, ackedAfterUp: acked.length > 0 }).toEqual({ lateFailures: 0, ackedAfterUp: true });
        const s = await settledOn(1);
        expect(s.writesTo).toBe(NAMES[1]);
        const held = await withConn(root(1), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.information WHERE id IN (?)", [acked]));
        expect(Number(held[0].n)).toBe(acked.length);
    });

    test("in Chromium the page shows every server with its role, and the new source within seconds of a switchover", async () => {
        const browser: BrowserSession = await openBrowser();
        try {
            const page = await browser.open(url);
            const roles = () => page.evaluate(() => Array.from(document.querySelectorAll("[data-server]"))
                .filter((e) => e.tagName === "TR")
                .map((e) => [e.getAttribute("data-server"), e.getAttribute("data-role-observed"), e.getAttribute("data-role-configured")]));
            await waitFor("the page to show the lab", 15_000, async () => {
                const r = await roles();
                return r.length === 3 && r.every(([name, observed, configured]) =>
                    observed === (name === NAMES[1] ? "source" : "replica") && configured === observed) ? true : undefined;
            }, 250);
            await browser.screenshot(page, `demo-page-${TEST_SERVER.flavor}-before-switchover`);

            await stack.up({ sourceIndex: 0 });
            const upDone = Date.now();
            await waitFor("the page to show server 0 as the source, as configured", 5_000, async () => {
                const r = await roles();
                return r.length === 3 && r.every(([name, observed, configured]) =>
                    observed === (name === NAMES[0] ? "source" : "replica") && configured === observed) ? true : undefined;
            }, 100);
            // The new proxy's view: the new source is the backup, the old one a reader.
            await waitFor("the page to show the new read endpoint's backends", 10_000, async () => {
                const backends = await page.$$eval("#backends tbody tr", (trs) => trs.map((tr) => tr.textContent ?? ""));
                return backends.some((b) => b.includes(`${NAMES[0]} (backup)`)) && backends.some((b) => b.includes(NAMES[1]) && !b.includes("backup"))
                    ? true : undefined;
            }, 250);
            expect(Date.now() - upDone).toBeLessThan(5_000);

            // The page's form writes on the source and says where the row was read back.
            await page.fill("input[name=name]", "Grace");
            await page.fill("input[name=address]", "1 Compiler Lane");
            await page.click("button[type=submit]");
            await page.waitForFunction(() => /Read back on .*server-[12] after \d+ ms/.test(document.getElementById("result")?.textContent ?? ""), undefined, { timeout: 10_000 });
            expect(await page.textContent("#result")).toContain(`on ${NAMES[0]}, GTID`);
            await browser.screenshot(page, `demo-page-${TEST_SERVER.flavor}-after-switchover`);
        } finally {
            await browser.close();
        }
    });

    test("a scale-up and back leaves the app in place; its state lists the added server, then drops it", async () => {
        const appBefore = await appContainerId();
        const added = `${PREFIX}-server-3`;
        await stack.up({ replicaCount: 3 });
        expect(await appContainerId()).toBe(appBefore);
        const grown = await waitFor("the app to poll server 3 as a replica of server 0", 10_000, async () => {
            const s = await state();
            const x = s.servers.find((v) => v.name === added);
            return x?.reachable && x.observedRole === "replica" && x.configuredRole === "replica" && x.replication?.sourceHost === NAMES[0] ? s : undefined;
        }, 250);
        expect(grown.servers.map((x) => x.name)).toEqual([...NAMES, added]);

        await stack.up({ replicaCount: 2 });
        expect(await appContainerId()).toBe(appBefore);
        const shrunk = await waitFor("the app to stop polling server 3", 10_000, async () => {
            const s = await state();
            return s.servers.length === 3 ? s : undefined;
        }, 250);
        expect(shrunk.servers.map((x) => x.name)).toEqual(NAMES);
    });
});
