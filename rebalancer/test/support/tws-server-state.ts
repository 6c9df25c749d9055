import type { TwsExecution, TwsOrder } from "../tws/tws-market.js";

/** What the TWS test server process holds, as its GET /state answers (times as text). */
export interface TwsServerState {
  /** Client ids with an open API session. */
  clientIds: number[];
  orders: TwsOrder[];
  executions: (Omit<TwsExecution, "time"> & { time: string })[];
  accounts: {
    accountId: string;
    cash: number;
    netLiquidation: number;
    /** Shares by symbol. */
    positions: Record<string, number>;
  }[];
  /** The price each symbol is valued at. */
  prices: Record<string, number>;
}
