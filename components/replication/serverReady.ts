/**
 * ServerReady: the gate between a server's container and everything that talks to its server. Its
 * create waits until the server takes a TCP connection on its published port, trying every 0.2 s,
 * and fails early, with the container's last lines, when the container stops or restarts instead.
 *
 * It stands in for the docker provider's `wait` on the health check: Docker runs a container's first
 * check only one interval (2 s) after the start, and the provider looks at the result each second,
 * while a server started on the lab's template answers in under a second. The health check stays, for
 * `docker ps` and anything else that reads it. A new container (replacement, upgrade) is waited for
 * again; a server stopped later is the topology's business, not this gate's.
 */
import * as pulumi from "@pulumi/pulumi";
import { hostPort, sleep } from "./connection";
import { engine, ignoreGone, logTail } from "./dockerEngine";
import { type InputTable, changedInputs, checkInputs, diffOf, is, withDefaults } from "./inputs";

export interface ServerReadyInputs {
    /** The container's name, for messages. */
    readonly serverName: string;
    /** The container waited for: a new one is waited for again. */
    readonly containerId: string;
    /** Where Pulumi reaches the server: its published address and port (AdminInputs' names). */
    readonly adminHost: string;
    readonly adminPort: number;
    readonly timeoutSeconds: number;
}

const INPUTS: InputTable<ServerReadyInputs> = {
    serverName: { change: "record", allowed: "a container name", valid: is.text },
    containerId: { change: "replace", allowed: "a container id", valid: is.text },
    adminHost: { change: "replace", allowed: "a host address", valid: is.text },
    adminPort: { change: "replace", allowed: "a port from 1 to 65535", valid: is.port },
    timeoutSeconds: { change: "record", byDefault: 300, allowed: "a whole number of seconds, at least 1", valid: is.wholeFrom(1) },
};

/** How often the port is tried, and how often the container is looked at while it does not answer. */
const TRY_EVERY_MS = 200;
const LOOK_EVERY_TRIES = 5;

/**
 * Whether the first bytes a server sent on a new connection are a MySQL protocol packet: its greeting
 * (protocol version 10) or an error it answers with (too many connections, say). Both mean the real
 * server listens; the images' init servers take no TCP connections, and Docker's port proxy accepts a
 * connection even when nothing listens behind it, then closes it without a byte.
 */
export function isServerAnswer(first: Buffer): boolean {
    if (first.length < 5) return false;
    const length = first.readUIntLE(0, 3);
    const sequence = first[3];
    return length > 0 && sequence === 0 && (first[4] === 0x0a || first[4] === 0xff);
}

/** Opens a TCP connection and reads the server's first packet; closes it without logging in. */
function tryOnce(host: string, port: number, ms: number): Promise<boolean> {
    const net = require("node:net") as typeof import("node:net");
    return new Promise((resolve) => {
        let got = Buffer.alloc(0);
        let done = false;
        let timer: NodeJS.Timeout | undefined;
        const socket = net.connect({ host, port });
        const finish = (answered: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            socket.destroy();
            resolve(answered);
        };
        timer = setTimeout(() => finish(false), ms);
        socket.on("data", (data: Buffer) => {
            got = Buffer.concat([got, data]);
            if (got.length >= 5) finish(isServerAnswer(got));
        });
        socket.on("error", () => finish(false));
        socket.on("close", () => finish(isServerAnswer(got)));
    });
}

/**
 * What the server said last: its [ERROR] lines among the last 60, when it wrote any (a server that
 * Docker restarts begins its log again before the error is shown), else the last 15 lines.
 */
async function lastWords(c: import("dockerode").Container): Promise<string> {
    const lines = (await logTail(c, 60)).split("\n").filter((l) => l.trim() !== "");
    const errors = [...new Set(lines.filter((l) => l.includes("[ERROR]")))];
    return (errors.length > 0 ? errors.slice(-5) : lines.slice(-15)).join("\n");
}

/** Why the container will not answer (stopped, restarting, gone), with its last words; "" while it runs. */
async function notRunning(i: ServerReadyInputs): Promise<string> {
    const container = engine().getContainer(i.containerId);
    const info = await container.inspect().catch((err) => { ignoreGone(err); return undefined; });
    if (!info) return "its container is gone";
    const { State: state, RestartCount: restarts } = info;
    if (state.Running && !state.Restarting && restarts === 0) return "";
    // A running container's exit code is 0 again: only a stopped one's says how it ended.
    const what = state.Running || state.Restarting
        ? `its container exited and was restarted by Docker (${restarts} restart${restarts === 1 ? "" : "s"})`
        : `its container ${state.Status} (exit code ${state.ExitCode})`;
    const said = await lastWords(container);
    return said ? `${what}; its last words:\n${said}` : what;
}

async function waitForServer(i: ServerReadyInputs): Promise<void> {
    const deadline = Date.now() + i.timeoutSeconds * 1000;
    const where = `server ${i.serverName} (${hostPort(i.adminHost, i.adminPort)})`;
    for (let tries = 1; ; tries++) {
        if (await tryOnce(i.adminHost, i.adminPort, 2000)) return;
        if (tries % LOOK_EVERY_TRIES === 0 || Date.now() >= deadline) {
            const why = await notRunning(i);
            if (why) throw new Error(`${where} did not start: ${why}`);
        }
        if (Date.now() >= deadline) {
            const said = await lastWords(engine().getContainer(i.containerId));
            throw new Error(`${where} took no connection within ${i.timeoutSeconds} s, though its container runs` +
                (said ? `; its last words:\n${said}` : ""));
        }
        await sleep(TRY_EVERY_MS);
    }
}

export const serverReadyProvider: pulumi.dynamic.ResourceProvider<ServerReadyInputs, ServerReadyInputs> = {
    async check(_olds, news) {
        return { inputs: news, failures: checkInputs(INPUTS, news) };
    },
    async diff(_id, olds, news) {
        // Its delete does nothing: a new container's gate needs no old one gone first.
        return { ...diffOf(changedInputs(INPUTS, olds, news)), deleteBeforeReplace: false };
    },
    async create(inputs) {
        await waitForServer(inputs);
        return { id: `${inputs.serverName}-${inputs.containerId.slice(0, 12)}`, outs: inputs };
    },
    async read(id, props) {
        // That the server once answered is not state to read back: a later stop is not this gate's.
        return { id, props };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
    async delete() {
        // Nothing to remove.
    },
};

export interface ServerReadyArgs {
    readonly serverName: pulumi.Input<string>;
    readonly containerId: pulumi.Input<string>;
    readonly adminHost: pulumi.Input<string>;
    readonly adminPort: pulumi.Input<number>;
    /** Defaults to 300, as the docker provider's waitTimeout. */
    readonly timeoutSeconds?: pulumi.Input<number>;
}

/** Done once the server in a new container takes connections. */
export class ServerReady extends pulumi.dynamic.Resource {
    constructor(name: string, args: ServerReadyArgs, opts?: pulumi.CustomResourceOptions) {
        super(serverReadyProvider, name, withDefaults(INPUTS, args), opts, "server", "Ready");
    }
}
