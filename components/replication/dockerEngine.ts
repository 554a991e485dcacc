/**
 * Docker for the providers that act on it directly (DataTemplate, ServerReady), reached as
 * the docker provider reaches it: DOCKER_HOST, else the local socket. This module travels inside each
 * serialized provider, so it loads dockerode inside the functions.
 */
import type Docker from "dockerode";

export function engine(): Docker {
    const Dockerode = require("dockerode") as typeof import("dockerode");
    return new Dockerode();
}

/** A catch handler: the object was gone already, which is what was wanted; anything else is rethrown. */
export function ignoreGone(err: unknown): void {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
}

/**
 * The text of a non-TTY container's log, out of Docker's multiplexed frames: each is an 8-byte header
 * (stream, three zero bytes, a big-endian length) and that many bytes of output.
 */
export function demuxLogs(buf: Buffer): string {
    const parts: Buffer[] = [];
    let at = 0;
    while (at + 8 <= buf.length) {
        const length = buf.readUInt32BE(at + 4);
        parts.push(buf.subarray(at + 8, at + 8 + length));
        at += 8 + length;
    }
    return Buffer.concat(parts).toString("utf8");
}

/** The last lines a container wrote, for an error message (the images' entrypoints print no password). */
export async function logTail(c: Docker.Container, lines = 15): Promise<string> {
    const raw = await c.logs({ stdout: true, stderr: true, tail: lines }).catch(() => Buffer.from(""));
    return demuxLogs(raw as unknown as Buffer).trim();
}
