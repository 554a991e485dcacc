/**
 * ServerReady, the gate every server's dependents wait on, against the Docker engine and every test
 * image: it is done once the server in the container takes connections (a root login works at once),
 * it fails early with the container's own words when the server cannot start, and it times out, saying
 * so, when the container runs but nothing answers behind Docker's port proxy.
 */
import { ServerReadyInputs, serverReadyProvider } from "../../components/replication/serverReady";
import { serverEntrypoint } from "../../components/serverOptions";
import {
    LabRun, createDataTemplate, createServerContainer, dataVolume, describeWithDocker, docker, imageServer,
} from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import { KIND } from "../support/labs/testLab";
import { openConnection } from "../support/mysql";

jest.setTimeout(300_000);

class ReadyRun extends LabRun {
    constructor() {
        super(KIND, "ready");
    }
    static start(): Promise<ReadyRun> {
        return LabRun.launch(new ReadyRun(), async () => undefined);
    }
}

describeWithDocker(`ServerReady waits for the server, not for Docker's health check, on ${TEST_IMAGE}`, () => {
    const { flavor } = imageServer(TEST_IMAGE);
    const rootPassword = `Root-ready-${Date.now().toString(36)}`;
    let run: ReadyRun;
    const name = (n: string) => `mrit-ready-${run.runId}-${n}`;
    const inputs = (container: string, id: string, port: number, timeoutSeconds = 120): ServerReadyInputs =>
        ({ serverName: container, containerId: id, adminHost: "127.0.0.1", adminPort: port, timeoutSeconds });

    /** A container of the test image that runs `cmd` as its whole program, with 3306 published on `port`. */
    async function plainContainer(container: string, port: number, entrypoint: string[], cmd: string[], restart: boolean): Promise<string> {
        await docker.createVolume({ Name: dataVolume(container), Labels: run.labels() });
        const c = await docker.createContainer({
            name: container, Image: TEST_IMAGE, Entrypoint: entrypoint, Cmd: cmd, Labels: run.labels(),
            ExposedPorts: { "3306/tcp": {} },
            HostConfig: {
                PortBindings: { "3306/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
                Mounts: [{ Type: "volume", Source: dataVolume(container), Target: "/var/lib/mysql" }],
                ...(restart ? { RestartPolicy: { Name: "unless-stopped" } } : {}),
            },
        });
        await c.start();
        return c.id;
    }

    beforeAll(async () => {
        run = await ReadyRun.start();
    });
    afterAll(async () => {
        await run?.cleanup();
    });

    test("done once the server takes connections: root logs in at once, before Docker has called the container healthy", async () => {
        const template = await createDataTemplate({ volumeName: name("template"), image: TEST_IMAGE, rootPassword, labels: run.labels() });
        const port = 23370;
        const id = await createServerContainer({ name: name("up"), image: TEST_IMAGE, serverId: 41, rootPassword, hostPort: port,
            labels: run.labels(), templateVolume: template });
        await docker.getContainer(id).start();
        const created = await serverReadyProvider.create!(inputs(name("up"), id, port));
        expect(created.id).toBe(`${name("up")}-${id.slice(0, 12)}`);
        // No retry: the server must take this login now.
        const conn = await openConnection({ host: "127.0.0.1", port, user: "root", password: rootPassword }, 0);
        await conn.end();
        const health = (await docker.getContainer(id).inspect()).State.Health?.Status;
        // Reported, not asserted: whether Docker's first check has run yet is a matter of timing.
        console.log(`ServerReady done while Docker's health check said "${health}"`);
    });

    // On an empty volume with an unknown option: MariaDB stops at the option, MySQL at its missing
    // system tablespace first. Either way the server's own [ERROR] lines are what the failure shows.
    test("a server that cannot start fails the wait within seconds, with what the server said", async () => {
        const port = 23371;
        const container = name("broken");
        const id = await plainContainer(container, port, serverEntrypoint(flavor), ["--no-such-option-anywhere"], true);
        const started = Date.now();
        const failure = serverReadyProvider.create!(inputs(container, id, port));
        await expect(failure).rejects.toThrow(new RegExp(`server ${container} \\(127\\.0\\.0\\.1:${port}\\) did not start: ` +
            "its container exited and was restarted by Docker \\(\\d+ restarts?\\); its last words:\\n[^]*\\[ERROR\\]"));
        expect(Date.now() - started).toBeLessThan(60_000);
    });

    test("a container that runs with nothing listening behind its published port times out, saying so", async () => {
        const port = 23372;
        const container = name("silent");
        const id = await plainContainer(container, port, ["sleep"], ["600"], false);
        await expect(serverReadyProvider.create!(inputs(container, id, port, 2)))
            .rejects.toThrow(`server ${container} (127.0.0.1:${port}) took no connection within 2 s, though its container runs`);
    });

    test("a container that is gone fails the wait at its first look", async () => {
        const port = 23373;
        const container = name("gone");
        const id = await plainContainer(container, port, ["sleep"], ["600"], false);
        await docker.getContainer(id).remove({ force: true });
        await expect(serverReadyProvider.create!(inputs(container, id, port)))
            .rejects.toThrow(`server ${container} (127.0.0.1:${port}) did not start: its container is gone`);
    });
});
