/**
 * Why a plan was refused:
 * - `invalid_targets`: a weight is outside [0, 1] or not a number, a symbol is empty, the weights
 *   sum above 1 (plus 0.005 tolerance), or there are no targets at all;
 * - `missing_price`: a symbol that must trade (or whose value must be known) has no positive price;
 * - `risk_limit`: an order or the total turnover is above the account's cap;
 * - `invalid_input`: anything else that is not usable as given (net liquidation <= 0, a number
 *   that is not finite, a short holding, a setting out of range, a malformed replacement).
 */
export type PlanErrorCode = "invalid_targets" | "missing_price" | "risk_limit" | "invalid_input";

/** A plan that cannot be made; the message names the symbol or value at fault. */
export class PlanError extends Error {
  override readonly name = "PlanError";

  constructor(
    readonly code: PlanErrorCode,
    message: string,
  ) {
    super(message);
  }
}
