/**
 * A real headless Chromium for browser tests, driven by puppeteer-core: the system's
 * Debian `chromium` (installed by scripts/install-deps.sh), never a downloaded one.
 *
 * @module
 */

import puppeteer, { type Browser } from "puppeteer-core";

/** Where scripts/install-deps.sh puts Debian's chromium; `CHROMIUM` overrides it. */
export const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";

/**
 * Launches headless Chromium. As root (containers, CI) Chromium refuses to start with its
 * sandbox, so it goes without one there; the pages it loads are our own.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * try {
 *   const page = await browser.newPage();
 *   await page.setContent("<p>hi</p>");
 * } finally {
 *   await browser.close();
 * }
 * ```
 */
export function launchBrowser(): Promise<Browser> {
  const root = Deno.uid?.() === 0;
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...(root ? ["--no-sandbox"] : []), "--disable-gpu", "--disable-dev-shm-usage"],
  });
}
