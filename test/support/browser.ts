/**
 * Headless Chromium for the page tests, driven by playwright-core (which downloads no browser): Debian's
 * `chromium`, which scripts/testbed.sh installs, or CHROMIUM_PATH. Screenshots are kept under
 * test/artifacts/ as the tests' artifacts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Browser, type Page, chromium } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
export const ARTIFACTS = path.resolve(__dirname, "..", "artifacts");

/** The browser to drive, or why there is none. */
export function chromiumPath(): { path: string } | { reason: string } {
    const given = process.env.CHROMIUM_PATH;
    if (given) return fs.existsSync(given) ? { path: given } : { reason: `CHROMIUM_PATH=${given} does not exist` };
    const found = CANDIDATES.find((p) => fs.existsSync(p));
    return found ? { path: found } : { reason: `no Chromium at ${CANDIDATES.join(", ")} (install Debian's chromium, or run bash scripts/testbed.sh)` };
}

export interface BrowserSession {
    /** A new page at `url`, 1280×900. */
    open(url: string): Promise<Page>;
    /** Saves a full-page PNG as test/artifacts/<name>.png; returns its path. */
    screenshot(page: Page, name: string): Promise<string>;
    close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
    const found = chromiumPath();
    if ("reason" in found) throw new Error(found.reason);
    const browser: Browser = await chromium.launch({
        executablePath: found.path,
        headless: true,
        // Root (as in CI containers) cannot use Chromium's sandbox.
        args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-gpu", "--disable-dev-shm-usage"],
    });
    return {
        async open(url) {
            const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
            await page.goto(url, { waitUntil: "load" });
            return page;
        },
        async screenshot(page, name) {
            fs.mkdirSync(ARTIFACTS, { recursive: true });
            const file = path.join(ARTIFACTS, `${name}.png`);
            await page.screenshot({ path: file, fullPage: true });
            return file;
        },
        close: () => browser.close(),
    };
}
