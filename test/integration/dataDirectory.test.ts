/**
 * Issue 21, one initialisation per lab: the DataTemplate provider against the Docker engine and every
 * test image. The template is the image's own `mysqld --initialize-insecure` with an
 * init file (MySQL) or `mariadb-install-db` with an extra file (MariaDB); servers
 * started on copies of it are each themselves (server_id from their command, a server UUID of their
 * own), hold no GTID and no initialisation transaction in a binary log, take the configured root
 * password, and are fenced from their first start. The template's own container fills the servers'
 * volumes; a volume added later is filled by the update; one that holds data is never overwritten.
 */
import { execFileSync } from "node:child_process";
import { DataTemplateInputs, DataTemplateOutputs, dataTemplateProvider, fillVolumes } from "../../components/replication/dataDirectory";
import { initFiles, templateInitArgs } from "../../components/serverOptions";
import {
    LabRun, createServerContainer, dataVolume, describeWithDocker, docker, imageServer, startHealthy,
} from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import { KIND } from "../support/labs/testLab";
import { ServerLogin, rows, withConn } from "../support/mysql";

jest.setTimeout(300_000);

/** What `cmd` prints in container `name` (stdout); fails on a nonzero exit. */
function execIn(name: string, cmd: string[]): string {
    return execFileSync("docker", ["exec", name, ...cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
}

/** A run of this suite: its labels, and removal of all it made. */
class CopyRun extends LabRun {
    constructor() {
        super(KIND, "datadir");
    }
    static start(): Promise<CopyRun> {
        return LabRun.launch(new CopyRun(), async () => undefined);
    }
}

describeWithDocker(`one initialisation per lab: data template and copies on ${TEST_IMAGE}`, () => {
    const { flavor, version } = imageServer(TEST_IMAGE);
    const rootPassword = `Root-tmpl-${Date.now().toString(36)}`;
    let run: CopyRun;
    let template: DataTemplateInputs;
    const servers = [{ name: "a", serverId: 31, port: 23360 }, { name: "b", serverId: 32, port: 23361 }];
    const containerName = (n: string) => `mrit-datadir-${run.runId}-${n}`;
    const root = (port: number): ServerLogin => ({ host: "127.0.0.1", port, user: "root", password: rootPassword });
    const volume = (n: string) => dataVolume(containerName(n));
    let made: DataTemplateOutputs;
    const create = (s: { name: string; serverId: number; port: number }) => createServerContainer({ name: containerName(s.name), image: TEST_IMAGE,
        serverId: s.serverId, rootPassword: "not-used-on-a-copy", hostPort: s.port, labels: run.labels(), onCopy: true });

    beforeAll(async () => {
        run = await CopyRun.start();
        template = {
            volumeName: `mrit-datadir-${run.runId}-template`, image: TEST_IMAGE, flavor,
            command: templateInitArgs(flavor, version)!, rootPassword, initFiles: initFiles(flavor, version),
            serverVolumes: servers.map((s) => volume(s.name)), labels: run.labels(), timeoutSeconds: 240,
        };
    });
    afterAll(async () => {
        await run?.cleanup();
    });

    test("the template is the image's own initialisation, on a volume of its own, and its container fills the servers' empty volumes", async () => {
        // The servers' volumes (and containers, not started) exist first, as the lab makes them.
        const ids = [];
        for (const s of servers) ids.push(await create(s));
        const created = await dataTemplateProvider.create!(template);
        made = created.outs as DataTemplateOutputs;
        expect(created.id).toBe(template.volumeName);
        expect(made.filled).toEqual(template.serverVolumes);
        expect((await dataTemplateProvider.read!(created.id, made)).props).toMatchObject({ filled: template.serverVolumes });
        // Nothing of its initialisation is left: not its container, nor a mark of a copy under way.
        const left = await docker.listContainers({ all: true, filters: JSON.stringify({ name: [`${template.volumeName}-init`] }) });
        expect(left).toEqual([]);
        for (const [i, s] of servers.entries()) {
            await startHealthy(ids[i], s.name, 120_000);
            expect(execIn(containerName(s.name), ["ls", "-A", "/var/lib/mysql"])).not.toContain(".mysql-replicas-copying");
        }
    });

    test("servers started on copies are each themselves: own server_id and UUID, no GTID, no binlogged initialisation, root's password, fenced", async () => {
        const seen: { id: number; uuid: string }[] = [];
        for (const s of servers) {
            await withConn(root(s.port), async (c) => {
                const [ids] = await rows(c, `SELECT @@GLOBAL.server_id AS id${flavor === "mysql" ? ", @@GLOBAL.server_uuid AS uuid" : ", '' AS uuid"}`);
                seen.push({ id: Number(ids.id), uuid: String(ids.uuid) });
                const [gtid] = await rows(c, flavor === "mysql"
                    ? "SELECT @@GLOBAL.gtid_executed AS executed, @@GLOBAL.gtid_purged AS purged"
                    : "SELECT @@GLOBAL.gtid_binlog_state AS executed, @@GLOBAL.gtid_slave_pos AS purged");
                expect({ server: s.name, executed: gtid.executed, purged: gtid.purged }).toEqual({ server: s.name, executed: "", purged: "" });
                // One binary log, of this server, with no transaction in it.
                const logs = await rows(c, "SHOW BINARY LOGS");
                expect(logs).toHaveLength(1);
                const events = await rows(c, `SHOW BINLOG EVENTS IN '${logs[0].Log_name}'`);
                expect(events.filter((e) => /Gtid$|^Query$|Write_rows|Xid/.test(String(e.Event_type))).map((e) => e.Event_type)).toEqual([]);
                expect(events.every((e) => Number(e.Server_id) === s.serverId)).toBe(true);
                const [fence] = await rows(c, `SELECT @@GLOBAL.read_only AS r${flavor === "mysql" ? ", @@GLOBAL.super_read_only AS s" : ", NULL AS s"}`);
                expect({ readOnly: Number(fence.r), superReadOnly: fence.s === null ? null : Number(fence.s) })
                    .toEqual({ readOnly: 1, superReadOnly: flavor === "mysql" ? 1 : null });
                if (flavor === "mysql") await expect(rows(c, "CREATE DATABASE by_root")).rejects.toMatchObject({ code: "ER_OPTION_PREVENTS_STATEMENT" });
            });
        }
        // The server program is PID 1 (it gets docker stop's SIGTERM), as the image's user, and takes
        // socket logins: the entrypoint that made the socket directory was not run.
        for (const s of servers) {
            const status = await execIn(containerName(s.name), ["cat", "/proc/1/status"]);
            expect(status).toMatch(new RegExp(`^Name:\\s+${flavor === "mysql" ? "mysqld" : "mariadbd"}$`, "m"));
            expect(status).toMatch(/^Uid:\s+(\d+)\s/m);
            const uid = status.match(/^Uid:\s+(\d+)\s/m)![1];
            expect(await execIn(containerName(s.name), ["id", "-u", "mysql"])).toBe(`${uid}\n`);
            const client = flavor === "mysql" ? "mysql" : "mariadb";
            expect(await execIn(containerName(s.name), [client, "-uroot", `-p${rootPassword}`, "-N", "-e", "SELECT @@GLOBAL.server_id"]))
                .toBe(`${s.serverId}\n`);
        }
        expect(seen.map((x) => x.id)).toEqual(servers.map((s) => s.serverId));
        if (flavor === "mysql") expect(new Set(seen.map((x) => x.uuid)).size).toBe(servers.length);
        // The template's own identity was not copied either.
        await expect(withConn({ ...root(servers[0].port), password: "not-used-on-a-copy" }, async () => true)).rejects.toMatchObject({ code: "ER_ACCESS_DENIED_ERROR" });
    });

    test("a server added later is filled by the update, from one helper container; a volume that holds data is kept as it is", async () => {
        const before = await withConn(root(servers[0].port), async (c) => (await rows(c, "SHOW BINARY LOGS")).map((l) => l.Log_name));
        await docker.getContainer(containerName(servers[0].name)).stop({ t: 30 });
        const added = { name: "c", serverId: 33, port: 23362 };
        const id = await create(added);
        const news = { ...template, serverVolumes: [...template.serverVolumes, volume(added.name)] };
        expect(await dataTemplateProvider.diff!(template.volumeName, made, news)).toMatchObject({ changes: true, replaces: [] });
        const updated = await dataTemplateProvider.update!(template.volumeName, made, news);
        made = updated.outs as DataTemplateOutputs;
        expect(made.filled).toEqual(news.serverVolumes);
        expect(await dataTemplateProvider.diff!(template.volumeName, made, news)).toMatchObject({ changes: false });
        await startHealthy(containerName(servers[0].name), servers[0].name, 120_000);
        const after = await withConn(root(servers[0].port), async (c) => (await rows(c, "SHOW BINARY LOGS")).map((l) => l.Log_name));
        // The restart began a second log after the first: the first is still there.
        expect(after.slice(0, before.length)).toEqual(before);
        await startHealthy(id, added.name, 120_000);
        await withConn(root(added.port), async (c) => {
            const [r] = await rows(c, "SELECT @@GLOBAL.server_id AS id");
            expect(Number(r.id)).toBe(added.serverId);
        });
        // Asked again, nothing more is copied: every volume holds data.
        expect(await fillVolumes({ templateVolume: template.volumeName, volumes: news.serverVolumes, image: TEST_IMAGE, labels: run.labels() })).toEqual([]);
    });

    test("a copy cut short is made again; a server volume gone is found by read and filled again", async () => {
        // A volume holding the mark of a copy under way, and a stray file: copied from scratch.
        const cut = `mrit-datadir-${run.runId}-cut`;
        await docker.createVolume({ Name: cut, Labels: run.labels() });
        const seed = await docker.createContainer({ Image: TEST_IMAGE, Entrypoint: ["sh", "-c", "touch /d/.mysql-replicas-copying /d/stray"],
            Labels: run.labels(), HostConfig: { Binds: [`${cut}:/d`], NetworkMode: "none" } });
        await seed.start();
        await seed.wait();
        await seed.remove({ v: true });
        expect(await fillVolumes({ templateVolume: template.volumeName, volumes: [cut], image: TEST_IMAGE, labels: run.labels() })).toEqual([cut]);
        const check = await docker.createContainer({ Image: TEST_IMAGE, Entrypoint: ["sh", "-c", "ls -A /d"],
            Labels: run.labels(), HostConfig: { Binds: [`${cut}:/d`], NetworkMode: "none" } });
        await check.start();
        await check.wait();
        const listing = String(await check.logs({ stdout: true }));
        await check.remove({ v: true });
        expect(listing).toContain("mysql");
        expect(listing).not.toMatch(/stray|mysql-replicas-copying/);
        // A server volume removed behind the lab's back: read no longer counts it, and diff asks for a copy.
        await docker.getVolume(cut).remove();
        const withCut = { ...made, serverVolumes: [...made.serverVolumes, cut], filled: [...made.filled, cut] };
        const read = await dataTemplateProvider.read!(template.volumeName, withCut);
        expect((read.props as DataTemplateOutputs).filled).toEqual(made.filled);
        expect(await dataTemplateProvider.diff!(template.volumeName, read.props as DataTemplateOutputs, { ...template, serverVolumes: withCut.serverVolumes }))
            .toMatchObject({ changes: true, replaces: [] });
    });

    test("delete removes the template's volume, and a helper a cut-short up left on it; a later read finds it gone, and filling from it says so", async () => {
        const left = await docker.createContainer({ name: `${template.volumeName}-fill-left`, Image: TEST_IMAGE, Entrypoint: ["sleep", "600"],
            Labels: run.labels(), HostConfig: { Binds: [`${template.volumeName}:/template:ro`], NetworkMode: "none" } });
        await left.start();
        await dataTemplateProvider.delete!(template.volumeName, made);
        await expect(left.inspect()).rejects.toMatchObject({ statusCode: 404 });
        expect((await dataTemplateProvider.read!(template.volumeName, made)).id).toBe("");
        await expect(fillVolumes({ templateVolume: template.volumeName, volumes: [volume("d")], image: TEST_IMAGE, labels: run.labels() }))
            .rejects.toThrow(`the lab's data template ${template.volumeName} is gone`);
    });
});
