/**
 * The program's shape, as docs/developing.md promises it: short functions in components/, SQL text
 * and flavor choices only in the SQL modules, and no dynamic provider reaching into another's file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.join(__dirname, "..", "..");
const COMPONENTS = path.join(ROOT, "components");

function sourceFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? sourceFiles(p) : e.name.endsWith(".ts") ? [p] : [];
    });
}

const rel = (p: string) => path.relative(ROOT, p);
const parse = (p: string) => ts.createSourceFile(p, fs.readFileSync(p, "utf8"), ts.ScriptTarget.Latest, true);

/** Every function with a body, as "file:line name" with its length in lines. */
function functionLengths(file: string): { where: string; lines: number }[] {
    const src = parse(file);
    const out: { where: string; lines: number }[] = [];
    const visit = (n: ts.Node) => {
        if (ts.isFunctionLike(n) && "body" in n && n.body) {
            const start = src.getLineAndCharacterOfPosition(n.getStart()).line;
            const end = src.getLineAndCharacterOfPosition(n.getEnd()).line;
            const name = ts.isConstructorDeclaration(n) ? "constructor" : (n.name?.getText(src) ?? "(anonymous)");
            out.push({ where: `${rel(file)}:${start + 1} ${name}`, lines: end - start + 1 });
        }
        ts.forEachChild(n, visit);
    };
    visit(src);
    return out;
}

/** Files that define a dynamic provider (an object typed pulumi.dynamic.ResourceProvider). */
const providerFiles = sourceFiles(path.join(COMPONENTS, "replication"))
    .filter((f) => /pulumi\.dynamic\.ResourceProvider</.test(fs.readFileSync(f, "utf8")));

/** Where SQL text may be written: the SQL modules, and the one function that runs a statement. */
const SQL_HOMES = [path.join(COMPONENTS, "replication", "sql"), path.join(COMPONENTS, "replication", "labTablesSql.ts")];

describe("the program's shape", () => {
    test("the providers are found where docs/developing.md says", () => {
        expect(providerFiles.map((f) => path.basename(f)).sort())
            .toEqual(["accounts.ts", "dataDirectory.ts", "labTables.ts", "replication.ts", "serverReady.ts", "serverRole.ts", "topology.ts"]);
    });

    test("no function in components/ is over 70 lines", () => {
        const long = sourceFiles(COMPONENTS).flatMap(functionLengths).filter((f) => f.lines > 70);
        expect(long).toEqual([]);
    });

    test("no provider imports another provider's file", () => {
        const names = new Set(providerFiles.map((f) => path.basename(f, ".ts")));
        const crossings = providerFiles.flatMap((f) => [...fs.readFileSync(f, "utf8").matchAll(/from "\.\/([\w]+)"/g)]
            .map((m) => m[1]).filter((m) => names.has(m)).map((m) => `${rel(f)} imports ./${m}`));
        expect(crossings).toEqual([]);
    });

    test("SQL text and flavor choices live in the SQL modules only", () => {
        const outside = sourceFiles(path.join(COMPONENTS, "replication")).filter((f) => !SQL_HOMES.some((h) => f.startsWith(h)));
        const found = outside.flatMap((f) => fs.readFileSync(f, "utf8").split("\n").map((line, i) => ({ line, where: `${rel(f)}:${i + 1}` })))
            .filter(({ line }) =>
                // A statement literal (the runner's own conn.query({ sql: stmt.sql }) aside), or a flavor compared with a name.
                (/\{ sql: ["`]/.test(line)) || /flavor [!=]== "/.test(line))
            .map(({ where, line }) => `${where}: ${line.trim()}`);
        expect(found).toEqual([]);
    });
});
