/**
 * The runner's TypeScript loader (`node -r ./register.js runner.ts`): the project's .ts files are
 * transpiled one by one with TypeScript's transpileModule, as ts-node's transpile-only mode does,
 * and the JavaScript is kept on disk by content. Every `up` of the live suites is a new runner
 * process; with ts-node each one transpiled the whole program again, about a third of its CPU.
 * Plain JavaScript, so that loading it needs no TypeScript; TypeScript itself loads only on a miss.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../../../..");
const TSCONFIG = path.join(ROOT, "tsconfig.json");
const CACHE = path.join(os.tmpdir(), "mysql-replicas-ts-cache");
// What the output depends on besides the file: the compiler and the project's options.
const SALT = `${require("typescript/package.json").version}\0${fs.readFileSync(TSCONFIG, "utf8")}\0`;

let ts;
let compilerOptions;

function transpile(source, fileName) {
    if (!ts) {
        ts = require("typescript");
        const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(TSCONFIG, ts.sys.readFile).config, ts.sys, ROOT);
        compilerOptions = { ...parsed.options, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false, noEmit: false };
    }
    return ts.transpileModule(source, { fileName, compilerOptions, reportDiagnostics: false }).outputText;
}

require.extensions[".ts"] = function loadTypeScript(module, fileName) {
    if (fileName.includes(`${path.sep}node_modules${path.sep}`)) throw new Error(`${fileName}: TypeScript from node_modules is not loaded`);
    const source = fs.readFileSync(fileName, "utf8");
    const key = crypto.createHash("sha256").update(SALT).update(fileName).update("\0").update(source).digest("hex");
    const cached = path.join(CACHE, `${key}.js`);
    let code;
    try {
        code = fs.readFileSync(cached, "utf8");
    } catch {
        code = transpile(source, fileName);
        fs.mkdirSync(CACHE, { recursive: true });
        const partial = `${cached}.${process.pid}`; // renamed into place: a reader never sees half a file
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, cached);
    }
    module._compile(code, fileName);
};

// Stack traces point into the .ts files (the inline source maps).
process.setSourceMapsEnabled(true);
