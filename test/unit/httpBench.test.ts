import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { benchUrl, httpBenchText, runHttpBench, summariseHttp } from "../../scripts/lib/httpBench";

describe("bench:http", () => {
    test.each(["http://10.0.0.5:18080", "http://example.com", "https://127.0.0.1:18080", "not a url"])("refuses %s, naming --url", (url) => {
        expect(() => benchUrl({ url, path: "/" })).toThrow(/--url/);
    });

    test("takes loopback, by address or name", () => {
        expect(benchUrl({ url: "http://127.0.0.1:18080", path: "/information?fresh=1" }).toString()).toBe("http://127.0.0.1:18080/information?fresh=1");
        expect(benchUrl({ url: "http://localhost:1", path: "/" }).hostname).toBe("localhost");
        expect(benchUrl({ url: "http://[::1]:1", path: "/" }).hostname).toBe("[::1]");
    });

    test("the summary: rate, nearest-rank percentiles, errors by status, share per server", () => {
        const samples = [
            ...Array.from({ length: 6 }, (_, i) => ({ ms: i + 1, status: 200, server: "s1" })),
            ...Array.from({ length: 2 }, (_, i) => ({ ms: 10 + i, status: 200, server: "s2" })),
            { ms: 50, status: 503 }, { ms: 100, status: 0 },
        ];
        const r = summariseHttp(samples, 2);
        expect(r).toMatchObject({ requests: 10, perSecond: 5, latencyMs: { p50: 5, p90: 50, p99: 100, max: 100 }, errors: { 503: 1, 0: 1 } });
        expect(r.servers).toEqual([{ name: "s1", count: 6, percent: 75 }, { name: "s2", count: 2, percent: 25 }]);
        expect(httpBenchText(r, "http://127.0.0.1:1/")).toMatch(/5\.0 requests\/s[\s\S]*no answer: 1, HTTP 503: 1[\s\S]*s1 .* 75\.0%/);
    });

    test("a bounded run against a local app counts every request and who answered", async () => {
        let n = 0;
        const server = http.createServer((_req, res) => {
            n++;
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify({ servedBy: { name: `s${n % 2}` } }));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        try {
            const port = (server.address() as AddressInfo).port;
            const r = await runHttpBench({ url: `http://127.0.0.1:${port}`, path: "/information?fresh=1", durationS: 10, concurrency: 3, requests: 40 });
            expect(r.requests).toBe(40);
            expect(n).toBeGreaterThanOrEqual(40);
            expect(r.errors).toEqual({});
            expect(r.servers.map((s) => s.name)).toEqual(["s0", "s1"]);
            expect(r.servers[0].count + r.servers[1].count).toBe(40);
        } finally {
            server.close();
        }
    });
});
