/**
 * Which Pulumi CLI runs (scripts/lib/pulumiCli.ts), for scripts/up.sh and for the live stack harness
 * (test/support/harness/liveStack.ts): (a) a real pulumi on PATH, (b) only the npm package's launcher
 * and nothing cached, (c) the pinned version cached under $PULUMI_HOME/versions.
 *
 * The CLIs here are fakes: shell scripts named pulumi that print a version and log their arguments.
 * The real launcher (node_modules/.bin/pulumi, from the pinned `pulumi` devDependency) takes part in
 * the decisions but must never run: it would try to download a CLI. The decisions are made with
 * child_process watched (nothing may run but the fakes and, for the engine line, an answered
 * `docker`), and with no `node` on their PATH (the launcher's `#!/usr/bin/env node` could not start);
 * up.sh runs in a copy of the project whose launcher is a fake that "downloads" a fake CLI.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    ensurePulumiCli, findPulumiCli, installedPulumiCli, isNpmLauncher, pinnedPulumiVersion, pulumiCliNote,
} from "../../scripts/lib/pulumiCli";

// The module object itself (not an import namespace copy), so that spies reach every caller.
const childProcess: typeof import("node:child_process") = require("node:child_process");
const ROOT = path.resolve(__dirname, "..", "..");
const LAUNCHER = path.join(ROOT, "node_modules", ".bin", "pulumi");
const PINNED = pinnedPulumiVersion();
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
// up.sh starts ts-node and the harness loads the Automation API afresh: seconds, more on a busy machine.
jest.setTimeout(60_000);

let tmp: string;
beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-cli-test-"));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake CLI at `file`: logs "<name>: <args>" to `log`, prints v<version> for `version`. */
function fakeCli(file: string, log: string, version = PINNED, name = path.basename(path.dirname(file))): string {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `#!/bin/sh\necho "${name}: $*" >> '${log}'\n[ "$1" = version ] && echo v${version}\nexit 0\n`, { mode: 0o755 });
    return file;
}

/** Every line logged to `log` (none if it was never written). */
function logged(log: string): string[] {
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
}

function systemTool(name: string): string {
    const found = ["/usr/bin", "/bin"].map((d) => path.join(d, name)).find((f) => fs.existsSync(f));
    if (!found) throw new Error(`no ${name} in /usr/bin or /bin`);
    return found;
}

/** A directory with links to the few programs the scripts need: no pulumi, no node unless asked. */
function toolsDir(withNode: boolean): string {
    const dir = fs.mkdtempSync(path.join(tmp, "tools-"));
    for (const tool of ["bash", "dirname", "mkdir", "chmod"]) fs.symlinkSync(systemTool(tool), path.join(dir, tool));
    if (withNode) fs.symlinkSync(process.execPath, path.join(dir, "node"));
    return dir;
}

describe("the pinned version", () => {
    test("package.json pins the npm package `pulumi` exactly, and the installed one is that version with no install script", () => {
        expect(PKG.devDependencies.pulumi).toBe(PINNED);
        expect(PINNED).toMatch(/^\d+\.\d+\.\d+$/);
        const installed = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "pulumi", "package.json"), "utf8"));
        expect(installed.version).toBe(PINNED);
        // npm ci must not download a CLI: the package has no lifecycle script that would.
        expect(Object.keys(installed.scripts ?? {}).filter((s) => /install|prepare/.test(s))).toEqual([]);
        expect(isNpmLauncher(LAUNCHER)).toBe(true);
    });

    test("an inexact pin is refused", () => {
        fs.writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ devDependencies: { pulumi: "^3.265.0" } }));
        expect(() => pinnedPulumiVersion(tmp)).toThrow('devDependencies.pulumi is "^3.265.0"; expected an exact version');
    });
});

describe("telling the npm launcher from a real CLI", () => {
    test("npm's link to run.js and a pnpm-style shim are launchers; a CLI script is not", () => {
        const shim = path.join(tmp, "shim", "pulumi");
        fs.mkdirSync(path.dirname(shim));
        fs.writeFileSync(shim, '#!/bin/sh\nbasedir=$(dirname "$0")\nexec node "$basedir/../pulumi/run.js" "$@"\n', { mode: 0o755 });
        expect(isNpmLauncher(shim)).toBe(true);
        expect(isNpmLauncher(fakeCli(path.join(tmp, "cli", "pulumi"), path.join(tmp, "log")))).toBe(false);
        expect(isNpmLauncher(path.join(tmp, "missing"))).toBe(false);
    });
});

describe("scripts/lib/pulumiCli: which CLI", () => {
    /** Watches child_process: the decision must run nothing. */
    function watchChildren(): string[] {
        const calls: string[] = [];
        for (const fn of ["spawn", "spawnSync", "execFile", "execFileSync", "exec", "execSync", "fork"] as const) {
            jest.spyOn(childProcess, fn).mockImplementation(((file: string) => {
                calls.push(`${fn} ${file}`);
                throw new Error(`${fn} ${file}: nothing may run here`);
            }) as any);
        }
        return calls;
    }
    afterEach(() => jest.restoreAllMocks());

    test("(a) a real pulumi on PATH wins, even behind the npm launcher and over a cached one", () => {
        const calls = watchChildren();
        const log = path.join(tmp, "log");
        const own = fakeCli(path.join(tmp, "own", "pulumi"), log);
        fakeCli(path.join(tmp, "home", "versions", PINNED, "bin", "pulumi"), log);
        const env = { PATH: [path.dirname(LAUNCHER), path.dirname(own)].join(path.delimiter), PULUMI_HOME: path.join(tmp, "home"), HOME: tmp };
        expect(findPulumiCli({ env, npmLauncher: true })).toEqual({ source: "path", bin: own });
        expect(findPulumiCli({ env })).toEqual({ source: "path", bin: own });
        expect(installedPulumiCli(env)).toBe(own);
        // The user's own CLI needs no note.
        expect(pulumiCliNote({ source: "path", bin: own }, env)).toBeUndefined();
        expect([calls, logged(log)]).toEqual([[], []]);
    });

    test("(b) only the npm launcher, nothing cached: up.sh takes the launcher with its note, the harness none, nothing runs", () => {
        const calls = watchChildren();
        const env = { PATH: path.dirname(LAUNCHER), HOME: tmp };
        const cache = path.join(tmp, ".pulumi", "versions", PINNED);
        const choice = findPulumiCli({ env, npmLauncher: true });
        expect(choice).toEqual({ source: "npm", bin: LAUNCHER, version: PINNED });
        expect(pulumiCliNote(choice, env)).toBe(`no pulumi on PATH: downloading the Pulumi CLI ${PINNED} (pinned in package.json) once, ` +
            `into ${cache}; put your own pulumi on PATH to use it instead`);
        expect(findPulumiCli({ env })).toEqual({
            source: "none",
            reason: `no pulumi CLI on PATH (the npm package's launcher does not count) and none cached at ${cache}/bin/pulumi`,
        });
        expect(installedPulumiCli(env)).toBeUndefined();
        expect(calls).toEqual([]);
        expect(fs.readdirSync(tmp)).toEqual([]);
    });

    test("(b) without node_modules/pulumi either, up.sh is told to run npm ci or install the CLI", () => {
        fs.writeFileSync(path.join(tmp, "package.json"), JSON.stringify({ devDependencies: { pulumi: PINNED } }));
        const choice = findPulumiCli({ env: { PATH: "", HOME: tmp }, root: tmp, npmLauncher: true });
        expect(choice.source).toBe("none");
        expect((choice as { reason: string }).reason).toMatch(/^the Pulumi CLI is not installed: none on PATH, none cached at .*, and no .*node_modules\/\.bin\/pulumi to download it \(run npm ci\)/);
    });

    test("(c) the pinned version cached under $PULUMI_HOME (or ~/.pulumi) is used; another cached version is not", () => {
        const calls = watchChildren();
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "pulumi-home");
        fakeCli(path.join(home, "versions", "3.1.0", "bin", "pulumi"), log);
        const env = { PATH: path.dirname(LAUNCHER), PULUMI_HOME: home, HOME: tmp };
        expect(findPulumiCli({ env }).source).toBe("none");

        const cached = fakeCli(path.join(home, "versions", PINNED, "bin", "pulumi"), log);
        for (const npmLauncher of [true, false]) expect(findPulumiCli({ env, npmLauncher })).toEqual({ source: "cache", bin: cached, version: PINNED });
        expect(pulumiCliNote(findPulumiCli({ env }), env)).toBe(`using the Pulumi CLI ${PINNED} (pinned in package.json) from ` +
            `${path.dirname(cached)}; put your own pulumi on PATH to use it instead`);
        // Without PULUMI_HOME: ~/.pulumi, as the launcher and the Automation API.
        const underHome = fakeCli(path.join(tmp, ".pulumi", "versions", PINNED, "bin", "pulumi"), log);
        expect(findPulumiCli({ env: { PATH: env.PATH, HOME: tmp } })).toEqual({ source: "cache", bin: underHome, version: PINNED });
        expect([calls, logged(log)]).toEqual([[], []]);
    });
});

describe("ensurePulumiCli: up.sh's download through the launcher (a fake one)", () => {
    /** A project with package.json and a fake launcher at node_modules/.bin/pulumi -> ../pulumi/run.js. */
    function fakeProject(launcherScript: string): string {
        const root = path.join(tmp, "project");
        fs.mkdirSync(path.join(root, "node_modules", "pulumi"), { recursive: true });
        fs.mkdirSync(path.join(root, "node_modules", ".bin"));
        fs.writeFileSync(path.join(root, "package.json"), JSON.stringify({ devDependencies: { pulumi: PINNED } }));
        fs.writeFileSync(path.join(root, "node_modules", "pulumi", "run.js"), launcherScript, { mode: 0o755 });
        fs.symlinkSync("../pulumi/run.js", path.join(root, "node_modules", ".bin", "pulumi"));
        return root;
    }

    test("(b) the launcher runs once (`version`), without PULUMI_VERSION; then the cached CLI is what up.sh runs", () => {
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "pulumi-home");
        const cached = path.join(home, "versions", PINNED, "bin", "pulumi");
        // "Downloads" by writing a fake CLI where the real launcher would install the real one.
        const root = fakeProject(`#!/bin/sh\necho "launcher: $* PULUMI_VERSION=$PULUMI_VERSION" >> '${log}'\n` +
            `mkdir -p '${path.dirname(cached)}'\nprintf '#!/bin/sh\\necho v${PINNED}\\n' > '${cached}'\nchmod +x '${cached}'\n`);
        const said: string[] = [];
        const env = { PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${toolsDir(false)}`, PULUMI_HOME: home, HOME: tmp, PULUMI_VERSION: "3.0.0" };
        expect(ensurePulumiCli({ env, root }, (l) => said.push(l))).toEqual({ source: "cache", bin: cached });
        expect(said).toEqual([`no pulumi on PATH: downloading the Pulumi CLI ${PINNED} (pinned in package.json) once, into ` +
            `${path.dirname(path.dirname(cached))}; put your own pulumi on PATH to use it instead`]);
        expect(logged(log)).toEqual(["launcher: version PULUMI_VERSION="]);
        // Next time: the cache, with no download.
        said.length = 0;
        expect(ensurePulumiCli({ env, root }, (l) => said.push(l))).toEqual({ source: "cache", bin: cached });
        expect(said[0]).toMatch(/^using the Pulumi CLI /);
        expect(logged(log)).toHaveLength(1);
    });

    test("(b) a download that fails (no network) stops up.sh with what to do", () => {
        const root = fakeProject("#!/bin/sh\nexit 1\n");
        const env = { PATH: path.join(root, "node_modules", ".bin"), PULUMI_HOME: path.join(tmp, "home"), HOME: tmp };
        expect(() => ensurePulumiCli({ env, root }, () => undefined)).toThrow(
            `could not download the Pulumi CLI ${PINNED} (it exited with 1): install it yourself (https://www.pulumi.com/docs/iac/download-install/) and put it on PATH`);
    });
});

describe("scripts/up.sh runs the CLI it was given", () => {
    /**
     * A copy of the project's up.sh, deps.sh, pulumiCli.ts and package files, with ts-node linked in
     * and, unless `launcher` is null, a fake npm launcher (node_modules/.bin/pulumi -> ../pulumi/run.js)
     * running `launcher`: the real one is never within reach of up.sh here.
     */
    function projectCopy(launcher: string | null): string {
        const root = path.join(tmp, "project");
        for (const file of ["scripts/up.sh", "scripts/deps.sh", "scripts/lib/pulumiCli.ts", "package.json", "package-lock.json", "tsconfig.json"]) {
            fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, file), path.join(root, file));
        }
        const modules = path.join(root, "node_modules");
        fs.mkdirSync(path.join(modules, ".bin"), { recursive: true });
        fs.writeFileSync(path.join(modules, ".package-lock.json"), "{}"); // not older than package-lock.json: deps.sh does nothing
        fs.symlinkSync(path.join(ROOT, "node_modules", "ts-node"), path.join(modules, "ts-node"));
        fs.symlinkSync("../ts-node/dist/bin.js", path.join(modules, ".bin", "ts-node"));
        if (launcher !== null) {
            fs.mkdirSync(path.join(modules, "pulumi"));
            fs.writeFileSync(path.join(modules, "pulumi", "run.js"), launcher, { mode: 0o755 });
            fs.symlinkSync("../pulumi/run.js", path.join(modules, ".bin", "pulumi"));
        }
        return root;
    }
    /** A launcher that logs its arguments to `log` and "downloads": writes a fake CLI at `cached`. */
    function fakeLauncher(log: string, cached: string): string {
        return `#!/bin/sh\necho "launcher: $*" >> '${log}'\nmkdir -p '${path.dirname(cached)}'\n` +
            `printf '#!/bin/sh\\necho "cached: $*" >> ${log}\\n' > '${cached}'\nchmod +x '${cached}'\n`;
    }
    /** Runs `bash scripts/up.sh preview` with a fake docker, a file backend and stack "unit-test". */
    function upSh(root: string, env: Record<string, string>): { status: number | null; stderr: string } {
        const docker = path.join(tmp, "docker");
        fs.mkdirSync(docker);
        fs.writeFileSync(path.join(docker, "docker"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const run = childProcess.spawnSync(systemTool("bash"), [path.join(root, "scripts", "up.sh"), "preview"], {
            env: {
                PULUMI_BACKEND_URL: `file://${tmp}/state`, PULUMI_CONFIG_PASSPHRASE: "test", STACK: "unit-test", HOME: tmp, ...env,
                // As under npm: node_modules/.bin first.
                PATH: [path.join(root, "node_modules", ".bin"), env.PATH, docker, toolsDir(true)].filter(Boolean).join(path.delimiter),
            },
            encoding: "utf8", timeout: 60_000,
        });
        if (run.error) throw run.error;
        return { status: run.status, stderr: run.stderr };
    }
    const OPS = ["stack select unit-test", "preview --diff --stack unit-test"];

    test("(a) a pulumi on PATH: no note, every command through it, the launcher untouched", () => {
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "home");
        const root = projectCopy(fakeLauncher(log, path.join(home, "versions", PINNED, "bin", "pulumi")));
        const own = fakeCli(path.join(tmp, "own", "pulumi"), log);
        const run = upSh(root, { PATH: path.dirname(own), PULUMI_HOME: home });
        expect([run.status, run.stderr]).toEqual([0, ""]);
        expect(logged(log)).toEqual(OPS.map((op) => `own: ${op}`));
    });

    test("(c) the cached CLI: its note, every command through it, the launcher untouched", () => {
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "home");
        const cached = path.join(home, "versions", PINNED, "bin", "pulumi");
        const root = projectCopy(fakeLauncher(log, cached));
        fakeCli(cached, log);
        const run = upSh(root, { PULUMI_HOME: home });
        expect([run.status, run.stderr]).toEqual([0, `up.sh: using the Pulumi CLI ${PINNED} (pinned in package.json) from ` +
            `${path.dirname(cached)}; put your own pulumi on PATH to use it instead\n`]);
        expect(logged(log)).toEqual(OPS.map((op) => `bin: ${op}`));
    });

    test("(b) only the launcher: one note, one download, then the cached CLI", () => {
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "home");
        const root = projectCopy(fakeLauncher(log, path.join(home, "versions", PINNED, "bin", "pulumi")));
        const run = upSh(root, { PULUMI_HOME: home });
        expect([run.status, run.stderr]).toEqual([0, `up.sh: no pulumi on PATH: downloading the Pulumi CLI ${PINNED} (pinned in package.json) ` +
            `once, into ${path.join(home, "versions", PINNED)}; put your own pulumi on PATH to use it instead\n`]);
        expect(logged(log)).toEqual(["launcher: version", ...OPS.map((op) => `cached: ${op}`)]);
    });

    test("with nothing to run it stops before any pulumi command, naming what to install", () => {
        const run = upSh(projectCopy(null), {});
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/^up\.sh: the Pulumi CLI is not installed: none on PATH, none cached at .*\(run npm ci\), or install it yourself: https:\/\/www\.pulumi\.com\/docs\/iac\/download-install\/\n$/);
    });
});

describe("the live stack harness's CLI (test/support/harness/liveStack.ts)", () => {
    type Harness = typeof import("../support/harness/liveStack");
    const realOs: typeof import("node:os") = require("node:os");
    const saved = { ...process.env };
    /** Every child process started (file names), with `docker` answered here: no Docker engine needed. */
    let calls: string[];
    afterEach(() => {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
        jest.restoreAllMocks();
    });

    /**
     * A fresh copy of the harness module (it decides on its CLI once per module) with `env` in
     * process.env, which its own commands are given; os.tmpdir() is the test's folder (the engine
     * line's once-per-process mark goes there), and child_process is watched.
     */
    function harnessWith(env: Record<string, string | undefined>): Harness {
        for (const [k, v] of Object.entries({ ...env, LIVE_ENGINE: undefined })) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        jest.spyOn(realOs, "tmpdir").mockReturnValue(tmp);
        calls = [];
        for (const fn of ["spawn", "spawnSync", "execFile", "execFileSync", "exec", "execSync", "fork"] as const) {
            const real = (childProcess as any)[fn];
            jest.spyOn(childProcess, fn).mockImplementation(((file: string, ...rest: any[]) => {
                calls.push(path.basename(file));
                return fn === "execFileSync" && file === "docker" ? Buffer.from("") : real(file, ...rest);
            }) as any);
        }
        let harness: Harness | undefined;
        jest.isolateModules(() => {
            harness = require("../support/harness/liveStack");
        });
        return harness!;
    }

    /** The engine line liveStack() prints. */
    function engineLine(harness: Harness): string {
        const lines: string[] = [];
        const stderr = jest.spyOn(process.stderr, "write").mockImplementation(((s: string) => lines.push(String(s))) as any);
        harness.liveStack({ stack: "unit-cli" });
        stderr.mockRestore();
        return lines.filter((l) => l.startsWith("liveStack engine:")).join("");
    }

    test("(a) a pulumi on PATH: automation, and the Automation API runs that very file", async () => {
        const log = path.join(tmp, "log");
        // In a folder not named bin: the Automation API reaches it through a link.
        const own = fakeCli(path.join(tmp, "own", "pulumi"), log);
        const harness = harnessWith({ PATH: [path.dirname(LAUNCHER), path.dirname(own)].join(path.delimiter), HOME: tmp, PULUMI_HOME: undefined });
        expect(harness.pulumiCli()).toBe(`v${PINNED}`);
        expect(harness.defaultEngine()).toBe("automation");
        const cmd = await harness.pulumiCommand();
        expect(fs.realpathSync(cmd.command)).toBe(fs.realpathSync(own));
        expect(logged(log)).toEqual(["own: version", "own: version"]); // the harness's check, then PulumiCommand.get's
        expect(engineLine(harness)).toBe(`liveStack engine: automation (Automation API with the pulumi CLI v${PINNED} (${own}, on PATH))\n`);
    });

    test("(b) only the npm launcher, nothing cached: mock-runtime, decided without running anything", async () => {
        const harness = harnessWith({ PATH: path.dirname(LAUNCHER), HOME: tmp, PULUMI_HOME: undefined });
        expect(harness.pulumiCli()).toBeUndefined();
        expect(harness.defaultEngine()).toBe("mock-runtime");
        await expect(harness.pulumiCommand()).rejects.toThrow("the automation engine needs a pulumi CLI: no pulumi CLI on PATH");
        expect(calls).toEqual([]);
        expect(engineLine(harness)).toBe("liveStack engine: mock-runtime (no pulumi CLI on PATH (the npm package's launcher does not count) and none " +
            `cached at ${path.join(tmp, ".pulumi", "versions", PINNED, "bin", "pulumi")}: index.ts under Pulumi's mock runtime, resources applied for real on Docker)\n`);
        // Only docker was asked (for the engine line), never pulumi; nothing was downloaded.
        expect(calls).toEqual(["docker", "docker"]);
        expect(fs.existsSync(path.join(tmp, ".pulumi"))).toBe(false);
    });

    test("(c) the pinned CLI cached under $PULUMI_HOME: automation, and the Automation API is pointed at it", async () => {
        const log = path.join(tmp, "log");
        const home = path.join(tmp, "pulumi-home");
        const cached = fakeCli(path.join(home, "versions", PINNED, "bin", "pulumi"), log);
        const harness = harnessWith({ PATH: path.dirname(LAUNCHER), HOME: tmp, PULUMI_HOME: home });
        expect(harness.pulumiCli()).toBe(`v${PINNED}`);
        expect(harness.defaultEngine()).toBe("automation");
        const cmd = await harness.pulumiCommand();
        expect(cmd.command).toBe(cached);
        expect(cmd.version?.version).toBe(PINNED);
        expect(logged(log)).toEqual(["bin: version", "bin: version"]);
        expect(engineLine(harness)).toBe(`liveStack engine: automation (Automation API with the pulumi CLI v${PINNED} ` +
            `(${cached}, the version package.json pins, cached))\n`);
        // A stack's workspace runs its commands through it (here: selecting the stack, for a config push).
        await harness.liveStack({ stack: "unit-cli", engine: "automation", stateDir: tmp }).setConfig({});
        expect(logged(log).slice(2)).toEqual(["bin: version", expect.stringMatching(/^bin: stack select --stack unit-cli .*--non-interactive$/)]);
        expect(calls.filter((c) => c !== "docker" && c !== "pulumi")).toEqual([]);
    });

    test("a CLI that does not run is no CLI: mock-runtime, saying why", () => {
        const home = path.join(tmp, "pulumi-home");
        const broken = path.join(home, "versions", PINNED, "bin", "pulumi");
        fs.mkdirSync(path.dirname(broken), { recursive: true });
        fs.writeFileSync(broken, "#!/bin/sh\necho 'cannot execute' >&2\nexit 126\n", { mode: 0o755 });
        const harness = harnessWith({ PATH: path.dirname(LAUNCHER), HOME: tmp, PULUMI_HOME: home });
        expect(harness.pulumiCli()).toBeUndefined();
        expect(harness.defaultEngine()).toBe("mock-runtime");
        expect(engineLine(harness)).toContain(`liveStack engine: mock-runtime (${broken}, the version package.json pins, cached, but ` +
            "`pulumi version` failed: cannot execute: index.ts under");
    });
});
