// Positions and account values, for one account at a time. IB reports every account of the login
// together; we filter. Each read is a fresh request (subscribe, take the complete list, cancel):
// the library's long-lived position cache mishandles positions going to zero.

import { SecType } from "@stoqey/ib";
import { BrokerError } from "../broker-error.js";
import type { AccountValues, Holding } from "../broker.js";
import type { IbkrConnection, IbkrLog } from "./ibkr-connection.js";
import { accountValuesFromSummary, holdingFromPosition, SUMMARY_TAGS } from "./ibkr-translate.js";

export class IbkrAccounts {
  constructor(
    private readonly connection: IbkrConnection,
    /** The accounts this broker may use; undefined: all the login manages. */
    private readonly allowed: string[] | undefined,
    private readonly log: IbkrLog,
  ) {}

  /** Rejects with unknown_account unless the login manages the account and it is allowed. */
  async assertKnown(accountId: string): Promise<void> {
    this.connection.assertReady(`account ${accountId}`);
    if (this.allowed && !this.allowed.includes(accountId)) {
      const allowed = this.allowed.join(", ");
      throw new BrokerError(
        "unknown_account",
        `account ${accountId} is not configured for this broker (${allowed})`,
      );
    }
    const managed = await this.connection.managedAccounts();
    if (!managed.includes(accountId)) {
      const address = this.connection.address;
      const message = `account ${accountId} is not managed by the IB login at ${address} (it manages ${managed.join(", ")})`;
      throw new BrokerError("unknown_account", message);
    }
  }

  /** Stock and ETF positions; other kinds (options, futures) are left out and logged. */
  async holdings(accountId: string): Promise<Holding[]> {
    await this.assertKnown(accountId);
    const update = await this.connection.request(
      `positions of ${accountId}`,
      this.connection.next.getPositions(),
    );
    const positions = (update.all.get(accountId) ?? []).filter((p) => p.pos !== 0);
    const others = positions.filter((p) => p.contract.secType !== SecType.STK);
    if (others.length > 0) {
      const skipped = others.map(
        (p) => `${p.contract.localSymbol ?? p.contract.symbol} (${p.contract.secType})`,
      );
      this.log.warn(
        { accountId, skipped },
        "positions other than stocks and ETFs are left out of holdings",
      );
    }
    return positions.filter((p) => p.contract.secType === SecType.STK).map(holdingFromPosition);
  }

  async accountValues(accountId: string): Promise<AccountValues> {
    await this.assertKnown(accountId);
    const what = `account values of ${accountId}`;
    const update = await this.connection.request(
      what,
      this.connection.next.getAccountSummary("All", SUMMARY_TAGS),
    );
    return accountValuesFromSummary(accountId, update.all.get(accountId), new Date());
  }
}
