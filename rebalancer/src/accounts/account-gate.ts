import type { Account, AccountType } from "@mesh/platform/accounts";
import { AccountRefusal } from "./account-refusal.js";

/** What may be done with an account: each is guarded differently. */
export type AccountAction = "live run" | "cancel";

/** The one place that decides which accounts can be read, traded and cancelled. */
export interface AccountGate {
  /** The configured account; refuses an empty id or an account not in accounts.yaml. */
  account(accountId: string): Account;
  /**
   * Refuses `action` on the account unless its type is the service's TRADING_MODE (the live
   * guard) and, for a live run, it is enabled.
   */
  permit(account: Account, action: AccountAction): void;
  /** True when a live run on the account would be permitted (ListAccounts' `eligible`). */
  eligible(account: Account): boolean;
}

/** Options of createAccountGate. */
export interface AccountGateOptions {
  /** The configured accounts; no default. */
  accounts: readonly Account[];
  /** The service's TRADING_MODE: trading and cancelling need an account of this type; no default. */
  tradingMode: AccountType;
}

export function createAccountGate(options: AccountGateOptions): AccountGate {
  const { tradingMode } = options;
  const byId = new Map(options.accounts.map((a) => [a.accountId, a]));
  return {
    account(accountId) {
      if (!accountId) throw new AccountRefusal("missing_account_id", "account_id is required");
      const found = byId.get(accountId);
      if (!found) {
        throw new AccountRefusal("unknown_account", `account ${accountId} is not configured`);
      }
      return found;
    },
    permit(account, action) {
      const refused = action === "live run" ? "live run refused" : "cancel refused";
      if (account.type !== tradingMode) {
        throw new AccountRefusal(
          "trading_mode",
          `${refused}: account ${account.accountId} is ${account.type} but TRADING_MODE is ${tradingMode}`,
        );
      }
      if (action === "live run" && !account.enabled) {
        throw new AccountRefusal(
          "disabled",
          `${refused}: account ${account.accountId} is disabled in accounts.yaml`,
        );
      }
    },
    eligible: (account) => account.enabled && account.type === tradingMode,
  };
}
