/**
 * .github/workflows/lab.yml: validated with GitHub's own workflow parser (@actions/workflow-parser, the
 * one behind the Actions language server), then checked for what it must do: triggers, the preview
 * step, documented secrets, least-privilege permissions.
 *
 * The parser is an ES module that imports its JSON schema without an import attribute (it expects a
 * bundler), so Jest's CommonJS runtime cannot load it: it runs in a child Node process with a loader
 * hook that marks .json imports as JSON.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "lab.yml");

const PARSER_SCRIPT = `
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(
  "export async function load(url, context, next) {" +
  "  return url.endsWith('.json') ? next(url, { ...context, importAttributes: { ...context.importAttributes, type: 'json' } }) : next(url, context);" +
  "}"));
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import("@actions/workflow-parser");
let content = "";
for await (const chunk of process.stdin) content += chunk;
const result = parseWorkflow({ name: "lab.yml", content }, new NoOperationTraceWriter());
const errors = result.context.errors.getErrors().map((e) => e.message);
const template = result.value && errors.length === 0 ? await convertWorkflowTemplate(result.context, result.value) : undefined;
process.stdout.write(JSON.stringify({ errors, template }));
`;

interface Parsed {
    errors: string[];
    template?: {
        events: Record<string, any>;
        jobs: { id: string; if: { expr: string }; "runs-on": unknown; steps: { uses?: string; run?: string; if?: { expr: string } }[] }[];
        concurrency?: unknown;
    };
}

/** Parses workflow text with @actions/workflow-parser in a child process. */
function parseWithActionsParser(content: string): Promise<Parsed> {
    return new Promise((resolve, reject) => {
        const child = execFile(process.execPath, ["--input-type=module", "-e", PARSER_SCRIPT], { cwd: ROOT, timeout: 60_000 },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))));
        child.stdin!.end(content);
    });
}

const text = fs.readFileSync(WORKFLOW, "utf8");
const doc = YAML.parse(text);
const headerComments = text.split("\n").filter((l) => l.startsWith("#"));
const body = text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");

describe(".github/workflows/lab.yml", () => {
    let parsed: Parsed;
    beforeAll(async () => {
        parsed = await parseWithActionsParser(text);
    }, 60_000);

    test("GitHub's workflow parser accepts it without errors", () => {
        expect(parsed.errors).toEqual([]);
        expect(parsed.template).toBeDefined();
    });

    test("the parser does reject a broken workflow (so the check above means something)", async () => {
        const broken = text.replace("pull-requests: write", "pull-requests: sometimes").replace("runs-on: ubuntu-latest", "runs-onn: ubuntu-latest");
        const result = await parseWithActionsParser(broken);
        const errors = result.errors.join("\n");
        expect(errors).toContain("Unexpected value 'sometimes'");
        expect(errors).toContain("Unexpected value 'runs-onn'");
        expect(errors).toContain("Required property is missing: runs-on");
    }, 60_000);

    test("triggers: pull requests, and pushes to main", () => {
        const events = parsed.template!.events;
        expect(Object.keys(events).sort()).toEqual(["pull_request", "push"]);
        expect(events.push.branches).toEqual(["main"]);
    });

    test("pull requests: install, unit tests, then pulumi preview --diff with a PR comment", () => {
        const job = parsed.template!.jobs.find((j) => j.id === "preview")!;
        expect(job.if.expr).toContain("github.event_name == 'pull_request'");
        expect(job["runs-on"]).toBe("ubuntu-latest");
        expect(job.steps.map((s) => s.uses ?? s.run)).toEqual([
            "actions/checkout@v4", "actions/setup-node@v4", "npm ci --no-audit --no-fund", "npm run test:unit", "pulumi/actions@v6",
        ]);
        const steps = doc.jobs.preview.steps;
        expect(steps[1].with).toEqual({ "node-version": 20, cache: "npm" });
        const preview = steps[4];
        expect(preview.with.command).toBe("preview");
        expect(preview.with.diff).toBe(true);
        expect(preview.with["comment-on-pr"]).toBe(true);
        expect(preview.with["github-token"]).toBe("${{ secrets.GITHUB_TOKEN }}");
        // The stack comes from a repository variable, dev when unset.
        expect(preview.with["stack-name"]).toBe("${{ vars.PULUMI_STACK || 'dev' }}");
        // Forks get no secrets: their preview is skipped rather than failed.
        expect(preview.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    });

    test("main: the full suite (.ci/run) on a runner with Docker, with the Pulumi CLI so the live suite runs the real engine", () => {
        const job = parsed.template!.jobs.find((j) => j.id === "full-suite")!;
        expect(job.if.expr).toContain("github.event_name == 'push' && github.ref == 'refs/heads/main'");
        expect(job["runs-on"]).toBe("ubuntu-latest");
        expect(job.steps.map((s) => s.uses ?? s.run)).toEqual(["actions/checkout@v4", "actions/setup-node@v4", "pulumi/actions@v6", "bash .ci/run"]);
        // Installed only: the step runs no pulumi command of its own.
        const install = body.slice(body.indexOf("name: Install the Pulumi CLI"), body.indexOf("run: bash .ci/run"));
        expect(install).toContain("uses: pulumi/actions@v6");
        expect(install).not.toContain("command:");
        expect(fs.existsSync(path.join(ROOT, ".ci", "run"))).toBe(true);
    });

    test("every Pulumi CLI it installs is the one version package.json pins (what npm run up uses)", () => {
        const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies.pulumi;
        expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
        const steps = Object.entries<any>(doc.jobs).flatMap(([id, job]) => job.steps.map((s: any) => ({ id, ...s })))
            .filter((s) => /^pulumi\/actions@/.test(s.uses ?? ""));
        expect(steps.map((s) => s.id)).toEqual(["preview", "full-suite"]);
        for (const step of steps) expect([step.id, step.with?.["pulumi-version"]]).toEqual([step.id, pinned]);
        // No other way in: no version file, no install script.
        expect(body).not.toMatch(/pulumi-version-file|get\.pulumi\.com/);
    });

    test("every npm script it runs exists", () => {
        const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
        for (const [, name] of body.matchAll(/npm run ([\w:-]+)/g)) expect([name, name in scripts]).toEqual([name, true]);
    });

    test("the secrets documented at the top are exactly the ones it uses", () => {
        const start = headerComments.findIndex((l) => /^# Secrets/.test(l));
        const end = headerComments.findIndex((l, i) => i > start && /^# Variables/.test(l));
        expect(start).toBeGreaterThanOrEqual(0);
        expect(end).toBeGreaterThan(start);
        const documented = new Set(headerComments.slice(start, end).map((l) => /^#\s{2,}([A-Z][A-Z0-9_]+)\s/.exec(l)?.[1]).filter(Boolean));
        // GITHUB_TOKEN is GitHub's own, not a secret users set.
        const referenced = new Set([...body.matchAll(/secrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1]).filter((n) => n !== "GITHUB_TOKEN"));
        expect([...documented].sort()).toEqual([...referenced].sort());
        expect([...referenced].sort()).toEqual(["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]);
        expect(headerComments.join("\n")).toContain("GITHUB_TOKEN");

        const documentedVars = new Set(headerComments.slice(end).map((l) => /^#\s{2,}([A-Z][A-Z0-9_]+)\s/.exec(l)?.[1]).filter(Boolean));
        const referencedVars = new Set([...body.matchAll(/vars\.([A-Za-z0-9_]+)/g)].map((m) => m[1]));
        expect([...documentedVars].sort()).toEqual([...referencedVars].sort());
    });

    test("permissions: read-only by default; only the preview job may write, and only PR comments", () => {
        expect(doc.permissions).toEqual({ contents: "read" });
        expect(doc.jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
        for (const [id, job] of Object.entries<any>(doc.jobs)) {
            if (id === "preview") continue;
            const perms = job.permissions ?? {};
            expect([id, Object.values(perms).filter((v) => v !== "read" && v !== "none")]).toEqual([id, []]);
        }
        expect(text).not.toMatch(/write-all|read-all/);
    });

    test("one run per pull request or branch", () => {
        expect(doc.concurrency.group).toContain("github.event.pull_request.number || github.ref");
        expect(doc.concurrency["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
    });
});
