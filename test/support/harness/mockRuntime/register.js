/**
 * The runner's TypeScript loader (`node -r ./register.js runner.ts`): the project's .ts files are
 * transpiled one by one with TypeScript's transpileModule, as ts-node's transpile-only mode does,
 * and the JavaScript is kept on disk by content. Every `up` of the live suites is a new runner
 * process; with ts-node each one transpiled the whole program again, about a third of its CPU.
 * Plain JavaScript, so that loading it needs no TypeScript; TypeScript itself loads only on a miss.
 * It also spares each runner two of the Pulumi SDK's loads that give the same result every time (below).
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
        writeAtomically(cached, code);
    }
    module._compile(code, fileName);
};

/** Writes a cache file under a temporary name and renames it into place: a reader never sees half a file. */
function writeAtomically(file, text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, file);
}

// ---------------------------------------------------------------- Pulumi's closure serializer
// Serializing a dynamic provider parses the text of every function it reaches with TypeScript
// (@pulumi/pulumi/runtime/closure/parseFunction.js): each runner loaded all of TypeScript for it and
// parsed the same few hundred functions again. What parseFunction returns depends on the function's
// text and the global object's names alone (given the parser, TypeScript and Node), so its results are kept on disk,
// and the real module, with TypeScript, loads only on a miss. A result is kept only if it reads back
// equal to what the real parser returned.
const Module = require("node:module");
const util = require("node:util");

const PULUMI = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [ROOT] }));
const PARSE_FUNCTION = path.join(PULUMI, "runtime", "closure", "parseFunction.js");
const CODE_PATHS = path.join(PULUMI, "runtime", "closure", "codePaths.js");
const TYPESCRIPT_VERSION = require(require.resolve("typescript/package.json", { paths: [PULUMI] })).version;
// The parser's own text, the TypeScript it parses with and Node: a new version of any is a new cache.
const PARSE_SALT = crypto.createHash("sha256").update(fs.readFileSync(PARSE_FUNCTION)).digest("hex") +
    `\0${TYPESCRIPT_VERSION}\0${process.version}\0`;

/** The names a CommonJS module of the SDK exports (`exports.name = ...`), read from its text. */
function exportedNames(file) {
    return [...new Set([...fs.readFileSync(file, "utf8").matchAll(/^exports\.(\w+) = /gm)].map((m) => m[1]))].sort().join(",");
}
// The stand-ins below export what these two modules export today; if an SDK update changes that, the
// real modules load as they are (slower, never wrong).
const STAND_INS = exportedNames(PARSE_FUNCTION) === "isNativeFunction,parseFunction" &&
    exportedNames(CODE_PATHS) === "computeCodePaths,findWorkspaceRoot";
if (!STAND_INS) process.stderr.write("register.js: the SDK's closure modules export other names now: no stand-ins, no parse cache\n");

/** Loads a module of the SDK for real, leaving `stand-in` in the module cache in its place. */
function loadReal(file, standIn) {
    delete require.cache[file];
    try {
        return require(file);
    } finally {
        require.cache[file] = standIn;
    }
}

/** A module object for the cache, as if `file` had loaded with these exports. */
function standInModule(file, exports) {
    const m = new Module(file, module);
    m.filename = file;
    m.paths = Module._nodeModulePaths(path.dirname(file));
    m.loaded = true;
    m.exports = exports;
    return m;
}

// [error, parsed]: parsed.capturedVariables holds two Maps, which JSON keeps as entry lists, and a
// method's parse has keys set to undefined, which JSON would drop: they are listed by name.
const encodeParse = ([error, parsed]) => JSON.stringify([error, parsed && {
    ...parsed,
    capturedVariables: { required: [...parsed.capturedVariables.required], optional: [...parsed.capturedVariables.optional] },
    undefinedKeys: Object.keys(parsed).filter((k) => parsed[k] === undefined),
}]);
const decodeParse = (text) => {
    const [error, parsed] = JSON.parse(text);
    if (parsed) {
        parsed.capturedVariables = { required: new Map(parsed.capturedVariables.required), optional: new Map(parsed.capturedVariables.optional) };
        for (const k of parsed.undefinedKeys) parsed[k] = undefined;
        delete parsed.undefinedKeys;
    }
    return [error, parsed];
};

let realParser;
const parseFunctionStandIn = standInModule(PARSE_FUNCTION, {
    parseFunction(funcString) {
        // The parser counts any name on the global object as a built-in, not captured: the names are part of the key.
        const globals = Object.getOwnPropertyNames(globalThis).sort().join(",");
        const key = crypto.createHash("sha256").update(PARSE_SALT).update(globals).update("\0").update(funcString).digest("hex");
        const cached = path.join(CACHE, `${key}.parse.json`);
        try {
            return decodeParse(fs.readFileSync(cached, "utf8"));
        } catch {
            realParser ??= loadReal(PARSE_FUNCTION, parseFunctionStandIn);
            const result = realParser.parseFunction(funcString);
            const text = encodeParse(result);
            if (util.isDeepStrictEqual(decodeParse(text), result)) writeAtomically(cached, text);
            return result;
        }
    },
    // As the SDK's (a one-line test): the module's other export.
    isNativeFunction(funcString) {
        return funcString.indexOf("[native " + "code]") !== -1;
    },
});
if (STAND_INS) require.cache[PARSE_FUNCTION] = parseFunctionStandIn;

// The SDK's runtime index loads closure/codePaths (npm's arborist and more) for computeCodePaths,
// which only packaging for a cloud function calls: it loads on the first call instead.
let realCodePaths;
const codePathsStandIn = standInModule(CODE_PATHS, {});
for (const name of ["computeCodePaths", "findWorkspaceRoot"]) {
    codePathsStandIn.exports[name] = (...args) => {
        realCodePaths ??= loadReal(CODE_PATHS, codePathsStandIn);
        return realCodePaths[name](...args);
    };
}
if (STAND_INS) require.cache[CODE_PATHS] = codePathsStandIn;

// With LIVE_SOURCE_MAPS=1, stack traces point into the .ts files (the inline source maps). Off by
// default: the SDK takes a stack trace for every resource it registers, and mapping them cost each
// runner about half a second of CPU. A runner's errors reach the tests as messages, not stacks.
if (process.env.LIVE_SOURCE_MAPS === "1") process.setSourceMapsEnabled(true);
