/**
 * The live harness's own semantics on a small HAProxy program (fixtures/proxyProgram.ts): in-place
 * updates, replacements in both orders, mustRun, objects removed behind the program's back. They run
 * on every engine there is: the mock runtime always, and the real engine (Automation API) wherever a
 * pulumi CLI exists (the repository's GitHub workflow installs one), so a difference between the
 * stand-in and Pulumi fails a test there. The stand-in's own refusals (an input or option it does not
 * implement) are tested on the mock runtime only. Assertions use only what both engines report:
 * Docker's view, and one operation per resource.
 */
import * as net from "node:net";
import * as path from "node:path";
import Docker from "dockerode";
import { demuxLogs, describeWithDocker, imageExists } from "../support/docker";
import { PROXY_TEST_IMAGE } from "../support/images";
import { EngineKind, forgetStack, labelledObjects, lanePort, laneStack, liveStack, pulumiCli, tearDownStack } from "../support/harness/liveStack";

jest.setTimeout(120_000);

const ENGINES: EngineKind[] = ["mock-runtime", ...(pulumiCli() ? ["automation" as const] : [])];
const CONTAINER = "docker:index/container:Container";

function answersTcp(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => { socket.destroy(); resolve(true); });
        socket.on("error", () => resolve(false));
    });
}

async function exec(container: Docker.Container, cmd: string[]): Promise<string> {
    const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const chunks: Buffer[] = [];
    await new Promise((r) => { stream.on("data", (c: Buffer) => chunks.push(c)); stream.on("end", r); });
    return demuxLogs(Buffer.concat(chunks));
}

for (const engine of ENGINES) describeWithDocker(`live harness semantics on the ${engine} engine (fixtures/proxyProgram.ts)`, () => {
    const STACK = laneStack(`livetest-harness-${engine === "mock-runtime" ? "mock" : "auto"}`);
    const BASE_PORT = lanePort(engine === "mock-runtime" ? 24370 : 24380);
    const docker = new Docker();
    const stack = liveStack({
        stack: STACK,
        engine,
        program: path.join(__dirname, "fixtures", "proxyProgram.ts"),
        config: { basePort: BASE_PORT, image: PROXY_TEST_IMAGE },
    });
    const inspect = (name: string) => docker.getContainer(name).inspect();
    const name = (generation: number) => `${STACK}-proxy-${generation}`;
    // One operation per resource: the real engine reports a replacement's halves under one URN.
    const containerSteps = () => {
        const first = new Map<string, string>();
        for (const s of stack.lastSteps) if (s.type === CONTAINER && !first.has(s.urn)) first.set(s.urn, s.op);
        return [...first.values()];
    };
    const mockOnly = engine === "mock-runtime" ? test : test.skip;

    beforeAll(async () => {
        if (!imageExists(PROXY_TEST_IMAGE)) throw new Error(`${PROXY_TEST_IMAGE} is not on the Docker host: run \`bash scripts/testbed.sh\``);
        await forgetStack(stack);
    });

    afterAll(async () => {
        await tearDownStack(stack);
    });

    test("create: healthy before up returns, upload in place before start, port on the given ip, alias, volume", async () => {
        const out = await stack.up();
        const info = await inspect(name(1));
        expect(out.containerId).toBe(info.Id);
        expect(info.State.Health?.Status).toBe("healthy");
        expect(info.HostConfig.PortBindings).toEqual({ "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(BASE_PORT + 1) }] });
        expect(info.Config.Healthcheck).toMatchObject({ Interval: 1e9, Timeout: 3e9, Retries: 3 });
        expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`${STACK}-net`]);
        expect(info.NetworkSettings.Networks[`${STACK}-net`].Aliases).toEqual(expect.arrayContaining(["proxy"]));
        expect(info.Mounts).toEqual([expect.objectContaining({ Type: "volume", Name: `${STACK}-data`, Destination: "/data" })]);
        expect(await exec(docker.getContainer(info.Id), ["head", "-1", "/usr/local/etc/haproxy/haproxy.cfg"])).toBe("# first\n");
        expect(await answersTcp(BASE_PORT + 1)).toBe(true);
        expect(stack.lastSteps.filter((s) => s.op !== "create")).toEqual([]);
    });

    test("an in-place input (restart) updates the same container", async () => {
        const id = (await inspect(name(1))).Id;
        await stack.up({ restart: "unless-stopped" });
        const info = await inspect(name(1));
        expect(info.Id).toBe(id);
        expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
        expect(containerSteps()).toEqual(["update"]);
    });

    test("a replacing input with a fixed name collides unless deleteBeforeReplace (as the provider)", async () => {
        const id = (await inspect(name(1))).Id;
        await expect(stack.up({ banner: "second" })).rejects.toThrow(/already in use|Conflict/);
        expect((await inspect(name(1))).Id).toBe(id);

        await stack.up({ deleteBeforeReplace: true });
        expect(containerSteps()).toEqual(["replace"]);
        const info = await inspect(name(1));
        expect(info.Id).not.toBe(id);
        expect(await exec(docker.getContainer(info.Id), ["head", "-1", "/usr/local/etc/haproxy/haproxy.cfg"])).toBe("# second\n");
    });

    test("a replacement creates the new container before deleting the old one by default", async () => {
        const old = (await inspect(name(1))).Id;
        await stack.up({ deleteBeforeReplace: false, generation: 2 });
        expect(containerSteps()).toEqual(["replace"]);
        expect((await labelledObjects(STACK)).containers).toEqual([name(2)]);
        await expect(docker.getContainer(old).inspect()).rejects.toMatchObject({ statusCode: 404 });
        expect(await answersTcp(BASE_PORT + 2)).toBe(true);
    });

    test("mustRun: refresh deletes a stopped container (as the provider's read does) and up creates it anew", async () => {
        const id = (await inspect(name(2))).Id;
        await docker.getContainer(id).stop({ t: 1 });
        await stack.refresh();
        expect(stack.lastSteps.find((s) => s.type === CONTAINER)).toMatchObject({ op: "delete", detail: "gone" });
        await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
        expect((await stack.resources()).find((r) => r.type === CONTAINER)).toBeUndefined();
        await stack.up();
        expect(containerSteps()).toEqual(["create"]);
        const info = await inspect(name(2));
        expect(info.Id).not.toBe(id);
        expect(info.State.Running).toBe(true);
    });

    test("a container removed behind the program's back leaves the state on refresh and is recreated by up", async () => {
        const id = (await inspect(name(2))).Id;
        await docker.getContainer(id).remove({ force: true });
        await stack.refresh();
        expect(stack.lastSteps.find((s) => s.type === CONTAINER)).toMatchObject({ op: "delete", detail: "gone" });
        expect((await stack.resources()).some((r) => r.type === CONTAINER)).toBe(false);
        await stack.up();
        expect(containerSteps()).toEqual(["create"]);
        expect((await inspect(name(2))).Id).not.toBe(id);
    });

    mockOnly("an input the harness does not implement fails loudly, naming it, and changes nothing", async () => {
        const id = (await inspect(name(2))).Id;
        await expect(stack.up({ unsupported: true })).rejects.toThrow(/input docker:index\/container:Container \S+\.privileged is not implemented/);
        expect((await inspect(name(2))).Id).toBe(id);
        await stack.setConfig({ unsupported: null });
    });

    test("ignoreChanges keeps the recorded value of the named input", async () => {
        await stack.up({ ignoreRestart: true, restart: "always" });
        expect(containerSteps()).toEqual(["same"]);
        expect((await inspect(name(2))).HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
        await stack.setConfig({ ignoreRestart: null, restart: "unless-stopped" });
    });

    test("a healthcheck edit is a no-op update, and a replacement with replaceOnChanges", async () => {
        const id = (await inspect(name(2))).Id;
        await stack.up({ healthInterval: "2s" });
        expect(containerSteps()).toEqual(["update"]);
        expect((await inspect(name(2))).Id).toBe(id);
        expect((await inspect(name(2))).Config.Healthcheck?.Interval).toBe(1e9);

        await stack.up({ healthInterval: "3s", replaceOnHealthcheck: true, deleteBeforeReplace: true });
        expect(containerSteps()).toEqual(["replace"]);
        expect((await inspect(name(2))).Config.Healthcheck?.Interval).toBe(3e9);
    });

    mockOnly("a resource option the harness does not implement fails loudly", async () => {
        await expect(stack.up({ protect: true })).rejects.toThrow(/resource option protect \(on docker:index\/container:Container proxy\) is not implemented/);
        await stack.setConfig({ protect: null });
    });

    test("preview plans without touching anything", async () => {
        const before = await labelledObjects(STACK);
        const plan = await stack.preview({ generation: 3 });
        expect(plan.filter((s) => s.type === CONTAINER).map((s) => s.op)).toEqual(["replace"]);
        expect(await labelledObjects(STACK)).toEqual(before);
        await stack.setConfig({ generation: 2 });
    });

    test("destroy removes everything, a second destroy is a no-op", async () => {
        await stack.destroy();
        expect(await labelledObjects(STACK)).toEqual({ containers: [], volumes: [], networks: [] });
        expect(await stack.destroy()).toEqual([]);
    });
});
