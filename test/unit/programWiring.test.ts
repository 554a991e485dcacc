/**
 * The real index.ts under Pulumi's mock runtime: secrets, dependencies between resources, and each flavor's differences.
 * (Three files, not one: each program run keeps memory that only a new jest worker gives back.)
 */
import { accountPlan } from "../../components/accounts";
import { ProgramRun, TYPES, isSecret, ofType, reveal } from "../support/mocks/program";
import { byUrn, labUsers, named, ofLabAccounts, program, serverContainers } from "../support/mocks/programQueries";

jest.setTimeout(60_000);

describe("secrets", () => {
    test("generated passwords stay secret in inputs and outputs", async () => {
        const run = await program({ replicaCount: "1" });
        expect(ofType(run, TYPES.password).map((p) => p.name).sort())
            .toEqual(["lab-app-app-password", "lab-app-monitor-password", "lab-appPassword", "lab-readonlyPassword", "lab-replicationPassword", "lab-rootPassword"]);
        for (const c of serverContainers(run)) expect(isSecret(c.inputs.envs)).toBe(true);
        for (const r of ofType(run, TYPES.replication)) {
            expect(isSecret(r.inputs.password)).toBe(true);
            expect(isSecret(r.inputs.adminPassword)).toBe(true);
            expect(r.additionalSecretOutputs).toEqual(expect.arrayContaining(["password", "adminPassword"]));
        }
        for (const u of labUsers(run, TYPES.sqlUser)) expect(isSecret(u.inputs.plaintextPassword)).toBe(true);
        for (const r of [...ofType(run, TYPES.sqlDatabase), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlGrant)]) {
            expect(isSecret(r.inputs.adminPassword)).toBe(true);
        }
        // No plain output carries a password.
        const plain = JSON.stringify({ ...run.outputs, appConnectionString: 0, readonlyConnectionStrings: 0, adminConnectionStrings: 0 });
        expect(plain).not.toContain("password");
        const admin = run.outputs.adminConnectionStrings as unknown[];
        expect(admin).toEqual([{ secret: expect.stringMatching(/^mysql:\/\/root:.+@127\.0\.0\.1:13306\/app$/) },
            { secret: expect.stringMatching(/^mysql:\/\/root:.+@127\.0\.0\.1:13307\/app$/) }]);
        expect(run.outputs.roles).toEqual(["source", "replica"]);
        expect(run.outputs.serverNames).toEqual(["mysql-replicas-dev-server-0", "mysql-replicas-dev-server-1"]);
    });

    test("passwords are URL-encoded in connection strings", async () => {
        const run = await program({}, { secrets: { appPassword: "a@b/c:d%41" } });
        const url = (run.outputs.appConnectionString as { secret: string }).secret;
        expect(url).toBe("mysql://app:a%40b%2Fc%3Ad%2541@127.0.0.1:13306/app");
        expect(decodeURIComponent(new URL(url).password)).toBe("a@b/c:d%41");
    });

    test("passwords from config are used and kept secret; only the demo app's own are generated", async () => {
        const secrets = { rootPassword: "r00t-pw", replicationPassword: "repl-pw", appPassword: "app-pw", readonlyPassword: "ro-pw" };
        const run = await program({}, { secrets });
        expect(ofType(run, TYPES.password).map((p) => p.name).sort()).toEqual(["lab-app-app-password", "lab-app-monitor-password"]);
        expect(reveal<string[]>(serverContainers(run)[0].inputs.envs)).toContain("MYSQL_ROOT_PASSWORD=r00t-pw");
        expect(reveal(ofType(run, TYPES.replication)[0].inputs.password)).toBe("repl-pw");
        expect(run.outputs.appConnectionString).toEqual({ secret: "mysql://app:app-pw@127.0.0.1:13306/app" });
        // Nothing but secret wrappers holds them.
        for (const r of run.registrations) {
            const visible = JSON.stringify(r.inputs, (k, v) => (isSecret(v) ? "<secret>" : k === "__provider" ? "<provider>" : v));
            for (const pw of Object.values(secrets)) expect(visible).not.toContain(pw);
        }
    });
});

describe("dependencies", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await program({ replicaCount: "2" });
    });

    test("each Replication depends on its replica's and the source's servers answering, and the replication grant", () => {
        const source = named(run, TYPES.serverReady, "lab-server-0-ready");
        const grant = named(run, TYPES.sqlGrant, "lab-accounts-replication-grant");
        for (const i of [1, 2]) {
            const replication = named(run, TYPES.replication, `lab-server-${i}-replication`);
            const replica = named(run, TYPES.serverReady, `lab-server-${i}-ready`);
            expect(replication.dependencies).toEqual(expect.arrayContaining([replica.urn, source.urn, grant.urn]));
            expect(replication.deletedWith).toBe(named(run, TYPES.container, `lab-server-${i}-container`).urn);
            expect(replication.inputs).toMatchObject({ sourceHost: "mysql-replicas-dev-server-0", sourcePort: 3306,
                adminHost: "127.0.0.1", adminPort: 13306 + i, sourceProbePort: 13306, user: "repl", connectRetry: 2 });
        }
    });

    test("a replica's role is applied after its replication", () => {
        const replication = named(run, TYPES.replication, "lab-server-1-replication");
        expect(named(run, TYPES.serverRole, "lab-server-1-role").dependencies).toContain(replication.urn);
    });

    test("each role follows its server's container: a new container (new image or password) gets its role again", () => {
        for (const i of [0, 1, 2]) {
            const container = named(run, TYPES.container, `lab-server-${i}-container`);
            const role = named(run, TYPES.serverRole, `lab-server-${i}-role`);
            expect(role.inputs.serverInstance).toBe(`mysql-replicas-dev-server-${i}-id`);
            expect(role.dependencies).toContain(container.urn);
        }
    });

    test("accounts go with the source: deletedWith its container", () => {
        const source = named(run, TYPES.container, "lab-server-0-container");
        const accounts = [...ofType(run, TYPES.sqlDatabase), ...ofType(run, TYPES.sqlUser), ...ofType(run, TYPES.sqlGrant)];
        // The lab's database, four users and three grants; the demo app's two users, three grants and two tables.
        expect(accounts).toHaveLength(1 + 4 + 3 + 2 + 3);
        accounts.push(...ofType(run, "pulumi-nodejs:dynamic/sql:Table"), ...ofType(run, "pulumi-nodejs:dynamic/sql:DesiredTopology"));
        for (const r of accounts) expect(r.deletedWith).toBe(source.urn);
    });

    test("every resource has a parent inside the lab component", () => {
        const lab = run.registrations.find((r) => r.type === "mysqllab:index:MysqlLab")!;
        for (const r of run.registrations.filter((x) => x !== lab)) {
            let parent = byUrn(run, r.parent);
            while (parent && parent !== lab) parent = byUrn(run, parent.parent);
            expect([r.name, parent?.name]).toEqual([r.name, "lab"]);
        }
    });
});

describe("flavors", () => {
    test("both flavors declare the lab's own SQL resources with the same grants, and nothing of @pulumi/mysql", async () => {
        const [mysqlRun, mariaRun] = await Promise.all([
            program({ image: "mysql:8.4" }),
            program({ image: "mariadb:11.4" }),
        ]);
        const accounts = (run: ProgramRun) => ({
            foreign: run.registrations.filter((x) => /^(mysql:|pulumi:providers:mysql)/.test(x.type)).map((x) => x.type),
            database: ofType(run, TYPES.sqlDatabase).map((d) => d.inputs.name),
            users: labUsers(run, TYPES.sqlUser).map((u) => `${u.inputs.user}@${u.inputs.host}`).sort(),
            grants: ofLabAccounts(run, TYPES.sqlGrant)
                .map((g) => `${g.inputs.user}@${g.inputs.host} ${[...(g.inputs.privileges as string[])].sort().join(",")} ON ${g.inputs.database}.${g.inputs.table}`)
                .sort(),
        });
        expect(accounts(mariaRun)).toEqual(accounts(mysqlRun));
        expect(accounts(mysqlRun)).toEqual({
            foreign: [],
            database: ["app"],
            users: ["app@%", "reader@%", "repl@%"],
            grants: ["app@% ALL PRIVILEGES ON app.*", "reader@% SELECT ON app.*", "repl@% REPLICATION CLIENT,REPLICATION SLAVE ON *.*"],
        });
    });

    test("grants: replication privileges only for repl, all on the app database for app, SELECT for reader", () => {
        const plan = Object.fromEntries(accountPlan("shop").map((a) => [a.user, `${a.privileges.join(",")} ON ${a.database}`]));
        expect(plan).toEqual({ repl: "REPLICATION CLIENT,REPLICATION SLAVE ON *", app: "ALL PRIVILEGES ON shop", reader: "SELECT ON shop" });
    });

    test("MariaDB servers get MariaDB options and environment", async () => {
        const run = await program({ image: "mariadb:10.11" });
        const c = serverContainers(run)[0];
        expect(c.inputs.command).toContain("--gtid-strict-mode=ON");
        expect(reveal<string[]>(c.inputs.envs)[0]).toMatch(/^MARIADB_ROOT_PASSWORD=/);
        expect((c.inputs.healthcheck as { tests: string[] }).tests[1]).toBe("mariadb-admin");
        // MariaDB cannot fence root (READ_ONLY ADMIN): it starts from --read-only=ON alone.
        expect(c.inputs.uploads ?? []).toEqual([]);
        // One template by mariadb-install-db, with no binary log; every server starts on a copy.
        const [template, ...more] = ofType(run, TYPES.dataTemplate);
        expect(more).toEqual([]);
        expect(template.inputs.flavor).toBe("mariadb");
        expect(template.inputs.command).toEqual(expect.arrayContaining(["--skip-log-bin", "--auth-root-authentication-method=normal"]));
        expect(template.inputs.serverVolumes).toHaveLength(serverContainers(run).length);
        // On a copy the server program starts directly, as the image's user.
        expect(c.inputs.entrypoints).toEqual(["sh", "-c", expect.stringContaining("exec mariadbd --user=mysql \"$@\""), "mariadbd"]);
    });

    test("MariaDB before 10.6 has no template: its servers initialise themselves", async () => {
        const run = await program({ image: "mariadb:10.5" });
        expect(ofType(run, TYPES.dataTemplate)).toEqual([]);
        expect(serverContainers(run)).toHaveLength(3);
        // The image's entrypoint initialises each one.
        for (const c of serverContainers(run)) expect(c.inputs.entrypoints).toBeUndefined();
    });

    test("one data template per lab, initialised with the fence (MySQL) and the root password as a secret; each server starts on a copy", async () => {
        const run = await program({ image: "mysql:9.7", replicaCount: "2" });
        const [template, ...more] = ofType(run, TYPES.dataTemplate);
        expect(more).toEqual([]);
        expect(template.inputs.volumeName).toBe("mysql-replicas-dev-template");
        expect(template.inputs.flavor).toBe("mysql");
        expect((template.inputs.initFiles as { file: string; content: string }[]).map((f) => f.file))
            .toEqual(["/docker-entrypoint-initdb.d/mysql-replicas-fence.sql"]);
        expect(isSecret(template.inputs.rootPassword)).toBe(true);
        expect(template.additionalSecretOutputs).toContain("rootPassword");
        // mysqld initialises the directory itself, with no binary log: the template holds no GTID.
        expect(template.inputs.command).toEqual(expect.arrayContaining(["--initialize-insecure", "--skip-log-bin"]));
        // It fills the servers' volumes, so it comes after them, and their containers after it.
        expect(template.inputs.serverVolumes).toEqual([0, 1, 2].map((i) => `mysql-replicas-dev-server-${i}-data`));
        const volumes = ofType(run, TYPES.volume);
        expect(volumes).toHaveLength(3);
        for (const v of volumes) expect(template.dependencies).toContain(v.urn);
        for (const c of serverContainers(run)) {
            expect(c.dependencies).toContain(template.urn);
            // The fence comes with the copy: the container itself uploads nothing, so its first start is fenced already.
            expect(c.inputs.uploads ?? []).toEqual([]);
            expect(c.inputs.entrypoints).toEqual(["sh", "-c", expect.stringContaining("exec mysqld --user=mysql \"$@\""), "mysqld"]);
        }
    });
});
