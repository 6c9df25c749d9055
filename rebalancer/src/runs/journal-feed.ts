import type { RunStore } from "./run-store.js";

/**
 * Tells the watches of this process that the journal grew. It carries no events: a watch reads
 * them from the store after its own position, so the store stays the one order of events and a
 * watch that is slow to read costs a run nothing.
 */
export interface JournalFeed {
  /** How often the journal grew so far: taken before reading the store, then waited past. */
  readonly version: number;
  /**
   * Resolves once the journal grew after `version` was taken (at once when it already has);
   * rejects with the signal's reason when it aborts first.
   */
  grownPast(version: number, signal: AbortSignal): Promise<void>;
}

/**
 * `store`, telling the feed it returns each time an event is in its journal. `grown` tells it of
 * events appended elsewhere: another replica's, e.g. on a PostgreSQL NOTIFY.
 */
export function withJournalFeed(store: RunStore): {
  store: RunStore;
  feed: JournalFeed;
  grown: () => void;
} {
  let version = 0;
  const waiters = new Set<() => void>();
  const grown = () => {
    version++;
    for (const wake of waiters) wake();
    waiters.clear();
  };
  const feed: JournalFeed = {
    get version() {
      return version;
    },
    grownPast(seen, signal) {
      if (version > seen) return Promise.resolve();
      signal.throwIfAborted();
      return new Promise<void>((resolve, reject) => {
        const abort = () => {
          waiters.delete(wake);
          reject(signal.reason as Error);
        };
        const wake = () => {
          signal.removeEventListener("abort", abort);
          resolve();
        };
        waiters.add(wake);
        signal.addEventListener("abort", abort, { once: true });
      });
    },
  };
  return {
    feed,
    grown,
    // Every method delegated by name: a store may be a class instance, which a spread would lose.
    store: {
      // A begin that found the run already recorded appended nothing; a wake costs one read.
      begin: (accepted) => store.begin(accepted).finally(grown),
      appendEvent: (event) => store.appendEvent(event).finally(grown),
      finish: (run) => store.finish(run),
      events: (runId) => store.events(runId),
      eventsAfter: (position, limit) => store.eventsAfter(position, limit),
      lastPosition: () => store.lastPosition(),
      responses: (runId) => store.responses(runId),
      get: (runId) => store.get(runId),
      list: (accountId, limit, before) => store.list(accountId, limit, before),
      find: (accountId, idempotencyKey) => store.find(accountId, idempotencyKey),
      running: () => store.running(),
      health: () => store.health(),
      close: () => store.close(),
    },
  };
}
