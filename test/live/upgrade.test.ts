/**
 * Issue 21, a changed image: a 1+1 lab moved to another build of its server image (another image id,
 * as `pulumi up` after pulling a newer tag sees it). The servers' containers are replaced and start
 * on the data their volumes hold: each keeps its server_id, server UUID and rows, and replication
 * goes on. The lab's data template is made again from the new image, and a replica added after is
 * filled from it. The image here is the test image under another name with one more layer, so the
 * server version is the same and the test is about the lab, not about a server upgrade.
 */
import Docker from "dockerode";
import { parseMysqlUrl } from "../../scripts/lib/outputs";
import { describeWithDocker, imageExists } from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import { forgetStack, lanePort, laneStack, liveStack, tearDownStack, testLabConfig } from "../support/harness/liveStack";
import { ServerLogin, replicaStatus, rows, waitFor, withConn } from "../support/mysql";

jest.setTimeout(300_000);

const STACK = laneStack("livetest-upgrade");
const BASE_PORT = lanePort(25200);
const PREFIX = `mysql-replicas-${STACK}`;
const TEMPLATE = "pulumi-nodejs:dynamic/data:Template";

/** The test image under a name of this lane's own, with one more (empty) layer: a new image id, the same server. */
function rebuiltName(): string {
    const colon = TEST_IMAGE.lastIndexOf(":");
    return `${TEST_IMAGE.slice(0, colon)}-rebuilt-${STACK}${TEST_IMAGE.slice(colon)}`;
}

describeWithDocker("live: the lab on a new image (issue 21)", () => {
    const docker = new Docker();
    const rebuilt = rebuiltName();
    const { config, rootPassword } = testLabConfig({ basePort: BASE_PORT, readEndpointPort: BASE_PORT + 99, readEndpoint: false });
    const stack = liveStack({ stack: STACK, config: { ...config, replicaCount: 1 } });
    const root = (index: number): ServerLogin => ({ host: "127.0.0.1", port: BASE_PORT + index, user: "root", password: rootPassword });
    let outputs: Record<string, any> = {};
    const container = (index: number) => docker.getContainer(`${PREFIX}-server-${index}`).inspect();
    const identity = (index: number) => withConn(root(index), async (c) => (await rows(c,
        `SELECT @@GLOBAL.server_id AS id, ${outputs.flavor === "mysql" ? "@@GLOBAL.server_uuid" : "''"} AS uuid`))[0]);
    const count = (index: number) => withConn(root(index), async (c) => Number((await rows(c, "SELECT COUNT(*) AS n FROM app.t"))[0].n));

    async function holdsEveryRow(indexes: number[]): Promise<void> {
        const onSource = await count(0);
        for (const i of indexes) {
            await waitFor(`server ${i} to hold the source's ${onSource} rows`, 30_000, async () => ((await count(i)) === onSource ? true : undefined), 250);
        }
    }

    beforeAll(async () => {
        if (!imageExists(TEST_IMAGE)) throw new Error(`${TEST_IMAGE} is not on the Docker host: run \`bash scripts/testbed.sh\``);
        await forgetStack(stack);
        const [repo, tag] = [rebuilt.slice(0, rebuilt.lastIndexOf(":")), rebuilt.slice(rebuilt.lastIndexOf(":") + 1)];
        const base = await docker.createContainer({ Image: TEST_IMAGE });
        await base.commit({ repo, tag, comment: "mysql-replicas live test: a new image id for the same server" });
        await base.remove({ v: true });
        outputs = await stack.up();
        await withConn(parseMysqlUrl(outputs.appConnectionString), async (c) => {
            await rows(c, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(64) NOT NULL)");
            for (let i = 0; i < 100; i++) await rows(c, "INSERT INTO t (note) VALUES ('before the new image')");
        });
    });

    afterAll(async () => {
        await tearDownStack(stack);
        await docker.getImage(rebuilt).remove().catch(() => undefined);
    });

    test("every server is replaced on the new image and keeps its identity and rows; replication goes on", async () => {
        await holdsEveryRow([1]);
        const before = [await container(0), await container(1)];
        const identities = [await identity(0), await identity(1)];
        const newImage = (await docker.getImage(rebuilt).inspect()).Id;
        expect(before.map((c) => c.Image)).not.toContain(newImage);

        outputs = await stack.up({ image: rebuilt });
        const after = [await container(0), await container(1)];
        expect(after.map((c) => c.Image)).toEqual([newImage, newImage]);
        expect(after.map((c) => c.Id)).not.toContain(before[0].Id);
        expect(after.map((c) => c.Id)).not.toContain(before[1].Id);
        // The template is made again from the new image; the servers' volumes held data, so nothing was copied over them.
        expect(stack.lastSteps.filter((s) => s.type === TEMPLATE).map((s) => s.op)).toEqual(["replace"]);
        expect([await identity(0), await identity(1)]).toEqual(identities);
        expect([await count(0), await count(1)]).toEqual([100, 100]);

        await withConn(parseMysqlUrl(outputs.appConnectionString), (c) => rows(c, "INSERT INTO t (note) VALUES ('on the new image')"));
        await holdsEveryRow([1]);
        const status = await withConn(root(1), replicaStatus);
        expect({ io: status?.ioRunning, sql: status?.sqlRunning }).toEqual({ io: "Yes", sql: "Yes" });
    });

    test("a replica added on the new image starts from the new template, as itself, and catches up", async () => {
        outputs = await stack.up({ image: rebuilt, replicaCount: 2 });
        expect((await container(2)).Image).toBe((await docker.getImage(rebuilt).inspect()).Id);
        expect(stack.lastSteps.filter((s) => s.type === TEMPLATE).map((s) => s.op)).toEqual(["update"]);
        await holdsEveryRow([1, 2]);
        const ids = [await identity(0), await identity(1), await identity(2)];
        expect(ids.map((x) => Number(x.id))).toEqual(outputs.serverIds);
        if (outputs.flavor === "mysql") expect(new Set(ids.map((x) => x.uuid)).size).toBe(3);
        const status = await withConn(root(2), replicaStatus);
        expect({ io: status?.ioRunning, sql: status?.sqlRunning }).toEqual({ io: "Yes", sql: "Yes" });
    });
});
