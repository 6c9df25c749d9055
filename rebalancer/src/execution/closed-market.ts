import type { PlannedOrder } from "../planning/index.js";
import type { RunContext } from "./run-context.js";

/** The first symbol to trade whose market is closed, with the earliest time all can trade. */
export async function closedMarket(
  ctx: RunContext,
  orders: PlannedOrder[],
): Promise<{ message: string; nextOpen?: Date } | undefined> {
  if (orders.length === 0) return undefined;
  const { deps, account } = ctx;
  const symbols = [...new Set(orders.map((o) => o.symbol))];
  const sessions = await deps.broker.sessions(symbols, deps.now(), account.settings.extendedHours);
  const closed = symbols.filter((s) => sessions.get(s)?.open !== true).sort();
  if (closed.length === 0) return undefined;
  const opens = closed.map((s) => sessions.get(s)?.nextOpen?.getTime() ?? 0);
  const nextOpen = opens.includes(0) ? undefined : new Date(Math.max(...opens));
  const when = nextOpen ? `; next session ${nextOpen.toISOString()}` : "";
  return { message: `market closed for ${closed.join(", ")}${when}`, nextOpen };
}
