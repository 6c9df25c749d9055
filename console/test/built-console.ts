import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConsole } from "../build-console.js";

let built: Promise<string> | undefined;

/**
 * The console as the rebalancer serves it, built once per test run into a temporary folder, so
 * tests never depend on (or change) a console/dist left by `npm start`.
 */
export function builtConsole(): Promise<string> {
  built ??= buildConsole({ outDir: mkdtempSync(join(tmpdir(), "console-dist-")) });
  return built;
}
