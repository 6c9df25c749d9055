// Test set-up for the console's browser tests: Debian's Chromium, installed with apt-get when it
// is missing (as root, as on CI and the project's machines). Nothing downloads a browser itself.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(path)) {
  if (process.getuid?.() !== 0) {
    console.error(`${path} is missing: install Debian's chromium (apt-get install chromium)`);
    process.exit(1);
  }
  console.log(`${path} is missing: installing Debian's chromium`);
  const apt = (...args) =>
    execFileSync("apt-get", args, {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  apt("update");
  apt("install", "-y", "--no-install-recommends", "chromium");
}
