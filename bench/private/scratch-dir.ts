import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary folder for one benchmark's files; remove() deletes it. */
export interface ScratchDir {
  dir: string;
  /** A path inside the folder. */
  path(...parts: string[]): string;
  remove(): void;
}

export function createScratchDir(name: string): ScratchDir {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  return {
    dir,
    path: (...parts) => join(dir, ...parts),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
