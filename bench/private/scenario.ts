// The accounts the benchmarks trade: every account starts from the same book, which its
// strategy's targets are far from, so each run sells one symbol and buys three.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SimState } from "@mesh/rebalancer/broker/sim/sim-state";

/** Last prices of every symbol in the book and the targets. */
export const scenarioPrices: Readonly<Record<string, number>> = {
  SPY: 500,
  VTI: 250,
  QQQ: 440,
  BND: 72.5,
};

/** One target of a strategy: a symbol and its weight, 0-1. */
export interface ScenarioTarget {
  symbol: string;
  allocation: number;
}

/** The strategies' targets: BND is not among them, so it is sold. */
export const scenarioTargets: readonly ScenarioTarget[] = [
  { symbol: "SPY", allocation: 0.4 },
  { symbol: "VTI", allocation: 0.3 },
  { symbol: "QQQ", allocation: 0.3 },
];

/** Other targets for the same symbols: switching between the two makes every run trade. */
export const scenarioTargetsShifted: readonly ScenarioTarget[] = [
  { symbol: "SPY", allocation: 0.3 },
  { symbol: "VTI", allocation: 0.4 },
  { symbol: "QQQ", allocation: 0.3 },
];

/** Every account's starting book. */
export const scenarioBook = {
  cash: 20_000,
  holdings: { SPY: 10, BND: 20 } as Readonly<Record<string, number>>,
};

/** An account and the strategy (and so the channel) it follows. */
export interface ScenarioAccount {
  accountId: string;
  strategy: string;
}

/** Files written by writeScenario, and the simulated broker's state. */
export interface WrittenScenario {
  accountsFile: string;
  simStateFile: string;
  simState: SimState;
}

/** `count` accounts with ids `DU<prefix digit><n>`, all on `strategy(i)`. */
export function scenarioAccounts(
  count: number,
  prefix: number,
  strategy: (index: number) => string,
): ScenarioAccount[] {
  return Array.from({ length: count }, (_, i) => ({
    accountId: `DU${prefix}${String(i).padStart(6, "0")}`,
    strategy: strategy(i),
  }));
}

/** (Re)writes a strategy's allocation file; the rebalancer reads it on every run. */
export function writeTargets(dir: string, strategy: string, targets: readonly ScenarioTarget[]) {
  const allocations = { name: strategy, as_of: "2026-01-02", allocations: targets };
  writeFileSync(join(dir, "allocations", `${strategy}.yaml`), JSON.stringify(allocations));
}

/**
 * Writes accounts.yaml (paper, enabled, targets from `allocations/{strategy}.yaml`), one
 * allocation file per strategy and the simulated broker's state, all into `dir`. JSON is valid
 * YAML, so the files are written as JSON.
 */
export function writeScenario(dir: string, accounts: ScenarioAccount[]): WrittenScenario {
  mkdirSync(join(dir, "allocations"), { recursive: true });
  for (const strategy of new Set(accounts.map((a) => a.strategy))) {
    writeTargets(dir, strategy, scenarioTargets);
  }
  const accountsFile = join(dir, "accounts.yaml");
  writeFileSync(
    accountsFile,
    JSON.stringify({
      defaults: { allocation_url: "file:allocations/{strategy}.yaml" },
      accounts: accounts.map((a) => ({
        account_id: a.accountId,
        type: "paper",
        enabled: true,
        strategy: a.strategy,
      })),
    }),
  );
  const simState: SimState = {
    currency: "USD",
    prices: { ...scenarioPrices },
    accounts: accounts.map((a) => ({
      accountId: a.accountId,
      cash: scenarioBook.cash,
      holdings: Object.entries(scenarioBook.holdings).map(([symbol, quantity]) => ({
        symbol,
        quantity,
        averageCost: scenarioPrices[symbol]!,
      })),
    })),
  };
  const simStateFile = join(dir, "sim-state.yaml");
  writeFileSync(
    simStateFile,
    JSON.stringify({
      currency: simState.currency,
      prices: simState.prices,
      accounts: simState.accounts.map((a) => ({
        account_id: a.accountId,
        cash: a.cash,
        holdings: a.holdings.map((h) => ({
          symbol: h.symbol,
          quantity: h.quantity,
          average_cost: h.averageCost,
        })),
      })),
    }),
  );
  return { accountsFile, simStateFile, simState };
}
