import type { Logger } from "./logger.js";
import { watchFiles } from "./watch-files.js";

/** Options of createReloadable. */
export interface ReloadableOptions<T> {
  /** What the material is, for logs and health, e.g. "TLS certificate". */
  name: string;
  /** The files it is read from; a change to any of them reloads it. */
  files: readonly string[];
  /** Reads and checks the material; throws when it is unusable. */
  load(): T;
  /** Called with the new material after each successful reload (not for the first load). */
  onReload?(value: T, previous: T): void;
  /** Logs reloads and failed reloads; default silent. */
  logger?: Logger;
  /** Stat poll interval of the file watch; default 2000 ms. */
  pollMs?: number;
}

/** What a reloadable reports to health. */
export interface ReloadHealth {
  /** False while the last reload failed (the previous material is still in use). */
  ok: boolean;
  detail: string;
}

/** Material read from files and re-read when they change or on request (SIGHUP). */
export interface Reloadable<T> {
  /** The material in use. */
  current(): T;
  /** Re-reads the files; on failure keeps the previous material. True when the reload worked. */
  reload(): boolean;
  health(): ReloadHealth;
  /** Stops watching the files. */
  close(): void;
}

/**
 * Loads material once (throwing at start-up if it is unusable, so a bad file fails visibly) and
 * reloads it when its files change. A reload that fails keeps what worked and says so in the log
 * and in health until a later reload succeeds.
 */
export function createReloadable<T>(options: ReloadableOptions<T>): Reloadable<T> {
  const logger = options.logger?.child({ material: options.name });
  let value = options.load();
  let failure: string | undefined;
  let loadedAt = new Date();
  const reload = (): boolean => {
    let next: T;
    try {
      next = options.load();
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      logger?.error(
        { reason: failure },
        `reloading the ${options.name} failed; keeping the previous one`,
      );
      return false;
    }
    const previous = value;
    value = next;
    failure = undefined;
    loadedAt = new Date();
    options.onReload?.(next, previous);
    logger?.info({ files: options.files }, `${options.name} reloaded`);
    return true;
  };
  const stop = watchFiles(options.files, reload, { pollMs: options.pollMs });
  return {
    current: () => value,
    reload,
    health: () =>
      failure === undefined
        ? { ok: true, detail: `loaded ${loadedAt.toISOString()}` }
        : {
            ok: false,
            detail: `reload failed, previous one in use since ${loadedAt.toISOString()}: ${failure}`,
          },
    close: stop,
  };
}
