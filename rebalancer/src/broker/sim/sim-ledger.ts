import { roundMoney } from "../../planning/money.js";
import { BrokerError } from "../broker-error.js";
import type { Holding, Side } from "../broker.js";
import type { SimAccount, SimState } from "./sim-state.js";

/** Cash is kept in whole cents, as a broker's statement does (the planner's rounding). */
const cents = roundMoney;

/**
 * The simulation's books: cash, holdings and prices. Every fill moves cash and shares together,
 * so netLiquidation = cash + sum of quantity x price holds after each one.
 */
export class SimLedger {
  readonly currency: string;
  private readonly accounts = new Map<string, SimAccount>();
  /** Last known price per symbol: fills and valuation use it. */
  private readonly marks = new Map<string, number>();
  /** Symbols whose price is withheld, as without a market-data subscription. */
  private readonly withheld = new Set<string>();

  constructor(state: SimState) {
    this.currency = state.currency;
    for (const [symbol, price] of Object.entries(state.prices)) this.setPrice(symbol, price);
    for (const account of structuredClone(state.accounts)) {
      for (const h of account.holdings) {
        if (!this.marks.has(h.symbol)) {
          throw new BrokerError(
            "internal",
            `simulation state: ${account.accountId} holds ${h.symbol}, which has no price`,
          );
        }
      }
      this.accounts.set(account.accountId, account);
    }
  }

  accountIds(): string[] {
    return [...this.accounts.keys()];
  }

  /** Throws unknown_account unless the simulation has the account. */
  assertAccount(accountId: string): void {
    this.account(accountId);
  }

  /** The price a quote or a fill uses; undefined when unknown or withheld. */
  price(symbol: string): number | undefined {
    return this.withheld.has(symbol) ? undefined : this.marks.get(symbol);
  }

  /** Sets a price; null withholds it (quotes omit it, orders for it are not filled). */
  setPrice(symbol: string, price: number | null): void {
    if (price === null) {
      this.withheld.add(symbol);
      return;
    }
    if (!(price > 0) || !Number.isFinite(price)) {
      throw new RangeError(`price of ${symbol} must be a number above 0, got ${price}`);
    }
    this.marks.set(symbol, price);
    this.withheld.delete(symbol);
  }

  holdings(accountId: string): Holding[] {
    return this.account(accountId).holdings.map((h) => ({ ...h, currency: this.currency }));
  }

  quantity(accountId: string, symbol: string): number {
    return this.account(accountId).holdings.find((h) => h.symbol === symbol)?.quantity ?? 0;
  }

  cash(accountId: string): number {
    return this.account(accountId).cash;
  }

  /** Cash plus every holding at its last price (a withheld price still values the holding). */
  netLiquidation(accountId: string): number {
    const account = this.account(accountId);
    const held = account.holdings.reduce(
      (sum, h) => sum + h.quantity * this.marks.get(h.symbol)!,
      0,
    );
    return cents(account.cash + held);
  }

  /** Books one fill: a buy takes cash and adds shares, a sell gives cash and removes shares. */
  applyFill(accountId: string, side: Side, symbol: string, quantity: number, price: number): void {
    const account = this.account(accountId);
    let holding = account.holdings.find((h) => h.symbol === symbol);
    if (side === "buy") {
      if (!holding) {
        holding = { symbol, quantity: 0, averageCost: 0 };
        account.holdings.push(holding);
      }
      const total = holding.quantity + quantity;
      holding.averageCost = (holding.quantity * holding.averageCost + quantity * price) / total;
      holding.quantity = total;
      account.cash = cents(account.cash - quantity * price);
      return;
    }
    if (!holding || holding.quantity < quantity) {
      throw new BrokerError(
        "internal",
        `simulation: ${accountId} cannot sell ${quantity} ${symbol}`,
      );
    }
    holding.quantity -= quantity;
    if (holding.quantity === 0) account.holdings.splice(account.holdings.indexOf(holding), 1);
    account.cash = cents(account.cash + quantity * price);
  }

  /** A copy of one account's books, as saved by the simulation's store. */
  books(accountId: string): SimAccount {
    return structuredClone(this.account(accountId));
  }

  /** A copy of the books in the form of a starting state. */
  snapshot(): SimState {
    return {
      currency: this.currency,
      prices: Object.fromEntries(this.marks),
      accounts: structuredClone([...this.accounts.values()]),
    };
  }

  private account(accountId: string): SimAccount {
    const account = this.accounts.get(accountId);
    if (!account) {
      throw new BrokerError(
        "unknown_account",
        `account ${accountId} is not in the simulation (it has ${this.accountIds().join(", ")})`,
      );
    }
    return account;
  }
}
