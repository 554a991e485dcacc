/**
 * Bring-up that pays for one initialisation per lab, not one per server. A DataTemplate initialises
 * one data directory with the image's own tools (MySQL: `mysqld --initialize-insecure`, root's
 * password and the fence from an --init-file; MariaDB: `mariadb-install-db`, root's password from an
 * --extra-file), in a container of its own with no network; its volume is the lab's template. That
 * is the part of the image's first start that takes the time, without its init server or a first
 * real start, which the template does not need. The same container then fills each of the servers'
 * empty volumes with a copy, without what makes a server itself: the server UUID (auto.cnf), the
 * binary logs, the TLS keys. A server added later gets its copy from one helper container when the
 * template's list of volumes grows. Each server then starts as if restarted (the images skip their
 * initialisation on a data directory that has one), with its own server_id from its command and a new
 * UUID. A volume that already holds data is never touched, so upgrading the image or a lab made
 * before this keeps its data.
 *
 * Docker is reached through dockerEngine.ts, as the docker provider reaches it.
 */
import * as pulumi from "@pulumi/pulumi";
import type Docker from "dockerode";
import { type InputTable, changedInputs, diffOf, withDefaults } from "./inputs";
import { templateInitSql } from "./sql/initialise";
import type { Flavor } from "./sql/vocabulary";
import { templateInitTool } from "../serverOptions";
import { within } from "./connection";
import { engine, ignoreGone, logTail } from "./dockerEngine";

export interface DataTemplateInputs {
    /** The template's volume. */
    readonly volumeName: string;
    /** The server image's id. */
    readonly image: string;
    /** Which tool initialises: mysqld (MySQL) or mariadb-install-db (MariaDB). */
    readonly flavor: Flavor;
    /** The tool's options for the initialisation (serverOptions.ts, templateInitArgs). */
    readonly command: readonly string[];
    /** Root's password: secret. */
    readonly rootPassword: string;
    /** The lab's files for the image's /docker-entrypoint-initdb.d (the fence): their SQL runs too. */
    readonly initFiles: readonly { file: string; content: string }[];
    /** The servers' volumes: each one that is empty gets a copy before its server first starts. */
    readonly serverVolumes: readonly string[];
    readonly labels: Record<string, string>;
    readonly timeoutSeconds: number;
}

export interface DataTemplateOutputs extends DataTemplateInputs {
    /** The server volumes known to hold data (copied, or holding some already), as of the last up or refresh. */
    readonly filled: readonly string[];
}

/** What a copy leaves out: the server's identity, its binary and relay logs, its TLS keys, pid files. */
export const NOT_COPIED = ["auto.cnf", "*.pid", "*.pem", "mysql-bin.*", "relay-bin.*", "*.sock", "*.sock.lock"] as const;

/** Where the volumes to fill are mounted in the container that fills them: /fill/0, /fill/1, ... */
const FILL_ROOT = "/fill";

/** Marks a copy under way: a volume holding it was cut short, and is copied again from scratch. */
const COPYING_MARK = ".mysql-replicas-copying";

/**
 * The shell script that fills the volumes mounted under /fill from the data directory `from`, side
 * by side: an empty volume (or one whose copy was cut short) gets a copy and prints "copied N"; one
 * holding data is left alone and prints "kept N". A template without the mysql schema is refused, so
 * a missing template never becomes an empty copy.
 */
export function fillScript(from: string): string {
    return [
        "set -e",
        `[ -d ${from}/mysql ] || { echo "the template ${from} holds no initialised data directory" >&2; exit 3; }`,
        "fill() {",
        `    d=$1; n=\${d#${FILL_ROOT}/}`,
        `    if [ -n "$(ls -A "$d")" ] && [ ! -e "$d/${COPYING_MARK}" ]; then echo "kept $n"; return 0; fi`,
        '    rm -rf "$d"/* "$d"/.[!.]* "$d"/..?*',
        `    : > "$d/${COPYING_MARK}" &&`,
        `    cp -a ${from}/. "$d"/ &&`,
        `    (cd "$d" && rm -f ${NOT_COPIED.join(" ")}) &&`,
        `    rm "$d/${COPYING_MARK}" &&`,
        '    echo "copied $n"',
        "}",
        'pids=""',
        `for d in ${FILL_ROOT}/*; do [ -d "$d" ] || continue; fill "$d" & pids="$pids $!"; done`,
        "status=0",
        "for p in $pids; do wait $p || status=1; done",
        "exit $status",
    ].join("\n");
}

/** The Binds that mount each volume to fill at /fill/N, in order. */
function fillBinds(volumes: readonly string[]): string[] {
    return volumes.map((v, n) => `${v}:${FILL_ROOT}/${n}`);
}

/** A ustar archive of one file, for putArchive (the image's init files). */
export function tarOneFile(file: string, content: Buffer | string, mode = 0o644): Buffer {
    const body = typeof content === "string" ? Buffer.from(content, "utf8") : content;
    const name = file.replace(/^\/+/, "");
    if (Buffer.byteLength(name) > 99) throw new Error(`a ustar name holds at most 99 bytes: ${file}`);
    const header = Buffer.alloc(512, 0);
    const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "utf8");
    const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, "0") + "\0";
    put(name, 0, 100);
    put(octal(mode, 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(body.length, 12), 124, 12);
    put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
    put("        ", 148, 8);
    put("0", 156, 1);
    put("ustar\u000000", 257, 8);
    let sum = 0;
    for (const b of header) sum += b;
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
    const pad = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
    return Buffer.concat([header, body, pad, Buffer.alloc(1024, 0)]);
}

async function volumeExists(name: string): Promise<boolean> {
    return engine().getVolume(name).inspect().then(() => true, (e) => { ignoreGone(e); return false; });
}

/** Where the init file and the fill script go in the initialising container (its own layer, gone with it). */
const INIT_FILE = "/tmp/mysql-replicas-init.sql";
const FILL_FILE = "/tmp/mysql-replicas-fill.sh";

/**
 * The initialising container's program: the image's own tool, as the image's user, with the SQL file;
 * then the copies into the servers' volumes. The data directory belongs to mysql, as the image's
 * entrypoint makes it; the tools drop to that user.
 */
function initialiser(i: DataTemplateInputs): { tool: string; entrypoint: string[]; cmd: string[] } {
    const { name, program, sqlOption } = templateInitTool(i.flavor);
    return {
        tool: name,
        entrypoint: ["sh", "-c", `chown mysql:mysql /var/lib/mysql && ${program} "$@" && sh ${FILL_FILE}`, "initialise"],
        cmd: [...i.command, `${sqlOption}=${INIT_FILE}`],
    };
}

/**
 * Initialises the template with the image's own tool and the lab's SQL, and fills the servers' empty
 * volumes from it, in one container then gone.
 */
async function initialise(i: DataTemplateInputs): Promise<void> {
    const docker = engine();
    // What an earlier, cut-short attempt left.
    await removeHelpers(i.volumeName);
    await docker.getVolume(i.volumeName).remove().catch(ignoreGone);
    await docker.createVolume({ Name: i.volumeName, Labels: i.labels });
    const run = initialiser(i);
    const container = await docker.createContainer({
        name: `${i.volumeName}-init`,
        Image: i.image,
        Entrypoint: run.entrypoint,
        Cmd: run.cmd,
        Labels: i.labels,
        HostConfig: { Binds: [`${i.volumeName}:/var/lib/mysql`, ...fillBinds(i.serverVolumes)], NetworkMode: "none" },
    });
    let failure: Error | undefined;
    try {
        const sql = templateInitSql(i.flavor, i.rootPassword, i.initFiles.map((f) => f.content));
        await container.putArchive(tarOneFile(INIT_FILE.slice(INIT_FILE.lastIndexOf("/") + 1), sql, 0o644), { path: "/tmp" });
        await container.putArchive(tarOneFile(FILL_FILE.slice(FILL_FILE.lastIndexOf("/") + 1), fillScript("/var/lib/mysql"), 0o644), { path: "/tmp" });
        await container.start();
        const ended = await within(container.wait() as Promise<{ StatusCode: number }>, i.timeoutSeconds * 1000, () => "timeout" as const);
        if (ended === "timeout") throw new Error(`the initialisation took over ${i.timeoutSeconds} s:\n${await logTail(container)}`);
        if (ended.StatusCode !== 0) throw new Error(`${run.tool} or the copies after it failed (exit ${ended.StatusCode}):\n${await logTail(container)}`);
    } catch (err) {
        failure = err as Error;
    }
    await container.remove({ force: true, v: true }).catch(() => undefined);
    if (failure) {
        // Only once its container is gone can the half-made volume go too.
        await docker.getVolume(i.volumeName).remove().catch(() => undefined);
        throw new Error(`initialising the lab's data template ${i.volumeName}: ${failure.message}`);
    }
}

export interface FillArgs {
    readonly templateVolume: string;
    /** The volumes to fill: each one that is empty gets a copy, one holding data is left alone. */
    readonly volumes: readonly string[];
    /** The server image: its shell and cp do the copies. */
    readonly image: string;
    readonly labels: Record<string, string>;
    /** Defaults to 300. */
    readonly timeoutSeconds?: number;
}

/**
 * Removes what a cut-short up left of the containers that mount a template's volume (and its servers'
 * volumes) while they run, named after it: left behind, one would keep those volumes from removal.
 */
async function removeHelpers(templateVolume: string): Promise<void> {
    const docker = engine();
    const found = await docker.listContainers({ all: true, filters: JSON.stringify({ name: [templateVolume] }) });
    const ours = found.filter((c) => c.Names.some((n) => n.startsWith(`/${templateVolume}-init`) || n.startsWith(`/${templateVolume}-fill-`)));
    for (const c of ours) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone);
}

/** Fills volumes from an existing template, in one helper container removed after; says which it copied into. */
export async function fillVolumes(a: FillArgs): Promise<string[]> {
    if (a.volumes.length === 0) return [];
    const docker = engine();
    if (!(await volumeExists(a.templateVolume))) {
        throw new Error(`the lab's data template ${a.templateVolume} is gone, so the new servers' volumes cannot be filled: ` +
            "refresh first (npm run up does) and it is made again");
    }
    const container = await docker.createContainer({
        name: `${a.templateVolume}-fill-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
        Image: a.image,
        Entrypoint: ["sh", "-c"],
        Cmd: [fillScript("/template")],
        Labels: a.labels,
        HostConfig: { Binds: [`${a.templateVolume}:/template:ro`, ...fillBinds(a.volumes)], NetworkMode: "none" },
    });
    try {
        await container.start();
        const seconds = a.timeoutSeconds ?? 300;
        const ended = await within(container.wait() as Promise<{ StatusCode: number }>, seconds * 1000, () => "timeout" as const);
        const said = await logTail(container, 200);
        if (ended === "timeout") throw new Error(`copying the data template ${a.templateVolume} took over ${seconds} s:\n${said}`);
        if (ended.StatusCode !== 0) {
            throw new Error(`copying the data template ${a.templateVolume} into ${a.volumes.join(", ")} failed (exit ${ended.StatusCode}):\n${said}`);
        }
        return said.split("\n").map((l) => /^copied (\d+)$/.exec(l.trim())).filter((m) => m !== null).map((m) => a.volumes[Number(m![1])]);
    } finally {
        await container.remove({ force: true, v: true }).catch(() => undefined);
    }
}

/**
 * What the initialisation is made from makes a new template; a new server volume gets a copy (an
 * update); labels and the time bound are recorded.
 */
const TEMPLATE_INPUTS: InputTable<DataTemplateInputs> = {
    volumeName: { change: "replace" },
    image: { change: "replace" },
    // Templates made before MariaDB had one were all MySQL's.
    flavor: { change: "replace", byDefault: "mysql" },
    command: { change: "replace" },
    rootPassword: { change: "replace" },
    initFiles: { change: "replace" },
    // Templates made before they filled the volumes themselves knew none (a DataCopy per server did it).
    serverVolumes: { change: "apply", byDefault: [] },
    labels: { change: "record" },
    timeoutSeconds: { change: "record", byDefault: 300 },
};

/** The server volumes of `news` not known to hold data. */
function unfilled(olds: Partial<DataTemplateOutputs>, news: DataTemplateInputs): string[] {
    const filled = olds.filled ?? [];
    return (news.serverVolumes ?? []).filter((v) => !filled.includes(v));
}

export const dataTemplateProvider: pulumi.dynamic.ResourceProvider<DataTemplateInputs, DataTemplateOutputs> = {
    async diff(_id, olds, news) {
        // A server volume removed behind the lab's back (refresh finds it gone) is made again, empty: it needs a copy.
        return diffOf(changedInputs(TEMPLATE_INPUTS, olds, news), unfilled(olds, news).length > 0);
    },
    async create(inputs) {
        await initialise(inputs);
        return { id: inputs.volumeName, outs: { ...inputs, filled: [...inputs.serverVolumes] } };
    },
    async read(id, props) {
        if (!(await volumeExists(id))) return { id: "", props };
        const o = props as DataTemplateOutputs;
        const filled: string[] = [];
        for (const v of o.filled ?? []) if (await volumeExists(v)) filled.push(v);
        return { id, props: { ...o, filled } };
    },
    async update(_id, olds, news) {
        await removeHelpers(olds.volumeName);
        await fillVolumes({
            templateVolume: olds.volumeName, volumes: unfilled(olds, news), image: news.image, labels: news.labels, timeoutSeconds: news.timeoutSeconds,
        });
        return { outs: { ...news, filled: [...news.serverVolumes] } };
    },
    async delete(id) {
        // A helper a cut-short up left would hold the volume (and its servers' volumes).
        await removeHelpers(id);
        await engine().getVolume(id).remove().catch(ignoreGone);
    },
};

export interface DataTemplateArgs {
    readonly volumeName: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly flavor: Flavor;
    readonly command: pulumi.Input<pulumi.Input<string>[]>;
    readonly rootPassword: pulumi.Input<string>;
    readonly initFiles: pulumi.Input<{ file: string; content: string }[]>;
    /** The servers' volumes, which it fills: it comes after them, and their containers after it. */
    readonly serverVolumes: pulumi.Input<pulumi.Input<string>[]>;
    readonly labels: pulumi.Input<Record<string, string>>;
    /** Defaults to 300. */
    readonly timeoutSeconds?: pulumi.Input<number>;
}

/** The lab's initialised, empty data directory, on a volume of its own, and the servers' first copies of it. */
export class DataTemplate extends pulumi.dynamic.Resource {
    declare public readonly volumeName: pulumi.Output<string>;
    declare public readonly filled: pulumi.Output<string[]>;
    constructor(name: string, args: DataTemplateArgs, opts?: pulumi.CustomResourceOptions) {
        super(dataTemplateProvider, name, { ...withDefaults(TEMPLATE_INPUTS, args), rootPassword: pulumi.secret(args.rootPassword), filled: undefined },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "rootPassword"] }, "data", "Template");
    }
}
