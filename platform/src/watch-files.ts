import { watch, statSync, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

/** Options of watchFiles. */
export interface WatchFilesOptions {
  /** How often the files are also compared by stat, for file systems without events; default 2000 ms. */
  pollMs?: number;
  /** Changes closer together than this make one call; default 100 ms. */
  settleMs?: number;
}

/** Stops watching. */
export type StopWatching = () => void;

/**
 * Calls `onChange` when any of `files` changes. Each file and its folder are watched: Kubernetes
 * and Docker update a mounted secret by swapping a symlink in the folder (`..data`), which a
 * watch on the file alone never sees. A stat poll catches what events miss (network and overlay
 * file systems), comparing inode, size and modification time.
 */
export function watchFiles(
  files: readonly string[],
  onChange: () => void,
  options: WatchFilesOptions = {},
): StopWatching {
  const settleMs = options.settleMs ?? 100;
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const signature = (file: string): string => {
    try {
      const stat = statSync(file);
      return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    } catch {
      return "missing";
    }
  };
  const seen = new Map(files.map((file) => [file, signature(file)]));
  const changed = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      for (const file of files) seen.set(file, signature(file));
      onChange();
    }, settleMs);
    timer.unref();
  };
  const folders = new Set(files.map((file) => dirname(file)));
  const names = new Set(files.map((file) => basename(file)));
  for (const folder of folders) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        // Symlink swaps rename entries such as "..data" rather than the file itself.
        if (name === null || names.has(String(name)) || String(name).startsWith("..")) changed();
      });
      watcher.on("error", () => watcher.close());
      watchers.push(watcher);
    } catch {
      // A folder that cannot be watched is left to the poll.
    }
  }
  for (const file of files) {
    try {
      const watcher = watch(file, { persistent: false }, changed);
      watcher.on("error", () => watcher.close());
      watchers.push(watcher);
    } catch {
      // Missing now; the folder watch and the poll still see it appear.
    }
  }
  const poll = setInterval(() => {
    if (files.some((file) => signature(file) !== seen.get(file))) changed();
  }, options.pollMs ?? 2000);
  poll.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(poll);
    for (const watcher of watchers) watcher.close();
  };
}
