/**
 * ServerReady without Docker: what counts as a server's answer on a new connection, what a change of
 * its inputs does, and its wait against a local TCP listener that speaks first as a server does.
 * (Against real servers, stopped and crashing containers: test/integration/serverReady.test.ts.)
 */
import * as net from "node:net";
import { isServerAnswer, serverReadyProvider } from "../../components/replication/serverReady";

/** A packet: 3-byte little-endian length, sequence id, payload. */
function packet(payload: Buffer, sequence = 0): Buffer {
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = sequence;
    return Buffer.concat([header, payload]);
}

const greeting = packet(Buffer.concat([Buffer.from([0x0a]), Buffer.from("9.7.4\0", "latin1"), Buffer.alloc(20, 1)]));
const tooMany = packet(Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from("Too many connections")]));

describe("isServerAnswer", () => {
    test("a greeting (protocol 10) and an error packet are answers", () => {
        expect(isServerAnswer(greeting)).toBe(true);
        expect(isServerAnswer(tooMany)).toBe(true);
    });
    test("nothing, a cut-off header, another protocol or a later packet are not", () => {
        expect(isServerAnswer(Buffer.alloc(0))).toBe(false);
        expect(isServerAnswer(greeting.subarray(0, 4))).toBe(false);
        expect(isServerAnswer(Buffer.from("HTTP/1.1 400 Bad Request\r\n"))).toBe(false);
        expect(isServerAnswer(packet(Buffer.from([0x0a, 0x35]), 1))).toBe(false);
        expect(isServerAnswer(packet(Buffer.from([0x00, 0x00])))).toBe(false);
    });
});

describe("ServerReady's inputs", () => {
    const inputs = { serverName: "lab-server-1", containerId: "abc", adminHost: "127.0.0.1", adminPort: 13307, timeoutSeconds: 300 };
    test("a new container is waited for again; a new time bound is only recorded", async () => {
        expect(await serverReadyProvider.diff!("r", inputs, { ...inputs, containerId: "def" }))
            .toMatchObject({ changes: true, replaces: ["containerId"], deleteBeforeReplace: false });
        expect(await serverReadyProvider.diff!("r", inputs, { ...inputs, timeoutSeconds: 60 })).toMatchObject({ changes: true, replaces: [] });
        expect(await serverReadyProvider.diff!("r", inputs, { ...inputs })).toMatchObject({ changes: false, replaces: [] });
    });
    test("a bad port or bound is refused by check, naming the input, the value and what is allowed", async () => {
        const checked = await serverReadyProvider.check!(inputs, { ...inputs, adminPort: 0, timeoutSeconds: 0 });
        expect(checked.failures).toEqual([
            { property: "adminPort", reason: "adminPort must be a port from 1 to 65535, got 0" },
            { property: "timeoutSeconds", reason: "timeoutSeconds must be a whole number of seconds, at least 1, got 0" },
        ]);
    });
});

describe("ServerReady's wait, against a local listener", () => {
    let server: net.Server;
    let port: number;
    let speak = false;
    let connections = 0;
    beforeAll(async () => {
        // Silent (closes at once, as Docker's port proxy does with nothing behind it) until told to speak.
        server = net.createServer((socket) => {
            connections++;
            if (speak) socket.end(greeting);
            else socket.destroy();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test("it keeps trying while connections close without a word, and is done at the first greeting", async () => {
        setTimeout(() => { speak = true; }, 500);
        const created = await serverReadyProvider.create!({
            serverName: "lab-server-0", containerId: "0123456789abcdef", adminHost: "127.0.0.1", adminPort: port, timeoutSeconds: 30,
        });
        expect(created.id).toBe("lab-server-0-0123456789ab");
        // Tried every 0.2 s: silent ones for 0.5 s, then the one that was answered.
        expect(connections).toBeGreaterThanOrEqual(3);
        expect(connections).toBeLessThanOrEqual(5);
    });
});
