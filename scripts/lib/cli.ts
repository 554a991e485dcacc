/**
 * Command-line plumbing shared by status, verify and bench: options, help, and a main wrapper that
 * turns errors into messages without secrets and into exit codes.
 */
import { type LabOutputs, UsageError, loadOutputs, redact } from "./outputs";

/** Exit codes: 0 all good, 1 the lab has a problem (the tool's finding), 2 the tool could not run as asked. */
export const EXIT = { ok: 0, problem: 1, usage: 2 } as const;

export interface OptionSpec {
    readonly type: "string" | "number" | "boolean";
    readonly help: string;
    /** Shown in help; the caller applies defaults. */
    readonly placeholder?: string;
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/** Options every tool takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
    outputs: { type: "string", placeholder: "FILE", help: "stack outputs JSON (`pulumi stack output --json --show-secrets`)" },
    stack: { type: "string", placeholder: "NAME", help: "stack to read outputs from with the Pulumi CLI (when no --outputs)" },
    help: { type: "boolean", help: "show this help" },
};

/** Parses `--name value`, `--name=value` and `--flag`; unknown options and stray words are errors. */
export function parseArgs(argv: readonly string[], specs: Record<string, OptionSpec>): ParsedOptions {
    const out: ParsedOptions = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
        if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (options start with --)`);
        const name = m[1];
        const spec = specs[name];
        if (!spec) throw new UsageError(`unknown option --${name}; known: ${Object.keys(specs).map((k) => `--${k}`).join(", ")}`);
        if (spec.type === "boolean") {
            if (m[2] !== undefined && !["true", "false"].includes(m[2])) throw new UsageError(`--${name} takes no value`);
            out[name] = m[2] === undefined ? true : m[2] === "true";
            continue;
        }
        let value = m[2];
        if (value === undefined) {
            if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
            value = argv[++i];
        }
        if (spec.type === "number") {
            const n = Number(value);
            if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(value)}`);
            out[name] = n;
        } else {
            out[name] = value;
        }
    }
    return out;
}

/** A number option checked against a range (whole numbers when `integer`). */
export function numberOption(opts: ParsedOptions, name: string, fallback: number, min: number, max: number, integer = false): number {
    const v = opts[name];
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw new UsageError(`--${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, got ${v}`);
    }
    return n;
}

export function helpText(usage: string, description: string, specs: Record<string, OptionSpec>): string {
    const rows = Object.entries(specs).map(([name, s]) => [`--${name}${s.placeholder ? ` ${s.placeholder}` : ""}`, s.help]);
    const width = Math.max(...rows.map((r) => r[0].length));
    return `${usage}\n\n${description}\n\nOptions:\n${rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n")}\n`;
}

/**
 * A tool's command line: its options parsed, or undefined after printing the help when --help asked.
 */
export function toolArgs(usage: string, description: string, specs: Record<string, OptionSpec>,
    argv: readonly string[] = process.argv.slice(2)): ParsedOptions | undefined {
    const opts = parseArgs(argv, specs);
    if (!opts.help) return opts;
    process.stdout.write(helpText(usage, description, specs));
    return undefined;
}

/** The lab's outputs the common options point at (--outputs FILE, else the stack's via the Pulumi CLI). */
export function outputsOf(opts: ParsedOptions): LabOutputs {
    return loadOutputs({ outputsFile: opts.outputs as string | undefined, stack: opts.stack as string | undefined });
}

/**
 * Runs a tool's main: its result is the exit code. Errors print one redacted line (exit 2 for usage
 * problems, 1 otherwise); stack traces only with DEBUG set, and redacted too.
 */
export function runMain(tool: string, main: () => Promise<number>): void {
    main().then(
        (code) => {
            process.exitCode = code;
        },
        (err: unknown) => {
            const e = err as Error;
            const usage = e instanceof UsageError;
            process.stderr.write(`${tool}: ${redact(e?.message ?? String(err))}\n`);
            if (process.env.DEBUG && e?.stack) process.stderr.write(`${redact(e.stack)}\n`);
            process.exitCode = usage ? EXIT.usage : EXIT.problem;
        },
    );
}
