/** How often a condition is asked again by default, ms. */
const pollMs = 20;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `check` returns something truthy, asking every `intervalMs` (default 20; a
 * benchmark timing the wait asks more often), and gives back that value; throws `<what> not met
 * within <ms> ms` after `timeoutMs` (default 5000). An error thrown by `check` ends the wait with
 * that error.
 */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = "condition",
  intervalMs = pollMs,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await pause(intervalMs);
  }
}

/**
 * For negative assertions ("nothing more happens"): checks that `check` stays truthy for
 * `forMs`, asking every 20 ms, and throws `<what> no longer held after <n> ms` as soon as it does
 * not. Nothing signals an event that did not happen, so this one wait is bounded by time; `what`
 * says what must not happen and `forMs` should exceed the time it would take if it did.
 */
export async function stays(
  check: () => unknown | Promise<unknown>,
  forMs: number,
  what: string,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (!(await check()))
      throw new Error(`${what} no longer held after ${Date.now() - started} ms`);
    if (Date.now() - started >= forMs) return;
    await pause(pollMs);
  }
}
