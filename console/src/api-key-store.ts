// The API key lives in sessionStorage only: it is gone when the browser session ends, and it is
// never written to localStorage, cookies or the URL.

/** Where the key a person entered is kept for this browser session. */
export interface ApiKeyStore {
  /** The key, or undefined when none was entered. */
  get(): string | undefined;
  set(key: string): void;
  /** Forgets the key (refused, or the person asked). */
  clear(): void;
}

const storageKey = "rebalancer.apiKey";

/** A store over a Storage, in the browser `sessionStorage`. */
export function createApiKeyStore(storage: Storage): ApiKeyStore {
  return {
    get: () => storage.getItem(storageKey) ?? undefined,
    set: (key) => storage.setItem(storageKey, key),
    clear: () => storage.removeItem(storageKey),
  };
}
