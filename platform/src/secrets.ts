import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Reads a secret from the environment: `NAME`, or the file named by `NAME_FILE` (Docker secrets).
 * Returns undefined when neither is set, or when the file is empty (an optional secret that
 * compose always mounts); trailing newlines of a file are dropped. A relative NAME_FILE is taken
 * from `base` (default the working folder).
 */
export function readSecret(
  env: NodeJS.ProcessEnv,
  name: string,
  base: string = process.cwd(),
): string | undefined {
  const named = env[`${name}_FILE`];
  const file = named ? resolve(base, named) : undefined;
  if (file) {
    try {
      const value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
      return value === "" ? undefined : value;
    } catch (err) {
      throw new Error(`${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
      });
    }
  }
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}
