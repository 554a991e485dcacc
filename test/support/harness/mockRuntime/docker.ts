/**
 * docker:index/* resources of @pulumi/docker 5.x applied through the Docker Engine API (dockerode),
 * following the provider's semantics as its source (kreuzwerker/terraform-provider-docker) and
 * documentation give them:
 * - Container: inputs that force replacement replace; restart/maxRetryCount update in place; a
 *   stopped container with mustRun is deleted by read (refresh) and created again by the next up;
 *   wait/waitTimeout block on the health check at create only
 *   (no early exit on "unhealthy", as the provider); healthcheck edits are a no-op in place;
 *   destroyGraceSeconds is the stop timeout before removal; uploads are written before start.
 * - Network, Volume, RemoteImage: every identifying input forces replacement. RemoteImage and
 *   getRemoteImage use images already on the host: nothing is ever pulled.
 */
import * as fs from "node:fs";
import type Docker from "dockerode";
import { Handler, HandlerContext, InitError, NotImplemented, onlyKnownKeys } from "./handler";
import { durationNs, tarOneFile } from "../../docker";
import { Props, deepEqual, plainJson } from "./values";

const CONTAINER = "docker:index/container:Container";

// ------------------------------------------------------------------ helpers

function statusOf(err: unknown): number | undefined {
    return (err as { statusCode?: number })?.statusCode;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

function list<T = Props>(v: unknown): T[] {
    return Array.isArray(v) ? (v as T[]) : [];
}

/** Compares as sets (the provider's schema sets ignore order). */
function sameSet(a: unknown, b: unknown): boolean {
    const norm = (v: unknown) => list(v).map((x) => JSON.stringify(sortKeys(x))).sort();
    return deepEqual(norm(a), norm(b));
}

function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
        return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Props)[k])]));
    }
    return v;
}

function withDefaults(v: Props, defaults: Props): Props {
    const out: Props = { ...defaults };
    for (const [k, x] of Object.entries(v)) if (x !== undefined && x !== null) out[k] = x;
    return out;
}

function diffKeys(olds: Props, news: Props, keys: readonly string[], sets: readonly string[] = []): string[] {
    return keys.filter((k) => (sets.includes(k) ? !sameSet(olds[k], news[k]) : !deepEqual(olds[k], news[k])));
}

/** Removes a Docker object, retrying for up to 30 s while `busy(err)` says it is still in use; gone is fine. */
async function removeWhenFree(remove: () => Promise<unknown>, busy: (err: unknown) => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
        try {
            await remove();
            return;
        } catch (err) {
            if (statusOf(err) === 404) return;
            if (!busy(err) || Date.now() > deadline) throw err;
            await sleep(500);
        }
    }
}

// ------------------------------------------------------------------ container

const CONTAINER_REPLACE = [
    "name", "hostname", "image", "command", "entrypoints", "envs", "labels", "ports", "volumes", "uploads",
    "networksAdvanced", "user", "workingDir", "dns",
] as const;
const CONTAINER_IN_PLACE = [
    "restart", "maxRetryCount", "mustRun", "healthcheck", "wait", "waitTimeout", "destroyGraceSeconds", "removeVolumes", "start",
] as const;
const CONTAINER_SETS = ["envs", "labels", "volumes", "uploads", "networksAdvanced"];
const CONTAINER_DEFAULTS: Props = {
    wait: false, waitTimeout: 60, restart: "no", maxRetryCount: 0, mustRun: true, start: true, removeVolumes: true,
};

function checkContainer(news: Props): Props {
    const where = `${CONTAINER} ${String(news.name)}`;
    onlyKnownKeys(where, news, [...CONTAINER_REPLACE, ...CONTAINER_IN_PLACE]);
    for (const key of ["name", "image"]) {
        if (typeof news[key] !== "string" || news[key] === "") throw new Error(`${where}: ${key} is required`);
    }
    if (news.start === false) throw new NotImplemented(`input ${where}.start=false`);
    const c = withDefaults(news, CONTAINER_DEFAULTS);
    if (c.ports !== undefined) {
        c.ports = list(c.ports).map((p, i) => {
            onlyKnownKeys(`${where}.ports[${i}]`, p, ["internal", "external", "ip", "protocol"]);
            return withDefaults(p, { ip: "0.0.0.0", protocol: "tcp" });
        });
    }
    list(c.volumes).forEach((v, i) => {
        onlyKnownKeys(`${where}.volumes[${i}]`, v, ["volumeName", "hostPath", "containerPath", "readOnly"]);
        if (!v.containerPath || (!v.volumeName && !v.hostPath)) throw new Error(`${where}.volumes[${i}]: needs containerPath and volumeName or hostPath`);
    });
    list(c.networksAdvanced).forEach((n, i) => onlyKnownKeys(`${where}.networksAdvanced[${i}]`, n, ["name", "aliases", "ipv4Address", "ipv6Address"]));
    list(c.labels).forEach((l, i) => onlyKnownKeys(`${where}.labels[${i}]`, l, ["label", "value"]));
    if (c.uploads !== undefined) {
        c.uploads = list(c.uploads).map((u, i) => {
            onlyKnownKeys(`${where}.uploads[${i}]`, u, ["file", "content", "contentBase64", "source", "sourceHash", "executable"]);
            const given = ["content", "contentBase64", "source"].filter((k) => typeof u[k] === "string" && u[k] !== "");
            if (given.length !== 1) throw new Error(`${where}.uploads[${i}]: exactly one of content, contentBase64 or source must be set`);
            return withDefaults(u, { executable: false });
        });
    }
    if (c.healthcheck !== undefined) {
        onlyKnownKeys(`${where}.healthcheck`, c.healthcheck, ["tests", "interval", "timeout", "startPeriod", "retries"]);
        c.healthcheck = withDefaults(c.healthcheck as Props, { interval: "0s", timeout: "0s", startPeriod: "0s", retries: 0 });
    }
    if (!["no", "on-failure", "always", "unless-stopped"].includes(String(c.restart))) {
        throw new Error(`${where}: restart must be no, on-failure, always or unless-stopped, got ${JSON.stringify(c.restart)}`);
    }
    list<string>(c.command).forEach((arg) => { if (arg === "") throw new Error(`${where}: values for command may not be empty`); });
    return c;
}

async function imageExists(docker: Docker, image: string): Promise<boolean> {
    try {
        await docker.getImage(image).inspect();
        return true;
    } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
    }
}

function containerCreateOptions(c: Props): Docker.ContainerCreateOptions {
    const where = `${CONTAINER} ${String(c.name)}`;
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const p of list(c.ports)) {
        const key = `${Number(p.internal)}/${String(p.protocol)}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: String(p.ip), HostPort: p.external === undefined ? "" : String(p.external) });
    }
    const binds = list(c.volumes).map((v) => `${String(v.volumeName ?? v.hostPath)}:${String(v.containerPath)}${v.readOnly ? ":ro" : ""}`);
    const hc = c.healthcheck as Props | undefined;
    const nets = list(c.networksAdvanced);
    const endpoint = (n: Props) => ({
        Aliases: list<string>(n.aliases),
        IPAMConfig: n.ipv4Address || n.ipv6Address ? { IPv4Address: n.ipv4Address as string, IPv6Address: n.ipv6Address as string } : undefined,
    });
    return {
        name: String(c.name),
        Image: String(c.image),
        Hostname: c.hostname as string | undefined,
        Cmd: c.command as string[] | undefined,
        Entrypoint: c.entrypoints as string[] | undefined,
        Env: c.envs as string[] | undefined,
        User: c.user as string | undefined,
        WorkingDir: c.workingDir as string | undefined,
        Labels: Object.fromEntries(list(c.labels).map((l) => [String(l.label), String(l.value)])),
        ExposedPorts: exposed,
        Healthcheck: hc ? {
            Test: hc.tests as string[],
            Interval: durationNs(hc.interval, `${where}.healthcheck.interval`),
            Timeout: durationNs(hc.timeout, `${where}.healthcheck.timeout`),
            StartPeriod: durationNs(hc.startPeriod, `${where}.healthcheck.startPeriod`),
            Retries: Number(hc.retries ?? 0),
        } : undefined,
        HostConfig: {
            PortBindings: bindings,
            Binds: binds,
            RestartPolicy: { Name: String(c.restart), MaximumRetryCount: Number(c.maxRetryCount ?? 0) },
            Dns: c.dns as string[] | undefined,
            // The provider creates on the default bridge, disconnects it and connects networksAdvanced;
            // creating on the first network directly ends in the same attachments.
            NetworkMode: nets.length > 0 ? String(nets[0].name) : undefined,
        },
        NetworkingConfig: nets.length > 0 ? { EndpointsConfig: { [String(nets[0].name)]: endpoint(nets[0]) } } : undefined,
    } as Docker.ContainerCreateOptions;
}

async function inspectContainer(docker: Docker, id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
        return await docker.getContainer(id).inspect();
    } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
    }
}

function containerOutputs(inputs: Props, info: Docker.ContainerInspectInfo): Props {
    const networks = info.NetworkSettings?.Networks ?? {};
    // What the provider's read sets that the lab could see: the exit code of a stopped container,
    // and the networks (network_data, networkDatas in Pulumi).
    return plainJson({
        ...inputs,
        exitCode: info.State.Running ? undefined : info.State.ExitCode,
        networkDatas: Object.entries(networks).map(([networkName, n]) => ({
            networkName, ipAddress: n.IPAddress, ipPrefixLength: n.IPPrefixLen, gateway: n.Gateway, macAddress: n.MacAddress,
        })),
    });
}

async function waitHealthy(docker: Docker, id: string, timeoutSeconds: number, where: string): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let info = await inspectContainer(docker, id);
    for (;;) {
        if (info?.State.Health?.Status === "healthy") return;
        if (Date.now() >= deadline) break;
        await sleep(500);
        info = await inspectContainer(docker, id);
    }
    const last = info?.State.Health?.Log?.slice(-1)[0];
    throw new Error(`${where}: container did not become healthy within waitTimeout ${timeoutSeconds} s ` +
        `(state ${info?.State.Status ?? "gone"}, exit code ${info?.State.ExitCode ?? "?"}, health ${info?.State.Health?.Status ?? "none"}` +
        (last ? `, last check exit ${last.ExitCode}: ${String(last.Output).trim().slice(0, 200)}` : "") + ")");
}

export const containerHandler: Handler = {
    async check(news) {
        return checkContainer(news);
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        const replaces = diffKeys(oldOutputs, news, CONTAINER_REPLACE, CONTAINER_SETS);
        const inPlace = diffKeys(oldOutputs, news, CONTAINER_IN_PLACE);
        const changed = [...replaces, ...inPlace];
        return { changes: changed.length > 0, replaces, changedKeys: changed };
    },
    async create(c, ctx) {
        const where = `${CONTAINER} ${String(c.name)}`;
        if (!(await imageExists(ctx.docker, String(c.image)))) {
            throw new Error(`${where}: Unable to create container with image ${String(c.image)}: the image is not on the ` +
                "Docker host, and the live harness never pulls (build it with scripts/testbed.sh)");
        }
        const created = await ctx.docker.createContainer(containerCreateOptions(c));
        const id = created.id;
        try {
            for (const n of list(c.networksAdvanced).slice(1)) {
                await ctx.docker.getNetwork(String(n.name)).connect({
                    Container: id,
                    EndpointConfig: { Aliases: list<string>(n.aliases) },
                });
            }
            for (const u of list(c.uploads)) {
                // source: a file on the machine running Pulumi, read at create (not kept in state).
                const content = typeof u.content === "string" && u.content !== ""
                    ? Buffer.from(u.content, "utf8")
                    : typeof u.source === "string" && u.source !== ""
                        ? fs.readFileSync(u.source)
                        : Buffer.from(String(u.contentBase64), "base64");
                if (Buffer.byteLength(String(u.file).replace(/^\/+/, "")) > 99) throw new NotImplemented(`upload path longer than 99 bytes (${String(u.file)})`);
                await created.putArchive(tarOneFile(String(u.file), content, u.executable ? 0o744 : 0o644), { path: "/" });
            }
            await created.start();
            if (c.wait === true) await waitHealthy(ctx.docker, id, Number(c.waitTimeout), where);
        } catch (err) {
            const info = await inspectContainer(ctx.docker, id).catch(() => undefined);
            throw new InitError((err as Error).message, id, info ? containerOutputs(c, info) : plainJson(c));
        }
        const info = await inspectContainer(ctx.docker, id);
        if (!info) throw new Error(`${where}: the container vanished right after it was created`);
        return { id, outputs: containerOutputs(c, info) };
    },
    async update(id, _oldInputs, oldOutputs, news, ctx) {
        const where = `${CONTAINER} ${String(news.name)}`;
        const container = ctx.docker.getContainer(id);
        if (oldOutputs.restart !== news.restart || Number(oldOutputs.maxRetryCount ?? 0) !== Number(news.maxRetryCount ?? 0)) {
            await container.update({ RestartPolicy: { Name: String(news.restart), MaximumRetryCount: Number(news.maxRetryCount ?? 0) } });
        }
        let info = await inspectContainer(ctx.docker, id);
        if (!info) throw new Error(`${where}: container ${id} is gone; refresh, then up recreates it`);
        if (news.mustRun === true && !info.State.Running) {
            ctx.log(`starting stopped container ${String(news.name)} (mustRun)`);
            await container.start();
            info = (await inspectContainer(ctx.docker, id))!;
        }
        // wait, waitTimeout, destroyGraceSeconds, removeVolumes: state only; healthcheck: no-op (REFERENCE §2).
        return containerOutputs(news, info);
    },
    async delete(id, _inputs, outputs, ctx) {
        const container = ctx.docker.getContainer(id);
        const grace = Number(outputs.destroyGraceSeconds ?? 0);
        try {
            if (grace > 0) await container.stop({ t: grace }).catch((err) => { if (statusOf(err) !== 304) throw err; });
            await container.remove({ force: true, v: outputs.removeVolumes !== false });
        } catch (err) {
            if (statusOf(err) === 404) return;
            throw err;
        }
        const deadline = Date.now() + 60_000;
        while (await inspectContainer(ctx.docker, id)) {
            if (Date.now() > deadline) throw new Error(`container ${id} was not removed within 60 s`);
            await sleep(200);
        }
    },
    async read(id, inputs, outputs, ctx) {
        const info = await inspectContainer(ctx.docker, id);
        if (!info) return undefined;
        if (!info.State.Running && outputs.mustRun === true) {
            // resourceDockerContainerRead (kreuzwerker 4.x, which @pulumi/docker 5 wraps): a stopped
            // container that must run is deleted and leaves the state; the next up creates it anew.
            ctx.log(`stopped although mustRun: deleted, as the provider's read does`);
            await containerHandler.delete(id, inputs, outputs, ctx);
            return undefined;
        }
        return { id, outputs: containerOutputs({ ...outputs, image: info.Image, name: info.Name.replace(/^\//, "") }, info) };
    },
};

// ------------------------------------------------------------------ network

const NETWORK_KEYS = ["name", "driver", "labels", "internal", "attachable", "options"] as const;

export const networkHandler: Handler = {
    async check(news) {
        onlyKnownKeys(`docker:index/network:Network ${String(news.name)}`, news, NETWORK_KEYS);
        if (typeof news.name !== "string" || !news.name) throw new Error("docker:index/network:Network: name is required");
        list(news.labels).forEach((l, i) => onlyKnownKeys(`network ${String(news.name)}.labels[${i}]`, l, ["label", "value"]));
        return withDefaults(news, { driver: "bridge", internal: false, attachable: false });
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        // Every network attribute forces a new network.
        const replaces = diffKeys(oldOutputs, news, NETWORK_KEYS, ["labels"]);
        return { changes: replaces.length > 0, replaces, changedKeys: replaces };
    },
    async create(n, ctx) {
        const created = await ctx.docker.createNetwork({
            Name: String(n.name),
            Driver: String(n.driver),
            Internal: n.internal === true,
            Attachable: n.attachable === true,
            Options: (n.options as Record<string, string>) ?? {},
            Labels: Object.fromEntries(list(n.labels).map((l) => [String(l.label), String(l.value)])),
            CheckDuplicate: true,
        });
        const info = await created.inspect();
        return { id: created.id, outputs: plainJson({ ...n, scope: info.Scope }) };
    },
    async update(_id, _o, oldOutputs, news) {
        return { ...oldOutputs, ...news };
    },
    async delete(id, _inputs, _outputs, ctx) {
        // Endpoints of containers being removed linger for a moment.
        await removeWhenFree(() => ctx.docker.getNetwork(id).remove(), (err) => /active endpoints/.test(String((err as Error).message)));
    },
    async read(id, _inputs, outputs, ctx) {
        try {
            const info = await ctx.docker.getNetwork(id).inspect();
            return { id, outputs: { ...outputs, name: info.Name, driver: info.Driver, scope: info.Scope } };
        } catch (err) {
            if (statusOf(err) === 404) return undefined;
            throw err;
        }
    },
};

// ------------------------------------------------------------------ volume

const VOLUME_KEYS = ["name", "driver", "driverOpts", "labels"] as const;

export const volumeHandler: Handler = {
    async check(news) {
        onlyKnownKeys(`docker:index/volume:Volume ${String(news.name)}`, news, VOLUME_KEYS);
        list(news.labels).forEach((l, i) => onlyKnownKeys(`volume ${String(news.name)}.labels[${i}]`, l, ["label", "value"]));
        return withDefaults(news, { driver: "local" });
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        const replaces = diffKeys(oldOutputs, news, VOLUME_KEYS, ["labels"]);
        return { changes: replaces.length > 0, replaces, changedKeys: replaces };
    },
    async create(v, ctx) {
        if (typeof v.name !== "string" || !v.name) throw new NotImplemented("a docker Volume without a name (generated names)");
        await ctx.docker.createVolume({
            Name: v.name,
            Driver: String(v.driver),
            DriverOpts: (v.driverOpts as Record<string, string>) ?? {},
            Labels: Object.fromEntries(list(v.labels).map((l) => [String(l.label), String(l.value)])),
        });
        const info = await ctx.docker.getVolume(v.name).inspect();
        return { id: v.name, outputs: plainJson({ ...v, mountpoint: info.Mountpoint }) };
    },
    async update(_id, _o, oldOutputs, news) {
        return { ...oldOutputs, ...news };
    },
    async delete(id, _inputs, _outputs, ctx) {
        // The provider waits for a volume still in use by a container being removed.
        await removeWhenFree(() => ctx.docker.getVolume(id).remove(), (err) => statusOf(err) === 409);
    },
    async read(id, _inputs, outputs, ctx) {
        try {
            const info = await ctx.docker.getVolume(id).inspect();
            return { id, outputs: { ...outputs, mountpoint: info.Mountpoint } };
        } catch (err) {
            if (statusOf(err) === 404) return undefined;
            throw err;
        }
    },
};

// ------------------------------------------------------------------ images

const REMOTE_IMAGE_KEYS = ["name", "keepLocally", "forceRemove", "pullTriggers", "triggers"] as const;

async function localImage(docker: Docker, name: string, what: string): Promise<{ id: string; repoDigest: string }> {
    try {
        const info = await docker.getImage(name).inspect();
        return { id: info.Id, repoDigest: info.RepoDigests?.[0] ?? "" };
    } catch (err) {
        if (statusOf(err) === 404) {
            throw new Error(`${what}: image ${JSON.stringify(name)} is not on the Docker host, and the live harness ` +
                "cannot pull (no registry here); build it with scripts/testbed.sh or use pullImage=false with a local image");
        }
        throw err;
    }
}

export const remoteImageHandler: Handler = {
    async check(news) {
        onlyKnownKeys(`docker:index/remoteImage:RemoteImage ${String(news.name)}`, news, REMOTE_IMAGE_KEYS);
        return withDefaults(news, { keepLocally: false, forceRemove: false });
    },
    async diff(_id, _oldInputs, oldOutputs, news) {
        const replaces = diffKeys(oldOutputs, news, ["name", "pullTriggers", "triggers"]);
        const changed = [...replaces, ...diffKeys(oldOutputs, news, ["keepLocally", "forceRemove"])];
        return { changes: changed.length > 0, replaces, changedKeys: changed };
    },
    async create(i, ctx) {
        const image = await localImage(ctx.docker, String(i.name), "docker:index/remoteImage:RemoteImage");
        return { id: `${image.id}${String(i.name)}`, outputs: plainJson({ ...i, imageId: image.id, repoDigest: image.repoDigest }) };
    },
    async update(_id, _o, oldOutputs, news) {
        return { ...oldOutputs, ...news };
    },
    async delete(_id, _inputs, outputs, ctx) {
        if (outputs.keepLocally === true) return;
        try {
            await ctx.docker.getImage(String(outputs.imageId)).remove({ force: outputs.forceRemove === true });
        } catch (err) {
            if (statusOf(err) !== 404) throw err;
        }
    },
    async read(id, _inputs, outputs, ctx) {
        try {
            await ctx.docker.getImage(String(outputs.imageId)).inspect();
            return { id, outputs };
        } catch (err) {
            if (statusOf(err) === 404) return undefined;
            throw err;
        }
    },
};

/** docker:index/getRemoteImage:getRemoteImage (the docker_image data source): a local image's id. */
export async function getRemoteImage(docker: Docker, args: Props): Promise<Props> {
    onlyKnownKeys("docker:index/getRemoteImage:getRemoteImage", args, ["name"]);
    const image = await localImage(docker, String(args.name), "docker:index/getRemoteImage:getRemoteImage");
    return { id: image.id, name: args.name, repoDigest: image.repoDigest };
}


