import type { RunContext } from "./run-context.js";
import { RunHandover } from "./run-handover.js";

/** `work`, unless the run is handed over first: then RunHandover. */
export async function untilHandedOver<T>(ctx: RunContext, work: Promise<T>): Promise<T> {
  const signal = ctx.handover;
  if (!signal) return work;
  if (signal.aborted) throw new RunHandover(ctx.runId);
  let onAbort = () => undefined as void;
  const handedOver = new Promise<never>((_, reject) => {
    onAbort = () => reject(new RunHandover(ctx.runId));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, handedOver]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
