/**
 * `npm run bench:app`: load through the demo app on a throwaway 1+2 lab (liveStack, the test bed's
 * images), with `bench:http`'s code: fresh reads (a connection per request, spread by the read
 * endpoint) and pooled reads (one connection per app, as the old lab's app did), each for BENCH_SECONDS
 * (default 10) at BENCH_CONCURRENCY (default 4). Prints requests/s, latency percentiles and the spread
 * of answering servers for each, and the ratio of fresh to pooled throughput. Everything it creates is
 * labelled bench-app and removed at the end. Ports: 43400-43499 on 127.0.0.1.
 */
import { APP_TEST_IMAGE, PROXY_TEST_IMAGE, TEST_IMAGE } from "../support/images";
import { LiveStack, forgetStack, liveStack } from "../support/harness/liveStack";
import { httpBenchText, runHttpBench } from "../../scripts/lib/httpBench";
import { log, runBench } from "./common";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const BASE_PORT = 43400;
const APP_PORT = 43480;

const stack: LiveStack = liveStack({
    stack: "bench-app",
    config: {
        image: TEST_IMAGE, flavor: "auto", pullImage: false, proxyImage: PROXY_TEST_IMAGE, demoAppImage: APP_TEST_IMAGE,
        basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, demoAppPort: APP_PORT, replicaCount: 2,
    },
});

async function main(): Promise<void> {
    await forgetStack(stack);
    log(`bringing up a 1+2 lab with the app on ${TEST_IMAGE}`);
    const outputs = await stack.up();
    const url = outputs.demoAppUrl as string;
    const results = [];
    for (const path of ["/information?fresh=1", "/information"]) {
        const r = await runHttpBench({ url, path, durationS: SECONDS, concurrency: CONCURRENCY });
        process.stdout.write(httpBenchText(r, `${url}${path}`));
        results.push(r);
    }
    process.stdout.write(`fresh / pooled throughput: ${(results[0].perSecond / results[1].perSecond).toFixed(2)}x ` +
        `(${SECONDS} s each, ${CONCURRENCY} clients, ${TEST_IMAGE})\n`);
}

runBench(main, () => [stack], ["bench-app"]);
