/** An account's trading limits as the planner sees them (from accounts.yaml, after defaults). */
export interface PlanSettings {
  /** Percentage of net liquidation kept in cash, 0-100. 0 keeps no reserve. */
  cashReservePercent: number;
  /**
   * Absolute percentage points: a symbol whose current weight is within this many points of its
   * target weight is left alone. 0 trades every difference worth a whole share.
   */
  driftBandPercent: number;
  /** Trades worth less than this (account currency) are skipped. 0 skips none. */
  minOrderValue: number;
  /** A plan with any order worth more than this is refused (`risk_limit`). 0 means no cap. */
  maxOrderValue: number;
  /**
   * A plan whose total traded value exceeds this percentage of net liquidation is refused
   * (`risk_limit`). 0 means no cap.
   */
  maxTurnoverPercent: number;
}
