/** One holding in the simulation. */
export interface SimHolding {
  symbol: string;
  /** Shares held, above 0 (the simulation does not go short). */
  quantity: number;
  /** For information only: the simulation values holdings at market prices. */
  averageCost: number;
}

/**
 * What kind of account the simulation models: "individual" takes any order it can pay for; "ira"
 * (a retirement account) also refuses buys of the state's `iraRestrictedSymbols`, with the
 * broker's retirement-account text.
 */
export type SimAccountType = "individual" | "ira";

/** One simulated account. Money in the state's currency. */
export interface SimAccount {
  accountId: string;
  /** Default "individual". */
  type?: SimAccountType;
  cash: number;
  /**
   * Cash from sales not yet settled: counted in cash but not in the funds available for trading
   * (retirement accounts may not trade with it). Default 0.
   */
  unsettledCash?: number;
  holdings: SimHolding[];
}

/** Everything the simulated broker knows: accounts and the last price of every symbol. */
export interface SimState {
  /** Currency of every account and price; "USD" in the bundled file. */
  currency: string;
  /** Last price per symbol; every held symbol needs one. */
  prices: Record<string, number>;
  accounts: SimAccount[];
  /**
   * Symbols an `ira` account may not buy (leveraged and inverse ETFs, for example); selling what
   * it already holds is allowed. Default none.
   */
  iraRestrictedSymbols?: string[];
}
