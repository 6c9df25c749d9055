/**
 * A fresh idempotency key for a run started from the console. Made with getRandomValues, which
 * (unlike randomUUID) also exists on pages served over plain HTTP from a non-local host.
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
