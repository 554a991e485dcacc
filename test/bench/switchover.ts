/**
 * `npm run bench:switchover`: what a planned switchover costs the writes. On a 1+2 lab of the test
 * image, a writer inserts continuously as the app user (on an error it finds the writable server
 * again, as an application told of the move would) while the source moves back and forth
 * (sourceIndex 0 -> 1 -> 0 ...) BENCH_SWITCHES times (default 6). For each switchover: the write
 * unavailability (from the last acknowledged write on the old source to the first on the new one)
 * and the time of the whole `up`; then p50 and max, and the acknowledged writes missing from any
 * server afterwards (must be 0).
 *
 * Environment: BENCH_IMAGE (default: the test image), BENCH_SWITCHES (6), LIVE_VERBOSE=1.
 * Ports: 43400-43409 on 127.0.0.1. Everything it creates is labelled bench-switchover and removed.
 */
import { randomBytes } from "node:crypto";
import type { Connection } from "mysql2/promise";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { percentile } from "../../scripts/lib/stats";
import { forgetStack, liveStack, tearDownStack } from "../support/harness/liveStack";
import { TEST_IMAGE } from "../support/images";
import { ServerLogin, openConnection, rows, withConn } from "../support/mysql";
import { log } from "./common";

const IMAGE = process.env.BENCH_IMAGE || TEST_IMAGE;
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 6);
const BASE_PORT = 43400;
const SERVERS = [0, 1, 2];

async function main(): Promise<void> {
    const rootPassword = `Bench${randomBytes(8).toString("hex")}`;
    const stack = liveStack({
        stack: "bench-switchover",
        config: {
            image: IMAGE, flavor: "auto", pullImage: false, readEndpoint: false, basePort: BASE_PORT, readEndpointPort: BASE_PORT + 9,
            rootPassword: { value: rootPassword, secret: true }, replicaCount: 2, sourceIndex: 0,
        },
        log: process.env.LIVE_VERBOSE === "1" ? (l) => process.stderr.write(`${l}\n`) : undefined,
    });
    const root = (i: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + i, user: "root", password: rootPassword });
    const writable = async (): Promise<number | undefined> => {
        for (const i of SERVERS) {
            const r = await withConn(root(i), (c) => rows(c, "SELECT @@GLOBAL.read_only AS r")).catch(() => undefined);
            if (r && Number(r[0].r) === 0) return i;
        }
        return undefined;
    };

    await forgetStack(stack);
    try {
        log(`up: a 1+2 lab of ${IMAGE}`);
        const app = parseMysqlUrl((await stack.up()).appConnectionString);
        await withConn(app, (c) => rows(c, "CREATE TABLE bench_switch (n INT PRIMARY KEY)"));

        const acks: { n: number; at: number; server: number }[] = [];
        let running = true;
        const writer = (async () => {
            let server = 0;
            let conn: Connection | undefined;
            for (let n = 1; running; n++) {
                try {
                    conn ??= await openConnection({ ...app, port: BASE_PORT + server }, 2000);
                    await rows(conn, "INSERT INTO bench_switch (n) VALUES (?)", [n]);
                    acks.push({ n, at: Date.now(), server });
                } catch {
                    await conn?.end().catch(() => undefined);
                    conn = undefined;
                    server = (await writable()) ?? server;
                }
            }
            await conn?.end().catch(() => undefined);
        })();

        const switches: { from: number; to: number; upMs: number; gapMs: number }[] = [];
        let source = 0;
        await new Promise((r) => setTimeout(r, 1000));
        for (let k = 0; k < SWITCHES; k++) {
            const to = source === 0 ? 1 : 0;
            const started = Date.now();
            await stack.up({ sourceIndex: to });
            const upMs = Date.now() - started;
            await new Promise((r) => setTimeout(r, 1000));
            const firstNew = acks.find((a) => a.at >= started && a.server === to)?.at;
            const lastOld = [...acks].reverse().find((a) => a.server === source && a.at <= (firstNew ?? Infinity))?.at;
            if (firstNew === undefined || lastOld === undefined) throw new Error(`switchover ${source} -> ${to}: no write was acknowledged on both sides`);
            switches.push({ from: source, to, upMs, gapMs: firstNew - lastOld });
            log(`switchover ${source} -> ${to}: up ${(upMs / 1000).toFixed(1)} s, writes unavailable ${firstNew - lastOld} ms`);
            source = to;
        }
        running = false;
        await writer;

        const acked = acks.map((a) => a.n);
        let lost = 0;
        for (const i of SERVERS) {
            const [{ n }] = await withConn(root(i), (c) => rows(c, "SELECT COUNT(*) AS n FROM app.bench_switch"));
            const present = await withConn(root(i), async (c) => {
                let found = 0;
                for (let at = 0; at < acked.length; at += 5000) {
                    const [{ k }] = await rows(c, "SELECT COUNT(*) AS k FROM app.bench_switch WHERE n IN (?)", [acked.slice(at, at + 5000)]);
                    found += Number(k);
                }
                return found;
            });
            lost = Math.max(lost, acked.length - present);
            log(`server ${i}: ${n} rows, ${present} of ${acked.length} acknowledged`);
        }

        const gaps = switches.map((s) => s.gapMs);
        const ups = switches.map((s) => s.upMs);
        process.stdout.write(`\nswitchover benchmark: ${IMAGE}, 1+2 lab, ${SWITCHES} switchovers, one writer, engine ${stack.engine}\n` +
            `${"switchover".padEnd(12)}${"up (s)".padEnd(10)}writes unavailable (ms)\n` +
            switches.map((s) => `${`${s.from} -> ${s.to}`.padEnd(12)}${(s.upMs / 1000).toFixed(1).padEnd(10)}${s.gapMs}`).join("\n") +
            `\nwrite unavailability: p50 ${percentile(gaps, 50)} ms, max ${Math.max(...gaps)} ms (target: p50 under 1000 ms)` +
            `\nup: p50 ${(percentile(ups, 50) / 1000).toFixed(1)} s, max ${(Math.max(...ups) / 1000).toFixed(1)} s` +
            `\nacknowledged writes: ${acked.length}, lost: ${lost} (must be 0)\n`);
        if (lost !== 0) process.exitCode = 1;
    } finally {
        await tearDownStack(stack);
    }
}

main().catch((err) => {
    process.stderr.write(`bench:switchover: ${(err as Error).message}\n`);
    process.exitCode = 1;
});
