/**
 * Why an account was refused:
 * - `missing_account_id`: the request named no account;
 * - `unknown_account`: it is not in accounts.yaml;
 * - `trading_mode`: it trades or cancels under the wrong TRADING_MODE (a live account under
 *   paper, or the other way round): the live guard;
 * - `disabled`: a live run on an account disabled in accounts.yaml.
 */
export type AccountRefusalCode =
  "missing_account_id" | "unknown_account" | "trading_mode" | "disabled";

/** An account that cannot be used as asked; service/ gives it an RPC code. */
export class AccountRefusal extends Error {
  constructor(
    readonly code: AccountRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = "AccountRefusal";
  }
}
