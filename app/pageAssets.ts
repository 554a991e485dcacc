/**
 * The page's files, as strings: app/bundle.ts puts them into the bundle (DEMO_PAGE); run unbundled
 * (tests), they are read from app/page/ and the script is served unbuilt (empty).
 */
import * as fs from "node:fs";
import * as path from "node:path";

declare const DEMO_PAGE: { html: string; css: string; js: string } | undefined;

function fromDisk(): { html: string; css: string; js: string } {
    const read = (file: string) => fs.readFileSync(path.join(__dirname, "page", file), "utf8");
    return { html: read("index.html"), css: read("page.css"), js: "" };
}

const page = typeof DEMO_PAGE !== "undefined" ? DEMO_PAGE : fromDisk();
export const PAGE_HTML = page.html;
export const PAGE_CSS = page.css;
export const PAGE_JS = page.js;
