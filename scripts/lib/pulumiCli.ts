/**
 * Which Pulumi CLI the lab runs, decided in one place for scripts/up.sh, the tools (outputs.ts) and
 * the live stack harness:
 *
 * 1. "path": a real `pulumi` on PATH, as the user installed it. The npm package `pulumi`'s launcher
 *    (node_modules/.bin/pulumi, which npm puts first on PATH for npm scripts) does not count: it is
 *    not a CLI but a downloader of one.
 * 2. "cache": the CLI of the version pinned in package.json (devDependencies.pulumi, exact), already
 *    downloaded to $PULUMI_HOME/versions/<version>/bin/pulumi (default ~/.pulumi), where the npm
 *    launcher and the Automation API both keep it.
 * 3. "npm": the npm launcher itself, which downloads that version there on first use. Only up.sh
 *    takes it (`npmLauncher: true`); the tools and the harness never download anything.
 *
 * Deciding runs nothing: it only looks at files. `node_modules/.bin/ts-node --transpile-only
 * scripts/lib/pulumiCli.ts` (what up.sh runs) prints where the CLI to use comes from ("path" or
 * "cache") and its path, downloading it first if need be.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The repository root (package.json, node_modules). */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export type PulumiCliChoice =
    | { readonly source: "path"; readonly bin: string }
    | { readonly source: "cache" | "npm"; readonly bin: string; readonly version: string }
    | { readonly source: "none"; readonly reason: string };

/** What the decision reads: PATH, PULUMI_HOME and HOME (a test passes its own). */
export type PulumiCliEnv = Readonly<Record<string, string | undefined>>;

export interface FindPulumiCliOptions {
    readonly env?: PulumiCliEnv;
    /** The project whose package.json pins the version and whose node_modules holds the launcher. */
    readonly root?: string;
    /** Fall back to the npm launcher (which downloads on first use). Off for the harness. */
    readonly npmLauncher?: boolean;
}

/** The Pulumi CLI version package.json pins (devDependencies.pulumi); it must be exact. */
export function pinnedPulumiVersion(root = PROJECT_DIR): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    const version = pkg.devDependencies?.pulumi;
    if (typeof version !== "string" || !/^\d+\.\d+\.\d+$/.test(version)) {
        throw new Error(`package.json: devDependencies.pulumi is ${JSON.stringify(version)}; expected an exact version such as 3.265.0`);
    }
    return version;
}

/** Where the npm launcher and the Automation API keep a downloaded CLI: $PULUMI_HOME/versions/<version>. */
export function pulumiVersionDir(version: string, env: PulumiCliEnv = process.env): string {
    const home = env.PULUMI_HOME || path.join(env.HOME || os.homedir(), ".pulumi");
    return path.join(home, "versions", version);
}

function executableFile(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        const stat = fs.statSync(file);
        return stat.isFile() && stat.size > 0;
    } catch {
        return false;
    }
}

/**
 * Whether `file` is the npm package's launcher: a link to node_modules/pulumi/run.js (npm, yarn), or
 * a small script that runs it (pnpm's shims). A real CLI is a large binary.
 */
export function isNpmLauncher(file: string): boolean {
    let real: string;
    try {
        real = fs.realpathSync(file);
    } catch {
        return false;
    }
    if (real.split(path.sep).slice(-3).join("/") === "node_modules/pulumi/run.js") return true;
    if (fs.statSync(real).size > 64 * 1024) return false;
    const text = fs.readFileSync(real, "utf8");
    return text.startsWith("#!") && /\bpulumi[\\/]run\.js\b/.test(text);
}

/** The first executable `pulumi` on PATH that is a real CLI, not the npm launcher. */
export function realPulumiOnPath(envPath = process.env.PATH ?? ""): string | undefined {
    for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, "pulumi");
        if (executableFile(candidate) && !isNpmLauncher(candidate)) return candidate;
    }
    return undefined;
}

/** The pinned CLI if it is in the cache: $PULUMI_HOME/versions/<version>/bin/pulumi. */
export function cachedPulumi(version: string, env: PulumiCliEnv = process.env): string | undefined {
    const bin = path.join(pulumiVersionDir(version, env), "bin", "pulumi");
    return executableFile(bin) ? bin : undefined;
}

/** Which CLI to run (see the top of this file). Looks at files only; runs nothing. */
export function findPulumiCli(options: FindPulumiCliOptions = {}): PulumiCliChoice {
    const env = options.env ?? process.env;
    const root = options.root ?? PROJECT_DIR;
    const onPath = realPulumiOnPath(env.PATH ?? "");
    if (onPath) return { source: "path", bin: onPath };
    const version = pinnedPulumiVersion(root);
    const cached = cachedPulumi(version, env);
    if (cached) return { source: "cache", bin: cached, version };
    const launcher = path.join(root, "node_modules", ".bin", "pulumi");
    const cacheBin = path.join(pulumiVersionDir(version, env), "bin", "pulumi");
    if (!options.npmLauncher) {
        return { source: "none", reason: `no pulumi CLI on PATH (the npm package's launcher does not count) and none cached at ${cacheBin}` };
    }
    if (executableFile(launcher)) return { source: "npm", bin: launcher, version };
    return {
        source: "none",
        reason: `the Pulumi CLI is not installed: none on PATH, none cached at ${cacheBin}, and no ${launcher} ` +
            "to download it (run npm ci), or install it yourself: https://www.pulumi.com/docs/iac/download-install/",
    };
}

/**
 * The CLI a tool runs without downloading anything (scripts/lib/outputs.ts): a real one on PATH, else
 * the pinned one if cached; undefined when there is neither.
 */
export function installedPulumiCli(env: PulumiCliEnv = process.env): string | undefined {
    const choice = findPulumiCli({ env });
    return choice.source === "none" ? undefined : choice.bin;
}

/** The one line up.sh prints about the CLI it runs (none for a CLI on PATH: that is the user's own). */
export function pulumiCliNote(choice: PulumiCliChoice, env: PulumiCliEnv = process.env): string | undefined {
    if (choice.source === "cache") {
        return `using the Pulumi CLI ${choice.version} (pinned in package.json) from ${path.dirname(choice.bin)}; put your own pulumi on PATH to use it instead`;
    }
    if (choice.source === "npm") {
        return `no pulumi on PATH: downloading the Pulumi CLI ${choice.version} (pinned in package.json) once, into ` +
            `${pulumiVersionDir(choice.version, env)}; put your own pulumi on PATH to use it instead`;
    }
    return undefined;
}

/**
 * The CLI for up.sh, downloaded first through the npm launcher when nothing else is there: where it
 * comes from and its path, or an error saying why there is none. The launcher runs once (`pulumi version`), its output on
 * stderr; after that the cached binary is used directly.
 */
export function ensurePulumiCli(options: FindPulumiCliOptions = {}, say: (line: string) => void = (l) => process.stderr.write(`up.sh: ${l}\n`)): { source: "path" | "cache"; bin: string } {
    const env = options.env ?? process.env;
    const choice = findPulumiCli({ ...options, npmLauncher: true });
    if (choice.source === "none") throw new Error(choice.reason);
    const note = pulumiCliNote(choice, env);
    if (note) say(note);
    if (choice.source !== "npm") return { source: choice.source, bin: choice.bin };
    // The launcher would fetch PULUMI_VERSION instead of its own version when that is set.
    const launcherEnv = { ...process.env, ...env };
    delete launcherEnv.PULUMI_VERSION;
    const run = spawnSync(choice.bin, ["version"], { env: launcherEnv, stdio: ["ignore", process.stderr.fd, process.stderr.fd] });
    const cached = cachedPulumi(choice.version, env);
    if (run.status !== 0 || !cached) {
        const why = run.error ? run.error.message : run.status !== 0 ? `it exited with ${run.status ?? run.signal}` : `nothing appeared at ${pulumiVersionDir(choice.version, env)}/bin/pulumi`;
        throw new Error(`could not download the Pulumi CLI ${choice.version} (${why}): install it yourself ` +
            "(https://www.pulumi.com/docs/iac/download-install/) and put it on PATH");
    }
    return { source: "cache", bin: cached };
}

if (require.main === module) {
    try {
        const cli = ensurePulumiCli();
        process.stdout.write(`${cli.source} ${cli.bin}\n`);
    } catch (err) {
        process.stderr.write(`up.sh: ${(err as Error).message}\n`);
        process.exit(1);
    }
}
