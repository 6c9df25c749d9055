import { readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Account } from "@mesh/platform/accounts";
import { parse as parseYaml } from "yaml";
import { AllocationError } from "./allocation-error.js";
import type { AllocationProvider } from "./allocation-provider.js";
import type { Allocations } from "./allocations.js";
import { parseAllocations } from "./parse-allocations.js";

/** Options of createFileAllocations. */
export interface FileAllocationsOptions {
  /** Refuse a file whose `name` is not the account's strategy; default true. */
  checkName?: boolean;
}

const extensions = [".yaml", ".yml", ".json"];

/**
 * Targets from a local YAML or JSON file: `{name, as_of, allocations: [{symbol, allocation}]}` or
 * the allocation API's enveloped answer. The file is read on every call, so edits apply to the
 * next run. A directory is searched for `<strategy>.yaml`, `.yml` or `.json`.
 */
export function createFileAllocations(options: FileAllocationsOptions = {}): AllocationProvider {
  let reads = 0;
  let lastProblem = "";
  return {
    async targets(account: Account): Promise<Allocations> {
      if (account.allocations.kind !== "file") {
        throw new AllocationError(
          "unavailable",
          `account ${account.accountId} does not take its allocations from a file`,
        );
      }
      try {
        const file = await resolveFile(account.allocations.path, account.strategy);
        const text = await readText(file);
        const doc = parseText(text, file);
        const allocations = parseAllocations(doc, {
          strategy: account.strategy,
          source: file,
          checkName: options.checkName,
        });
        reads++;
        lastProblem = "";
        return allocations;
      } catch (err) {
        lastProblem = (err as Error).message;
        throw err;
      }
    },
    health() {
      // A bad file fails the runs that need it; the source itself is always there.
      const detail = lastProblem
        ? `local files; the last read failed: ${lastProblem}`
        : `local files; ${reads} read(s) so far`;
      return { ok: true, detail };
    },
  };
}

/** The file holding a strategy's targets at `path` (a file, or a folder of `<strategy>.yaml`). */
export async function resolveFile(path: string, strategy: string): Promise<string> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw unreadable(path, err);
  });
  if (!info.isDirectory()) return path;
  for (const ext of extensions) {
    const candidate = join(path, `${strategy}${ext}`);
    if (
      await stat(candidate).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return candidate;
  }
  throw new AllocationError(
    "unavailable",
    `no allocations file for strategy ${strategy} in ${path} (looked for ${extensions.map((e) => strategy + e).join(", ")})`,
  );
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw unreadable(file, err as NodeJS.ErrnoException);
  }
}

function parseText(text: string, file: string): unknown {
  const json = extname(file).toLowerCase() === ".json";
  try {
    // YAML also reads JSON; JSON.parse gives the clearer message for a .json file.
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new AllocationError(
      "invalid",
      `${file}: not valid ${json ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`,
      false,
      { cause: err },
    );
  }
}

function unreadable(file: string, err: NodeJS.ErrnoException): AllocationError {
  const why = err.code === "ENOENT" ? "no such file" : (err.code ?? err.message);
  return new AllocationError("unavailable", `cannot read allocations file ${file}: ${why}`, false, {
    cause: err,
  });
}
