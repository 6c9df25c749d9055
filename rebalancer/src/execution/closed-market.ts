import type { RunContext } from "./run-context.js";

/** The first symbols of `symbols` whose market is closed, with the earliest time all can trade. */
export async function closedMarket(
  ctx: RunContext,
  symbols: readonly string[],
): Promise<{ message: string; nextOpen?: Date } | undefined> {
  const unique = [...new Set(symbols)];
  if (unique.length === 0) return undefined;
  const { deps, account } = ctx;
  const sessions = await deps.broker.sessions(unique, deps.now(), account.settings.extendedHours);
  const closed = unique.filter((s) => sessions.get(s)?.open !== true).sort();
  if (closed.length === 0) return undefined;
  const opens = closed.map((s) => sessions.get(s)?.nextOpen?.getTime() ?? 0);
  const nextOpen = opens.includes(0) ? undefined : new Date(Math.max(...opens));
  const when = nextOpen ? `; next session ${nextOpen.toISOString()}` : "";
  return { message: `market closed for ${closed.join(", ")}${when}`, nextOpen };
}
