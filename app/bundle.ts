/**
 * The demo app as one file: the server (app/main.ts) with mysql2 inside, and the page (app/page/) as
 * strings in it, built with esbuild when the program runs. Runs with `node` alone (Node 20+).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as esbuildTypes from "esbuild";

const APP_DIR = __dirname;
const PAGE_DIR = path.join(APP_DIR, "page");

export function bundleDemoApp(): { code: string; sha256: string } {
    // Loaded here: the program needs esbuild only when it declares the app.
    const esbuild = require("esbuild") as typeof esbuildTypes;
    const page = esbuild.buildSync({
        entryPoints: [path.join(PAGE_DIR, "page.ts")], bundle: true, write: false, format: "iife", target: "es2020",
        platform: "browser", minify: true, legalComments: "none",
    }).outputFiles[0].text;
    const read = (file: string) => fs.readFileSync(path.join(PAGE_DIR, file), "utf8");
    const code = esbuild.buildSync({
        entryPoints: [path.join(APP_DIR, "main.ts")], bundle: true, write: false, platform: "node", target: "node20", format: "cjs",
        minify: true, legalComments: "none", logLevel: "silent",
        define: { DEMO_PAGE: JSON.stringify({ html: read("index.html"), css: read("page.css"), js: page }) },
    }).outputFiles[0].text;
    return { code, sha256: crypto.createHash("sha256").update(code).digest("hex") };
}
