/** One holding in the simulation. */
export interface SimHolding {
  symbol: string;
  /** Shares held, above 0 (the simulation does not go short). */
  quantity: number;
  /** For information only: the simulation values holdings at market prices. */
  averageCost: number;
}

/** One simulated account. Money in the state's currency. */
export interface SimAccount {
  accountId: string;
  cash: number;
  holdings: SimHolding[];
}

/** Everything the simulated broker knows: accounts and the last price of every symbol. */
export interface SimState {
  /** Currency of every account and price; "USD" in the bundled file. */
  currency: string;
  /** Last price per symbol; every held symbol needs one. */
  prices: Record<string, number>;
  accounts: SimAccount[];
}
