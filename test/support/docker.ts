/**
 * Docker for the tests: whether an engine answers (tests that need one fail under CI=true without
 * it and skip loudly elsewhere), and the throwaway MySQL/MariaDB servers the tests start with
 * dockerode, without Pulumi: run labels, the one place a test server container is assembled (the
 * program's mysqld options, environment and health check from components/serverOptions.ts) on a
 * network with a named volume and a port published on 127.0.0.1, health waits, log tails, and
 * removing a run or what earlier runs left.
 *
 * Used by the hand-made labs in labs/ (label mysql-replicas.test=integration or tools) and the
 * benchmarks. Every object carries the kind's label and the run's, suite's and process's.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import Docker from "dockerode";
import { imageTagVersion, inferFlavor } from "../../components/imageName";
import type { Flavor } from "../../components/replication/sql";
import { healthcheck, serverArgs, serverEntrypoint, serverEnv, templateInitArgs } from "../../components/serverOptions";
import { TEST_IMAGE } from "./images";
import { dataTemplateProvider, fillVolumes } from "../../components/replication/dataDirectory";
import { demuxLogs } from "../../components/replication/dockerEngine";

// ---------------------------------------------------------------- is there an engine

let cached: { ok: boolean; reason: string } | undefined;

export function dockerStatus(): { ok: boolean; reason: string } {
    if (!cached) {
        try {
            execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 15_000 });
            cached = imageExists(TEST_IMAGE)
                ? { ok: true, reason: "" }
                : { ok: false, reason: `the test image ${TEST_IMAGE} is not on the Docker host; run \`bash scripts/testbed.sh\` ` +
                    "(Debian/Ubuntu) or pull an official one and set LAB_TEST_IMAGE, e.g. LAB_TEST_IMAGE=mysql:8.4" };
        } catch (err) {
            const e = err as Error & { stderr?: Buffer | string; code?: string };
            const said = e.code === "ENOENT" ? "no docker command on PATH" : String(e.stderr ?? "").trim().split("\n").pop() || e.message.split("\n")[0];
            cached = { ok: false, reason: `no Docker engine answers \`docker info\` (${said}); run \`bash scripts/testbed.sh\`` };
        }
    }
    return cached;
}

/** `describe` for suites that need Docker: fails under CI=true without it, skips loudly elsewhere. */
export function describeWithDocker(name: string, body: () => void): void {
    const status = dockerStatus();
    if (status.ok) {
        describe(name, body);
    } else if (process.env.CI === "true") {
        describe(name, () => {
            test("needs a Docker engine", () => {
                throw new Error(`CI=true and ${status.reason}`);
            });
        });
    } else {
        // Jest drops the console output of a file whose tests are all skipped when it runs several
        // files, so the reason also goes to the file test/support/skipReporter.js prints at the end.
        // eslint-disable-next-line no-console
        console.warn(`\n*** SKIPPED "${name}": ${status.reason} ***\n`);
        noteSkip(`${name}: ${status.reason}`);
        describe.skip(name, body);
    }
}

/** Appends a skipped suite to the file jest.config.js names in LAB_SKIP_FILE, for skipReporter.js. */
function noteSkip(line: string): void {
    const file = process.env.LAB_SKIP_FILE;
    if (file) fs.appendFileSync(file, `${line}\n`);
}

/** Whether a local image exists (the test bed builds them). */
export function imageExists(image: string): boolean {
    try {
        execFileSync("docker", ["image", "inspect", image], { stdio: "pipe", timeout: 15_000 });
        return true;
    } catch {
        return false;
    }
}

// ---------------------------------------------------------------- test servers and runs

export const LABEL = "mysql-replicas.test";
export const RUN_LABEL = "mysql-replicas.test.run";
export const SUITE_LABEL = "mysql-replicas.test.suite";
export const PID_LABEL = "mysql-replicas.test.pid";

export const docker = new Docker();

/** Which labs a run belongs to: the value of its LABEL, and how leftovers of that kind are told. */
export interface RunKind {
    /** LABEL's value, e.g. "integration" or "tools". */
    readonly value: string;
    /**
     * Whether what a run of another suite in this same process left counts as a leftover (true where one
     * process runs one suite after another and each removes its lab before the next starts).
     */
    readonly ownProcessIsStale: boolean;
}

/** A new run id: base-36 time and four hex digits. */
export function newRunId(): string {
    return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

export function checkSuite(suite: string): void {
    if (!/^[a-z0-9-]+$/.test(suite)) throw new Error(`suite name ${suite} must be lower-case letters, digits and dashes`);
}

/** The labels of everything a run makes. */
export function runLabels(kind: RunKind, runId: string, suite: string): Record<string, string> {
    return { [LABEL]: kind.value, [RUN_LABEL]: runId, [SUITE_LABEL]: suite, [PID_LABEL]: String(process.pid) };
}

export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** A catch handler that rethrows unless Docker answered with one of `statuses`. */
function ignoreStatus(...statuses: number[]): (err: unknown) => void {
    return (err) => {
        if (!statuses.includes((err as { statusCode?: number }).statusCode as number)) throw err;
    };
}

/** The object is gone already, or being removed. */
export const ignoreMissing = ignoreStatus(404, 409);
/** The container was in that state already (start of a running one, stop of a stopped one). */
export const ignoreNotModified = ignoreStatus(304);
/** Gone, being removed, or stopped already: for stopping a container that may be gone. */
export const ignoreMissingOrStopped = ignoreStatus(404, 409, 304);

/**
 * Removes containers, networks and volumes of `kind` that earlier runs left: those of the same suite,
 * and those of any run whose process is gone. A run of another suite that is still going is left alone.
 */
export async function removeLeftovers(kind: RunKind, suite: string): Promise<void> {
    const filters = JSON.stringify({ label: [`${LABEL}=${kind.value}`] });
    const stale = (l: Record<string, string> | undefined) => {
        if (!l) return false;
        if (l[SUITE_LABEL] === suite) return true;
        const pid = Number(l[PID_LABEL]);
        return !Number.isInteger(pid) || (kind.ownProcessIsStale && pid === process.pid) || !processAlive(pid);
    };
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(containers.filter((c) => stale(c.Labels))
        .map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreMissing)));
    const networks = await docker.listNetworks({ filters });
    await Promise.all(networks.filter((n) => stale(n.Labels)).map((n) => docker.getNetwork(n.Id).remove().catch(ignoreMissing)));
    const { Volumes } = await docker.listVolumes({ filters });
    await Promise.all((Volumes ?? []).filter((v) => stale(v.Labels as Record<string, string>))
        .map((v) => docker.getVolume(v.Name).remove().catch(ignoreMissing)));
}

/** What a run made, by name, for assertions about cleanup. */
export interface LabObjects {
    readonly containers: string[];
    readonly volumes: string[];
    readonly networks: string[];
}

/** Lists the Docker objects carrying a run's label. */
export async function objectsOfRun(runId: string): Promise<LabObjects> {
    const filters = JSON.stringify({ label: [`${RUN_LABEL}=${runId}`] });
    const [containers, networks, volumes] = await Promise.all([
        docker.listContainers({ all: true, filters }),
        docker.listNetworks({ filters }),
        docker.listVolumes({ filters }),
    ]);
    return {
        containers: containers.map((c) => c.Names[0]?.replace(/^\//, "") ?? c.Id),
        networks: networks.map((n) => n.Name),
        volumes: (volumes.Volumes ?? []).map((v) => v.Name),
    };
}

/** Removes every container, volume and network of a run; safe to call more than once. */
export async function removeRun(runId: string): Promise<void> {
    const filters = JSON.stringify({ label: [`${RUN_LABEL}=${runId}`] });
    const errors: string[] = [];
    const attempt = (p: Promise<unknown>) => p.catch((e) => {
        try {
            ignoreMissing(e);
        } catch (err) {
            errors.push(err instanceof Error ? err.message : String(err));
        }
    });
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => attempt(docker.getContainer(c.Id).remove({ force: true, v: true }))));
    const { Volumes } = await docker.listVolumes({ filters });
    await Promise.all((Volumes ?? []).map((v) => attempt(docker.getVolume(v.Name).remove())));
    const networks = await docker.listNetworks({ filters });
    await Promise.all(networks.map((n) => attempt(docker.getNetwork(n.Id).remove())));
    if (errors.length > 0) throw new Error(`cleanup of run ${runId} failed: ${errors.join("; ")}`);
}

/**
 * One run's labels and cleanup; the labs extend it. `launch` is how a lab starts: leftovers of its kind
 * and suite removed first, then `build`, and on failure everything of the run removed before rethrowing.
 */
export class LabRun {
    readonly runId = newRunId();

    protected constructor(readonly kind: RunKind, readonly suite: string) {
        checkSuite(suite);
    }

    protected static async launch<T extends LabRun>(lab: T, build: () => Promise<void>): Promise<T> {
        await removeLeftovers(lab.kind, lab.suite);
        try {
            await build();
            return lab;
        } catch (err) {
            await lab.cleanup().catch(() => undefined);
            throw err;
        }
    }

    labels(): Record<string, string> {
        return runLabels(this.kind, this.runId, this.suite);
    }

    /** Removes every container, volume and network of this run; safe to call more than once, also after a failed start. */
    cleanup(): Promise<void> {
        return removeRun(this.runId);
    }
}

/** A bridge network for a run's servers, which reach each other by container name on it. */
export async function createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    await docker.createNetwork({ Name: name, Driver: "bridge", CheckDuplicate: true, Labels: labels });
}

/** Go duration ("2s", "1m30s", "500ms") to nanoseconds, as the provider's time.ParseDuration. */
export function durationNs(text: unknown, where: string): number {
    if (text === undefined || text === null || text === "") return 0;
    if (typeof text !== "string") throw new Error(`${where}: expected a duration string, got ${JSON.stringify(text)}`);
    const unit: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    if (text === "0") return 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let at = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
        total += Number(m[1]) * unit[m[2]];
        at = re.lastIndex;
    }
    if (at !== text.length || at === 0) throw new Error(`${where}: ${JSON.stringify(text)} is not a duration such as 2s or 1m30s`);
    return Math.round(total);
}

/** A ustar archive of one file: the program's own (the data template uploads the image's init files with it). */
export { tarOneFile } from "../../components/replication/dataDirectory";

/** The named volume a server's datadir lives on. */
export function dataVolume(containerName: string): string {
    return `${containerName}-data`;
}

export interface ServerContainerSpec {
    /** Container name and host name: what other containers on the network reach it by. */
    readonly name: string;
    readonly image: string;
    readonly serverId: number;
    readonly rootPassword: string;
    /** The network it joins; Docker's default bridge when unset. */
    readonly network?: string;
    /** Host port on 127.0.0.1 that 3306 is published on. */
    readonly hostPort: number;
    /** On the volume and the container; the container may carry more in `containerLabels`. */
    readonly labels: Record<string, string>;
    readonly containerLabels?: Record<string, string>;
    /** The server family; defaults to what the image name says, as the program infers it. */
    readonly flavor?: Flavor;
    /** Docker starts it again when mysqld exits, as the lab's containers (a CLONE recipient needs it). */
    readonly restartUnlessStopped?: boolean;
    /** A data template (createDataTemplate) the empty volume gets a copy of, as the lab's servers do; none: the image initialises it. */
    readonly templateVolume?: string;
    /** The caller copies a template into the volume itself: the server program starts directly, as on `templateVolume`. */
    readonly onCopy?: boolean;
}

/**
 * A run's data template, made as the lab makes its own (components/replication/dataDirectory.ts, the
 * image's own initialisation, root's password set) but without the lab's fence file, so a test server
 * starts as one the image initialised (read_only from its command only). Servers given it
 * (ServerContainerSpec.templateVolume) start on copies: one initialisation per run, not one per server.
 * Returns the volume, or undefined where the lab makes no template (MariaDB before 10.4).
 */
export async function createDataTemplate(o: { volumeName: string; image: string; rootPassword: string; labels: Record<string, string> }):
    Promise<string | undefined> {
    const { flavor, version } = imageServer(o.image);
    const command = templateInitArgs(flavor, version);
    if (command === undefined) return undefined;
    await dataTemplateProvider.create!({
        volumeName: o.volumeName, image: o.image, flavor, command, rootPassword: o.rootPassword, initFiles: [], serverVolumes: [], labels: o.labels, timeoutSeconds: 240,
    });
    return o.volumeName;
}

/** The flavor and tag version of a server image, as the program reads them from its name. */
export function imageServer(image: string, flavor?: Flavor): { flavor: Flavor; version: string | undefined } {
    const f = flavor ?? inferFlavor(image);
    if (!f) throw new Error(`cannot tell whether ${image} is MySQL or MariaDB from its name; name the flavor`);
    return { flavor: f, version: imageTagVersion(image) };
}

/**
 * Creates the server's volume (dataVolume(name)) and its container, not yet started, with the program's
 * mysqld options, environment and health check; returns the container id.
 */
export async function createServerContainer(spec: ServerContainerSpec): Promise<string> {
    const volume = dataVolume(spec.name);
    await docker.createVolume({ Name: volume, Labels: spec.labels });
    if (spec.templateVolume) {
        await fillVolumes({ templateVolume: spec.templateVolume, volumes: [volume], image: spec.image, labels: spec.labels });
    }
    const { flavor, version } = imageServer(spec.image, spec.flavor);
    const hc = healthcheck(flavor);
    const container = await docker.createContainer({
        name: spec.name,
        Hostname: spec.name,
        Image: spec.image,
        Cmd: serverArgs(flavor, version, spec.serverId),
        ...(spec.templateVolume || spec.onCopy ? { Entrypoint: serverEntrypoint(flavor) } : {}),
        Env: serverEnv(flavor, spec.rootPassword),
        Labels: { ...spec.labels, ...spec.containerLabels },
        ExposedPorts: { "3306/tcp": {} },
        Healthcheck: {
            Test: hc.tests, Interval: durationNs(hc.interval, "interval"), Timeout: durationNs(hc.timeout, "timeout"),
            StartPeriod: durationNs(hc.startPeriod, "startPeriod"), Retries: hc.retries,
        },
        StopTimeout: 30,
        HostConfig: {
            NetworkMode: spec.network ?? "bridge",
            PortBindings: { "3306/tcp": [{ HostIp: "127.0.0.1", HostPort: String(spec.hostPort) }] },
            Mounts: [{ Type: "volume", Source: volume, Target: "/var/lib/mysql" }],
            ...(spec.restartUnlessStopped ? { RestartPolicy: { Name: "unless-stopped" } } : {}),
        },
    });
    return container.id;
}

/** The last `lines` lines of a container's output (or the error reading it gave). */
export async function containerLogs(id: string, lines = 30): Promise<string> {
    try {
        return demuxLogs(await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines }) as unknown as Buffer);
    } catch (err) {
        return String(err);
    }
}

/** The text of a non-TTY container's log, out of Docker's multiplexed frames: the program's own. */
export { demuxLogs };

/**
 * Waits (bounded) until a container is healthy; fails early when it exits or turns unhealthy. `name`
 * is what the error calls it.
 */
export async function waitHealthy(id: string, name: string, timeoutMs: number): Promise<void> {
    const container = docker.getContainer(id);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const info = await container.inspect();
        const health = info.State.Health?.Status;
        if (health === "healthy") return;
        if (!info.State.Running || health === "unhealthy") {
            throw new Error(`server ${name} ${info.State.Running ? "is unhealthy" : `exited (${info.State.ExitCode})`}; ` +
                `log tail:\n${await containerLogs(id)}`);
        }
        if (Date.now() > deadline) {
            throw new Error(`server ${name} was not healthy within ${timeoutMs / 1000} s (health: ${health}); ` +
                `log tail:\n${await containerLogs(id)}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** Starts a created (or stopped) server container and waits until it is healthy. */
export async function startHealthy(id: string, name: string, timeoutMs: number): Promise<void> {
    await docker.getContainer(id).start().catch(ignoreNotModified);
    await waitHealthy(id, name, timeoutMs);
}
