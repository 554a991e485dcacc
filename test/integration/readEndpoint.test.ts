/**
 * The read endpoint follows servers that come back at another address. On a 1+1 lab with the
 * HAProxy read endpoint (test/support/labs/dockerLab.ts, the program's configuration from
 * components/readEndpoint.ts): stop the replica, stop the source, start the replica, start the source.
 * Docker hands out the lowest free address on the lab network, so the two swap addresses; a proxy that
 * resolved names once then sends every read to the source (its "replica" address is now the source's).
 * The proxy must look names up again and send reads to the replica only.
 *
 * The suite asserts the swap really happened before it looks at the proxy, so it cannot pass without
 * exercising the bug. Where the lab's parallel start gave the replica the lower address (no natural
 * swap), a placeholder container on the lab network takes that address while the replica starts.
 *
 * Last, the servers keep no host cache: handshakes cut off from one address never get it blocked.
 *
 * Ports 23450-23452 on 127.0.0.1 (23450-23459 are this suite's).
 */
import * as net from "node:net";
import { PassThrough } from "node:stream";
import type { Connection } from "mysql2/promise";
import { PROXY_DNS } from "../../components/readEndpoint";
import { parseCsv } from "../../scripts/lib/csv";
import { close, open, query } from "../../scripts/lib/db";
import { DockerLab } from "../support/labs/dockerLab";
import { docker, ignoreMissing, startHealthy } from "../support/docker";
import { describeWithDocker } from "../support/docker";
import { PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";

const BASE_PORT = 23450;
/** How long the proxy may take to settle after a change (it checks and resolves every second). */
const SETTLE_MS = 15_000;
/** Reads in a row that must all reach the expected server, each on a fresh connection. */
const READS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ipv4ToInt(ip: string): number {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
    return parts.reduce((a, p) => a * 256 + p, 0);
}

function inSubnet(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(ipv4ToInt(base) / size) * size;
    const n = ipv4ToInt(ip);
    return n >= start && n < start + size;
}

/** The payload of an HTTP/1.1 chunked body. */
function dechunk(body: string): string {
    let out = "";
    let rest = body;
    for (;;) {
        const eol = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, eol), 16);
        if (!(size > 0)) return out;
        out += rest.slice(eol + 2, eol + 2 + size);
        rest = rest.slice(eol + 2 + size + 2);
    }
}

describeWithDocker("the read endpoint after lab servers come back at each other's addresses (1+1 lab)", () => {
    let lab: DockerLab | undefined;
    let subnet = "";
    /** Addresses on the lab network as the lab started. */
    let initial: { source: string; replica: string };

    const L = () => lab!;
    const source = () => L().source;
    const replica = () => L().replicas[0];

    /** A container's address on the lab network ("" while it is stopped). */
    const ipOf = async (id: string): Promise<string> => {
        const info = await docker.getContainer(id).inspect();
        return info.NetworkSettings.Networks[L().networkName]?.IPAddress ?? "";
    };
    const addresses = async () => ({ source: await ipOf(source().id), replica: await ipOf(replica().id) });

    /** @@server_id of one fresh reader connection through the read endpoint; null when it failed. */
    const readOnce = async (): Promise<number | null> => {
        let conn: Connection | undefined;
        try {
            conn = await open(L().url(L().user("readonly"), L().passwords.readonly, L().readEndpointPort), 3, "read endpoint");
            const [row] = await query<{ id: string | number }>(conn, { sql: "SELECT @@server_id AS id" });
            return Number(row.id);
        } catch {
            return null;
        } finally {
            await close(conn);
        }
    };
    const reads = async (n: number): Promise<(number | null)[]> => {
        const ids: (number | null)[] = [];
        for (let i = 0; i < n; i++) ids.push(await readOnce());
        return ids;
    };

    /**
     * Reads until `streak` in a row answered from server `id`, for at most SETTLE_MS. Returns whether it
     * got there, how long it took, and what every read answered (for the failure message).
     */
    const settleOn = async (id: number, streak: number) => {
        const started = Date.now();
        const seen: (number | null)[] = [];
        let run = 0;
        while (run < streak && Date.now() - started < SETTLE_MS) {
            const got = await readOnce();
            seen.push(got);
            run = got === id ? run + 1 : 0;
            await sleep(got === null ? 100 : 20);
        }
        return { settled: run >= streak, afterMs: Date.now() - started, seen };
    };
    /** What a run of reads answered, counted by server id ("failed" for none), and its last ten. */
    const summary = (seen: (number | null)[]) => {
        const counts: Record<string, number> = {};
        for (const id of seen) counts[id === null ? "failed" : `server ${id}`] = (counts[id === null ? "failed" : `server ${id}`] ?? 0) + 1;
        return `${seen.length} reads: ${Object.entries(counts).map(([k, n]) => `${n} from ${k}`).join(", ")}; last ten ${JSON.stringify(seen.slice(-10))}`;
    };

    /** Output of a command run in the proxy container. */
    const inProxy = async (cmd: string[]): Promise<string> => {
        const exec = await docker.getContainer(L().proxyId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on("data", (c: Buffer) => chunks.push(c));
        docker.modem.demuxStream(stream, out, new PassThrough());
        await new Promise<void>((resolve, reject) => {
            stream.on("end", () => resolve());
            stream.on("error", reject);
        });
        return Buffer.concat(chunks).toString("utf8");
    };
    /**
     * The remote ends of every TCP and UDP socket in the proxy's network namespace (HAProxy's, and Docker's
     * embedded DNS, which forwards from inside it), from /proc/net: "ip:port", TCP state, protocol.
     */
    const proxySockets = async (): Promise<{ proto: string; remote: string; ip: string; port: number; state: string }[]> => {
        const files = ["tcp", "tcp6", "udp", "udp6"];
        const text = await inProxy(["bash", "-c", files.map((f) => `echo "@${f}"; cat /proc/net/${f} 2>/dev/null`).join("; ")]);
        const sockets: { proto: string; remote: string; ip: string; port: number; state: string }[] = [];
        let proto = "";
        for (const line of text.split("\n")) {
            if (line.startsWith("@")) {
                proto = line.slice(1).trim();
                continue;
            }
            const cols = line.trim().split(/\s+/);
            if (!/^\d+:$/.test(cols[0] ?? "")) continue;
            const [hex, portHex] = cols[2].split(":");
            let v4 = hex;
            if (hex.length === 32) {
                if (/^0{32}$/.test(hex)) v4 = "00000000";
                else if (hex.startsWith("0000000000000000FFFF0000")) v4 = hex.slice(24);
                else if (hex === "00000000000000000000000001000000") v4 = "0100007F";
                else v4 = "";
            }
            // /proc/net shows an IPv4 address as a little-endian word.
            const ip = v4 === "" ? `v6:${hex}` : [6, 4, 2, 0].map((i) => parseInt(v4.slice(i, i + 2), 16)).join(".");
            const port = parseInt(portHex, 16);
            sockets.push({ proto, remote: `${ip}:${port}`, ip, port, state: cols[3] });
        }
        return sockets;
    };
    /** Whether the proxy may talk to `ip`: nowhere (unconnected), its own loopback, or the lab network. */
    const inLab = (ip: string) => ip === "0.0.0.0" || ip.startsWith("127.") || (!ip.startsWith("v6:") && inSubnet(ip, subnet));

    /** HAProxy's stats as CSV rows, read inside the proxy container from its stats page on loopback. */
    const proxyStats = async (): Promise<Record<string, string>[]> => {
        const text = await inProxy(["bash", "-c",
            "exec 3<>/dev/tcp/127.0.0.1/8404 && printf 'GET /;csv;norefresh HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"]);
        const head = text.slice(0, text.indexOf("\r\n\r\n"));
        let body = text.slice(head.length + 4);
        if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body);
        if (!body.startsWith("# pxname,")) throw new Error(`no stats from the proxy: ${text.slice(0, 200)}`);
        return parseCsv(body.slice(2));
    };
    /** The rows of the `readers` backend's servers, by server name. */
    const serverRows = async (): Promise<Record<string, Record<string, string>>> => {
        const rows = (await proxyStats()).filter((r) => r.pxname === "readers" && r.svname !== "BACKEND");
        return Object.fromEntries(rows.map((r) => [r.svname, r]));
    };
    const describeRows = (rows: Record<string, Record<string, string>>) =>
        Object.values(rows).map((r) => `${r.svname}: ${r.status} sessions=${r.stot} check=${r.check_status}`).join("; ");

    beforeAll(async () => {
        lab = await DockerLab.start({ suite: "readendpoint", basePort: BASE_PORT, replicas: 1, image: TEST_IMAGE, proxyImage: PROXY_TEST_IMAGE });
        const net = await docker.getNetwork(lab.networkName).inspect();
        subnet = net.IPAM?.Config?.[0]?.Subnet ?? "";
        initial = await addresses();
    }, 240_000);

    afterAll(async () => {
        if (lab) {
            await lab.cleanup();
            expect(await lab.leftovers()).toEqual([]);
        }
    }, 120_000);

    test("the lab starts with reads on the replica and both servers at distinct lab addresses", async () => {
        expect(subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        expect(inSubnet(initial.source, subnet)).toBe(true);
        expect(inSubnet(initial.replica, subnet)).toBe(true);
        expect(initial.source).not.toBe(initial.replica);
        expect(await reads(5)).toEqual(Array(5).fill(replica().serverId));
        // Unknown names are not forwarded off the machine: the proxy's upstream DNS is loopback.
        const proxy = await docker.getContainer(L().proxyId).inspect();
        expect(proxy.HostConfig.Dns).toEqual([...PROXY_DNS]);
    }, 60_000);

    test("with the replica stopped, reads come from the backup source only and the proxy routes nowhere outside the lab", async () => {
        await L().stopServer(replica().index);
        const settle = await settleOn(source().serverId, 10);
        if (!settle.settled) {
            throw new Error(`with the replica stopped, reads did not settle on the source (server ${source().serverId}) ` +
                `within ${SETTLE_MS / 1000} s; ${summary(settle.seen)}; proxy: ${describeRows(await serverRows())}`);
        }

        const before = await serverRows();
        const ids = await reads(10);
        const after = await serverRows();
        expect(ids).toEqual(Array(10).fill(source().serverId));

        const r = replica().name;
        const s = source().name;
        expect(Object.keys(after).sort()).toEqual([r, s].sort());
        // The stopped replica is not up and got no session while it was stopped; the backup got them all.
        expect(after[r].status).not.toMatch(/^UP/);
        expect(Number(after[r].stot)).toBe(Number(before[r].stot));
        expect(Number(after[s].stot) - Number(before[s].stot)).toBeGreaterThanOrEqual(10);
        // With a session open through the proxy, its sockets sampled for 2 s (health checks and DNS
        // lookups every second): nothing in the proxy's network namespace, Docker's DNS forwarder
        // included, talks to anything but loopback and the lab network, and the only MySQL server it
        // has a session with is the source.
        const conn = await open(L().url(L().user("readonly"), L().passwords.readonly, L().readEndpointPort), 5, "read endpoint");
        const samples: Awaited<ReturnType<typeof proxySockets>>[] = [];
        try {
            const [row] = await query<{ id: string | number }>(conn, { sql: "SELECT @@server_id AS id" });
            expect(Number(row.id)).toBe(source().serverId);
            const until = Date.now() + 2000;
            while (Date.now() < until) samples.push(await proxySockets());
        } finally {
            await close(conn);
        }
        const sockets = samples.flat();
        expect(samples.length).toBeGreaterThan(0);
        expect([...new Set(sockets.filter((x) => !inLab(x.ip)).map((x) => `${x.proto} ${x.remote}`))]).toEqual([]);
        const sessions = new Set(sockets.filter((x) => x.proto.startsWith("tcp") && x.port === 3306 && x.state === "01").map((x) => x.ip));
        expect([...sessions]).toEqual([initial.source]);
        const peers = new Set(sockets.map((x) => `${x.proto} ${x.remote} ${x.state}`));
        // eslint-disable-next-line no-console
        console.log(`replica stopped: reads on the source after ${settle.afterMs} ms; ${describeRows(after)}; ` +
            `${samples.length} socket samples, remote ends: ${[...peers].join(", ")}`);
    }, 60_000);

    test("stop replica, stop source, start replica, start source: the addresses swap and reads reach only the replica within 15 s", async () => {
        // The replica is stopped already (previous test); stopping again is a no-op if so.
        await L().stopServer(replica().index);
        await L().stopServer(source().index);
        expect(await addresses()).toEqual({ source: "", replica: "" });

        // Docker gives the lowest free address. If the replica had the lower one, it would get it back:
        // a placeholder takes it first, so the replica gets the source's, and the source the replica's.
        let placeholder: string | undefined;
        if (ipv4ToInt(initial.replica) < ipv4ToInt(initial.source)) {
            const c = await docker.createContainer({
                name: `${L().prefix}-placeholder`,
                Image: PROXY_TEST_IMAGE,
                Entrypoint: ["sleep"],
                Cmd: ["120"],
                Labels: L().labels(),
                HostConfig: { NetworkMode: L().networkName },
            });
            placeholder = c.id;
            await c.start();
            expect(await ipOf(c.id)).toBe(initial.replica);
        }
        await startHealthy(replica().id, replica().name, 60_000);
        if (placeholder) await docker.getContainer(placeholder).remove({ force: true }).catch(ignoreMissing);
        await startHealthy(source().id, source().name, 60_000);

        // Not vacuous: the two really swapped addresses, so a proxy that resolved once would now send
        // its "replica" reads to the source.
        expect(await addresses()).toEqual({ source: initial.replica, replica: initial.source });

        const settle = await settleOn(replica().serverId, READS);
        if (!settle.settled) {
            throw new Error(`after the swap (source now at ${initial.replica}, replica at ${initial.source}), reads through the ` +
                `read endpoint did not settle on the replica (server ${replica().serverId}) within ${SETTLE_MS / 1000} s; ` +
                `${summary(settle.seen)}; proxy: ${describeRows(await serverRows())}`);
        }
        const ids = await reads(READS);
        expect(ids).toEqual(Array(READS).fill(replica().serverId));
        expect(ids).not.toContain(source().serverId);

        // A session through the proxy goes to the replica's new address.
        const rows = await serverRows();
        expect(rows[replica().name].status).toMatch(/^UP/);
        const conn = await open(L().url(L().user("readonly"), L().passwords.readonly, L().readEndpointPort), 5, "read endpoint");
        try {
            const [row] = await query<{ id: string | number }>(conn, { sql: "SELECT @@server_id AS id" });
            expect(Number(row.id)).toBe(replica().serverId);
            const established = (await proxySockets()).filter((x) => x.proto.startsWith("tcp") && x.port === 3306 && x.state === "01");
            expect(established.map((x) => x.ip)).toContain(initial.source);
        } finally {
            await close(conn);
        }
        // eslint-disable-next-line no-console
        console.log(`after the swap (source ${initial.source} -> ${initial.replica}, replica ${initial.replica} -> ${initial.source}): ` +
            `reads on the replica after ${settle.afterMs} ms; ${describeRows(rows)}`);
    }, 180_000);
    // The proxy's checks all come from one address. A check cut off mid-handshake is a connect error;
    // a server that kept a host cache would block that address after max_connect_errors in a row.
    test("handshakes cut off from one address never get it blocked: no name resolution, no host cache", async () => {
        const port = lab!.servers[1].hostPort;
        const withRoot = async <T>(fn: (c: Connection) => Promise<T>): Promise<T> => {
            const c = await open(lab!.root(1), 10, "replica");
            try {
                return await fn(c);
            } finally {
                await close(c);
            }
        };
        const [settings] = await withRoot((c) => query<Record<string, unknown>>(c, {
            sql: "SELECT @@GLOBAL.skip_name_resolve AS skipNameResolve, @@GLOBAL.host_cache_size AS hostCacheSize",
        }));
        expect({ skipNameResolve: Number(settings.skipNameResolve), hostCacheSize: Number(settings.hostCacheSize) })
            .toEqual({ skipNameResolve: 1, hostCacheSize: 0 });

        await withRoot((c) => query(c, { sql: "SET GLOBAL max_connect_errors = 2" }));
        try {
            // Connections from the host arrive from the Docker network's gateway, not loopback, so a
            // host cache would count them.
            for (let i = 0; i < 5; i++) {
                await new Promise<void>((resolve, reject) => {
                    const socket = net.connect({ host: "127.0.0.1", port });
                    socket.once("data", () => { socket.destroy(); resolve(); });
                    socket.once("error", reject);
                });
            }
            await sleep(500);
            const [{ one }] = await withRoot((c) => query<{ one: unknown }>(c, { sql: "SELECT 1 AS one" }));
            expect(Number(one)).toBe(1);
            // Nothing was counted against the address (the table stays empty; on MariaDB the
            // performance schema is off by default, so it is empty there regardless).
            const [{ n }] = await withRoot((c) => query<{ n: unknown }>(c, { sql: "SELECT COUNT(*) AS n FROM performance_schema.host_cache" }));
            expect(Number(n)).toBe(0);
        } finally {
            await withRoot((c) => query(c, { sql: "SET GLOBAL max_connect_errors = 100" }));
        }
    }, 120_000);
});
