/**
 * Bring-up that pays for one initialisation per lab, not one per server. A DataTemplate initialises
 * one data directory with the image's own tools (MySQL: `mysqld --initialize-insecure`, root's
 * password and the fence from an --init-file; MariaDB: `mariadb-install-db`, root's password from an
 * --extra-file), in a container of its own with no network; its volume is the lab's template. That
 * is the part of the image's first start that takes the time, without its init server or a first
 * real start, which the template does not need. A DataCopy gives each server's
 * empty volume a copy of it before the server's first start, without what makes a server itself: the
 * server UUID (auto.cnf), the binary logs, the TLS keys. The server then starts as if restarted (the
 * images skip their initialisation on a data directory that has one), with its own server_id from its
 * command and a new UUID. A volume that already holds data is never touched, so upgrading the image or
 * a lab made before this keeps its data.
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
    readonly labels: Record<string, string>;
    readonly timeoutSeconds: number;
}

export interface DataCopyInputs {
    readonly templateVolume: string;
    /** The server's volume, mounted at /var/lib/mysql. */
    readonly volumeName: string;
    /** The server image: its shell and cp do the copy. */
    readonly image: string;
    readonly labels: Record<string, string>;
}

export interface DataCopyOutputs extends DataCopyInputs {
    /** "copied" when the volume was empty and got the template; "kept" when it held data already. */
    readonly result: string;
}

/** What a copy leaves out: the server's identity, its binary and relay logs, its TLS keys, pid files. */
export const NOT_COPIED = ["auto.cnf", "*.pid", "*.pem", "mysql-bin.*", "relay-bin.*", "*.sock", "*.sock.lock"] as const;

/** The shell script a helper container runs: copies only into an empty volume, and says which it did. */
export function copyScript(): string {
    return [
        "set -e",
        'if [ -n "$(ls -A /data)" ]; then echo kept; exit 0; fi',
        "cp -a /template/. /data/",
        `cd /data && rm -f ${NOT_COPIED.join(" ")}`,
        "echo copied",
    ].join("\n");
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

/** Where the init file goes in the initialising container (its own layer, gone with it). */
const INIT_FILE = "/tmp/mysql-replicas-init.sql";

/**
 * The initialising container's program: the image's own tool, as the image's user, with the SQL file.
 * The data directory belongs to mysql, as the image's entrypoint makes it; the tools drop to that user.
 */
function initialiser(i: DataTemplateInputs): { tool: string; entrypoint: string[]; cmd: string[] } {
    const { name, program, sqlOption } = templateInitTool(i.flavor);
    return {
        tool: name,
        entrypoint: ["sh", "-c", `chown mysql:mysql /var/lib/mysql && exec ${program} "$@"`, "initialise"],
        cmd: [...i.command, `${sqlOption}=${INIT_FILE}`],
    };
}

/** Initialises the template with the image's own tool and the lab's SQL, in a container then gone. */
async function initialise(i: DataTemplateInputs): Promise<void> {
    const docker = engine();
    // What an earlier, cut-short attempt left.
    await docker.getContainer(`${i.volumeName}-init`).remove({ force: true }).catch(ignoreGone);
    await docker.getVolume(i.volumeName).remove().catch(ignoreGone);
    await docker.createVolume({ Name: i.volumeName, Labels: i.labels });
    const run = initialiser(i);
    const container = await docker.createContainer({
        name: `${i.volumeName}-init`,
        Image: i.image,
        Entrypoint: run.entrypoint,
        Cmd: run.cmd,
        Labels: i.labels,
        HostConfig: { Binds: [`${i.volumeName}:/var/lib/mysql`], NetworkMode: "none" },
    });
    let failure: Error | undefined;
    try {
        const sql = templateInitSql(i.flavor, i.rootPassword, i.initFiles.map((f) => f.content));
        await container.putArchive(tarOneFile(INIT_FILE.slice(INIT_FILE.lastIndexOf("/") + 1), sql, 0o644), { path: "/tmp" });
        await container.start();
        const ended = await within(container.wait() as Promise<{ StatusCode: number }>, i.timeoutSeconds * 1000, () => "timeout" as const);
        if (ended === "timeout") throw new Error(`the initialisation took over ${i.timeoutSeconds} s:\n${await logTail(container)}`);
        if (ended.StatusCode !== 0) throw new Error(`${run.tool} failed (exit ${ended.StatusCode}):\n${await logTail(container)}`);
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

/** What the initialisation is made from makes a new template; labels and the time bound are recorded. */
const TEMPLATE_INPUTS: InputTable<DataTemplateInputs> = {
    volumeName: { change: "replace" },
    image: { change: "replace" },
    // Templates made before MariaDB had one were all MySQL's.
    flavor: { change: "replace", byDefault: "mysql" },
    command: { change: "replace" },
    rootPassword: { change: "replace" },
    initFiles: { change: "replace" },
    labels: { change: "record" },
    timeoutSeconds: { change: "record", byDefault: 300 },
};

export const dataTemplateProvider: pulumi.dynamic.ResourceProvider<DataTemplateInputs, DataTemplateInputs> = {
    async diff(_id, olds, news) {
        return diffOf(changedInputs(TEMPLATE_INPUTS, olds, news));
    },
    async create(inputs) {
        await initialise(inputs);
        return { id: inputs.volumeName, outs: inputs };
    },
    async read(id, props) {
        return (await volumeExists(id)) ? { id, props } : { id: "", props };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
    async delete(id) {
        await engine().getVolume(id).remove().catch(ignoreGone);
    },
};

/** Copies the template into the server's volume if it is empty (a helper container, removed after). */
async function copyInto(i: DataCopyInputs): Promise<string> {
    const docker = engine();
    const container = await docker.createContainer({
        Image: i.image,
        Entrypoint: ["sh", "-c"],
        Cmd: [copyScript()],
        Labels: i.labels,
        HostConfig: { Binds: [`${i.templateVolume}:/template:ro`, `${i.volumeName}:/data`], NetworkMode: "none" },
    });
    try {
        await container.start();
        const { StatusCode } = await container.wait();
        const said = await logTail(container);
        if (StatusCode !== 0) throw new Error(`copying the data template into ${i.volumeName} failed (exit ${StatusCode}):\n${said}`);
        return said.split("\n").pop() === "kept" ? "kept" : "copied";
    } finally {
        await container.remove({ force: true, v: true }).catch(() => undefined);
    }
}

/** A new volume name is another server's storage; a new template or image matters only to an empty volume: recorded. */
const COPY_INPUTS: InputTable<DataCopyInputs> = {
    volumeName: { change: "replace" },
    templateVolume: { change: "record" },
    image: { change: "record" },
    labels: { change: "record" },
};

export const dataCopyProvider: pulumi.dynamic.ResourceProvider<DataCopyInputs, DataCopyOutputs> = {
    async diff(_id, olds, news) {
        // Its delete does nothing (the data goes with the volume): a replacement needs no delete first.
        return { ...diffOf(changedInputs(COPY_INPUTS, olds, news)), deleteBeforeReplace: false };
    },
    async create(inputs) {
        return { id: inputs.volumeName, outs: { ...inputs, result: await copyInto(inputs) } };
    },
    async read(id, props) {
        // The volume removed behind the lab's back: the copy goes with it, and is made again for the new one.
        return (await volumeExists((props as DataCopyOutputs).volumeName)) ? { id, props } : { id: "", props };
    },
    async update(_id, olds, news) {
        return { outs: { ...news, result: olds.result } };
    },
    async delete() {
        // The data goes with the server's volume.
    },
};

export interface DataTemplateArgs {
    readonly volumeName: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly flavor: Flavor;
    readonly command: pulumi.Input<pulumi.Input<string>[]>;
    readonly rootPassword: pulumi.Input<string>;
    readonly initFiles: pulumi.Input<{ file: string; content: string }[]>;
    readonly labels: pulumi.Input<Record<string, string>>;
    /** Defaults to 300. */
    readonly timeoutSeconds?: pulumi.Input<number>;
}

/** The lab's initialised, empty data directory, on a volume of its own. */
export class DataTemplate extends pulumi.dynamic.Resource {
    declare public readonly volumeName: pulumi.Output<string>;
    constructor(name: string, args: DataTemplateArgs, opts?: pulumi.CustomResourceOptions) {
        super(dataTemplateProvider, name, { ...withDefaults(TEMPLATE_INPUTS, args), rootPassword: pulumi.secret(args.rootPassword) },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "rootPassword"] }, "data", "Template");
    }
}

export interface DataCopyArgs {
    readonly templateVolume: pulumi.Input<string>;
    readonly volumeName: pulumi.Input<string>;
    readonly image: pulumi.Input<string>;
    readonly labels: pulumi.Input<Record<string, string>>;
}

/** A server volume's first contents: a copy of the template, made once, before the server first starts. */
export class DataCopy extends pulumi.dynamic.Resource {
    declare public readonly result: pulumi.Output<string>;
    constructor(name: string, args: DataCopyArgs, opts?: pulumi.CustomResourceOptions) {
        super(dataCopyProvider, name, { ...args, result: undefined }, opts, "data", "Copy");
    }
}
