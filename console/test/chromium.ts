// Debian's Chromium driven by playwright-core; no browser is ever downloaded. Each launch gets a
// fresh, temporary user-data-dir from playwright-core, removed when the browser closes.
import { chromium, type Browser } from "playwright-core";

/** Where `apt-get install chromium` puts the browser; CHROMIUM_PATH overrides it. */
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Starts headless Chromium with nothing reaching beyond this machine. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
