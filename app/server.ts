/**
 * The demo app: `node app.js` serves the page and the API. Each second it asks its own /healthz and,
 * on 200, writes the time to its health file, which the Docker check compares with the clock: a node
 * process per check cost half a core at one check a second. Config comes from the file
 * DEMO_APP_CONFIG names (written by the lab; it holds passwords, so it is never logged).
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { Data, HttpError } from "./data";
import { describeError } from "./db";
import { Monitor } from "./monitor";
import { validateInformation } from "./pure";
import type { DemoAppConfig } from "./types";
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from "./pageAssets";

const POLL_MS = 1000;
const MAX_BODY = 16 * 1024;

function loadConfig(): DemoAppConfig {
    const file = process.env.DEMO_APP_CONFIG ?? "/etc/mysql-replicas/app.json";
    return JSON.parse(fs.readFileSync(file, "utf8")) as DemoAppConfig;
}

/**
 * Writes the time to the health file if the app answers its own /healthz with 200, and says whether
 * it did; the file ages otherwise.
 */
async function heartbeat(config: DemoAppConfig): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${config.listenPort}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    if (res?.status !== 200) return false;
    const tmp = `${config.healthFile}.tmp`;
    await fs.promises.writeFile(tmp, `${Math.floor(Date.now() / 1000)}\n`);
    await fs.promises.rename(tmp, config.healthFile);
    return true;
}

export function createApp(config: DemoAppConfig): { server: http.Server; stop(): void } {
    const monitor = new Monitor(config);
    let writesTo: string | null = null;
    let polled = false;
    const poll = async () => {
        const s = await monitor.poll(writesTo);
        writesTo = s.source;
        polled = true;
        return s;
    };
    const findSource = async (again: boolean) => (again || !polled ? (await poll()).source : writesTo);
    const data = new Data(config, monitor, findSource);

    let timer: NodeJS.Timeout | undefined;
    const loop = () => {
        poll().catch((err) => console.error(`poll failed: ${describeError(err)}`)).finally(() => { timer = setTimeout(loop, POLL_MS); });
    };
    loop();

    const server = http.createServer((req, res) => {
        route(req, res).catch((err) => {
            const status = err instanceof HttpError ? err.status : 503;
            if (status >= 500) console.error(`${req.method} ${req.url}: ${describeError(err)}`);
            send(res, status, { error: err instanceof HttpError ? err.message : describeError(err) });
        });
    });

    async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", "http://app");
        const key = `${req.method} ${url.pathname}`;
        if (key === "GET /") return sendText(res, 200, "text/html; charset=utf-8", PAGE_HTML);
        if (key === "GET /page.js") return sendText(res, 200, "text/javascript; charset=utf-8", PAGE_JS);
        if (key === "GET /page.css") return sendText(res, 200, "text/css; charset=utf-8", PAGE_CSS);
        if (key === "GET /healthz") return send(res, polled ? 200 : 503, { ok: polled });
        if (key === "GET /api/state") {
            const s = monitor.latest;
            return s ? send(res, 200, { ...s, answered: { ...monitor.answered }, writesTo }) : send(res, 503, { error: "not polled yet" });
        }
        if (key === "GET /information") {
            const fresh = url.searchParams.get("fresh") === "1";
            return send(res, 200, { ...(await data.information(fresh)), fresh });
        }
        if (key === "POST /add-information") {
            const body = await readJson(req);
            const fields = validateInformation(body);
            if ("error" in fields) throw new HttpError(400, fields.error);
            const added = await data.add(fields);
            writesTo = added.source;
            const readBack = url.searchParams.get("wait") === "1" ? await data.readBack(added.id, added.gtid) : undefined;
            return send(res, 201, { ...added, ...(readBack ? { readBack } : {}) });
        }
        throw new HttpError(404, `no route ${key}; try GET /, GET /information, POST /add-information, GET /api/state`);
    }

    return { server, stop: () => clearTimeout(timer) };
}

/** The request's JSON body: 415 unless JSON, 413 when too big, 400 when unreadable. */
async function readJson(req: http.IncomingMessage): Promise<unknown> {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
        throw new HttpError(415, "content-type: expected application/json");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY) throw new HttpError(413, `body: more than ${MAX_BODY} bytes`);
        chunks.push(chunk as Buffer);
    }
    try {
        return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
        throw new HttpError(400, "body: not valid JSON; expected {\"name\": …, \"address\": …}");
    }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
    sendText(res, status, "application/json", JSON.stringify(body));
}

function sendText(res: http.ServerResponse, status: number, type: string, text: string): void {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
    res.end(text);
}

/** Runs the app. */
export async function main(): Promise<void> {
    const config = loadConfig();
    const { server, stop } = createApp(config);
    let beat: NodeJS.Timeout | undefined;
    let beating = false;
    // Every 200 ms until the first beat, so that a new container turns healthy at its next check.
    const beatLoop = () => {
        heartbeat(config).then((ok) => { beating ||= ok; }, (err) => console.error(`health file: ${describeError(err)}`))
            .finally(() => { beat = setTimeout(beatLoop, beating ? POLL_MS : 200); });
    };
    server.listen(config.listenPort, () => {
        console.log(`demo app on :${config.listenPort}; servers ${config.serverHost} (as the desired topology lists them); ` +
            `reads through ${config.readEndpoint.host}`);
        beatLoop();
    });
    // PID 1 in its container: without handlers it would ignore the stop signal.
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.on(signal, () => {
            clearTimeout(beat);
            stop();
            server.close();
            process.exit(0);
        });
    }
}
