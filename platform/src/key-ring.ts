/** Options of createKeyRing. */
export interface KeyRingOptions {
  /** The keys accepted at start. */
  keys: readonly string[];
  /**
   * How long keys dropped by a replacement are still accepted, so that clients still sending
   * the old key while their own secret is being updated do not fail; default 0 (at once).
   */
  overlapMs?: number;
  /** The clock; default Date.now. */
  now?: () => number;
}

/** The set of accepted bearer keys, replaced on rotation. */
export interface KeyRing {
  /** Keys accepted right now: the current ones and those still inside their overlap. */
  accepted(): readonly string[];
  /** Makes `keys` the current keys; the ones dropped stay accepted for the overlap. */
  replace(keys: readonly string[]): void;
}

/** A key ring; see KeyRingOptions. */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  const now = options.now ?? Date.now;
  const overlapMs = options.overlapMs ?? 0;
  let current = [...options.keys];
  // Dropped key -> until when it is still accepted.
  const retiring = new Map<string, number>();
  return {
    accepted() {
      const at = now();
      for (const [key, until] of retiring) if (until <= at) retiring.delete(key);
      return retiring.size === 0 ? current : [...current, ...retiring.keys()];
    },
    replace(keys) {
      const until = now() + overlapMs;
      for (const key of current) if (!keys.includes(key) && overlapMs > 0) retiring.set(key, until);
      for (const key of keys) retiring.delete(key);
      current = [...keys];
    },
  };
}
