import type { MarketSession } from "../broker.js";

/** When symbols trade, for the simulated broker. */
export interface MarketHours {
  /** Whether `symbol` trades at `at`; `extended` counts pre- and post-market as open. */
  session(symbol: string, at: Date, extended: boolean): MarketSession;
  /** For humans, e.g. "always open" or "09:30-16:00 America/New_York". */
  readonly description: string;
}

/** Every symbol trades at every moment: the simulated broker's default. */
export const alwaysOpen: MarketHours = {
  session: (symbol) => ({ symbol, open: true }),
  description: "always open",
};
