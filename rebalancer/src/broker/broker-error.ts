/** What went wrong at the broker, in terms the execution layer can act on. */
export type BrokerErrorCode =
  | "unavailable" // not connected, timed out: retryable
  | "no_such_symbol" // e.g. IB 200: permanent
  | "no_market_data" // e.g. IB 354: permanent for this run
  | "order_rejected" // e.g. IB 201: permanent, message carries the broker's reason
  | "unknown_account"
  | "internal";

/** An error from a broker adapter. */
export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    /** True when trying again later may succeed. */
    readonly retryable = code === "unavailable",
    /** The broker's own error code, when it has one (IB error code). */
    readonly brokerCode?: number,
  ) {
    super(message);
    this.name = "BrokerError";
  }
}
