import { CHECK_USER, checkAuthPlugin, checkLoginPacket, haproxyConfig, mysqlLoginCheck } from "../../components/readEndpoint";

/** Splits a MySQL protocol packet (hex) into its header and payload fields. */
function parsePacket(hex: string) {
    const b = Buffer.from(hex, "hex");
    const length = b.readUIntLE(0, 3);
    const payload = b.subarray(4);
    const flags = payload.readUInt32LE(0);
    let at = 32;
    const cstring = () => {
        const end = payload.indexOf(0, at);
        const s = payload.subarray(at, end).toString("ascii");
        at = end + 1;
        return s;
    };
    const user = cstring();
    const authLength = payload[at++];
    const plugin = cstring();
    return { length, sequence: b[3], payloadLength: payload.length, flags, maxPacket: payload.readUInt32LE(4), charset: payload[8],
        reserved: payload.subarray(9, 32), user, authLength, plugin, rest: payload.length - at };
}

describe("read endpoint health check", () => {
    test("the login packet is a well-formed HandshakeResponse41 with an empty password and the plugin named", () => {
        const p = parsePacket(checkLoginPacket("haproxy_check", "caching_sha2_password"));
        expect(p.length).toBe(p.payloadLength);
        expect(p.sequence).toBe(1);
        // CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH (what HAProxy's mysql-check lacks)
        for (const flag of [0x200, 0x8000, 0x80000]) expect(p.flags & flag).toBe(flag);
        // No database, no TLS, no connection attributes: nothing the server would wait for.
        for (const flag of [0x8, 0x800, 0x100000]) expect(p.flags & flag).toBe(0);
        expect(p.maxPacket).toBe(16 * 1024 * 1024);
        expect(p.charset).toBe(0x21);
        expect([...p.reserved]).toEqual(new Array(23).fill(0));
        expect(p).toMatchObject({ user: "haproxy_check", authLength: 0, plugin: "caching_sha2_password", rest: 0 });
        expect(parsePacket(checkLoginPacket("u", "mysql_native_password")).plugin).toBe("mysql_native_password");
    });

    test("a user name that could break the packet is refused", () => {
        expect(() => checkLoginPacket("bad\0user", "mysql_native_password")).toThrow(/check user .* is not allowed/);
        expect(() => checkLoginPacket("", "mysql_native_password")).toThrow(/not allowed/);
    });

    test.each([
        ["mysql", "9.7", "caching_sha2_password"],
        ["mysql", "8.4", "caching_sha2_password"],
        ["mysql", "8.0.22", "caching_sha2_password"],
        ["mysql", undefined, "caching_sha2_password"],
        ["mysql", "5.7", "mysql_native_password"],
        ["mariadb", "10.11", "mysql_native_password"],
        ["mariadb", "11.8", "mysql_native_password"],
    ] as const)("%s %s: the check account uses %s", (flavor, version, plugin) => {
        expect(checkAuthPlugin(flavor, version)).toBe(plugin);
    });

    test("the check waits for the greeting, logs in, expects OK as the third packet, then quits", () => {
        const rules = mysqlLoginCheck(CHECK_USER, "caching_sha2_password");
        expect(rules).toEqual([
            "option tcp-check",
            "tcp-check connect",
            "tcp-check expect rbinary ^.{6}000A comment greeting",
            `tcp-check send-binary ${checkLoginPacket(CHECK_USER, "caching_sha2_password")} comment login`,
            "tcp-check expect rbinary ^.{6}0200 comment logged-in",
            "tcp-check send-binary 0100000001 comment quit",
        ]);
    });

    test.each(["caching_sha2_password", "mysql_native_password"] as const)("the generated config carries the %s check, and no mysql-check", (plugin) => {
        const config = haproxyConfig({ readers: ["r1", "r2"], fallback: "s0", checkPlugin: plugin });
        const backend = config.slice(config.indexOf("backend readers"), config.indexOf("frontend stats"));
        for (const rule of mysqlLoginCheck(CHECK_USER, plugin)) expect(backend).toContain(`    ${rule}\n`);
        expect(config).not.toMatch(/mysql-check/);
        expect(backend.split("\n").filter((l) => l.trim().startsWith("server "))).toEqual([
            "    server r1 r1:3306 check", "    server r2 r2:3306 check", "    server s0 s0:3306 check backup",
        ]);
    });
});
