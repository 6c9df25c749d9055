// The crash test trades the bundled accounts (root accounts.yaml, rebalancer/sim/accounts.yaml)
// towards their bundled targets, from a folder of its own: accounts.yaml points at allocation files
// there, which the test switches between the bundled weights and the same weights reversed before
// each event, so that every run sells and buys instead of finding the account balanced. The other
// targets are the bundled ones with their weights rotated, except those a replacement set scales
// (their weight times the scale must stay within the account).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eligibleAccounts, loadAccounts } from "@mesh/platform/accounts";
import { parse, parseDocument } from "yaml";

const bundledAccountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));
const bundledAllocations = fileURLToPath(new URL("../../rebalancer/allocations/", import.meta.url));

/** An account the test trades, and its strategy (which is also its channel). */
export interface CrashAccount {
  accountId: string;
  strategy: string;
}

/** The files of the crash test's mesh. */
export interface CrashScenario {
  accountsFile: string;
  /** The bundled enabled paper accounts. */
  accounts: CrashAccount[];
  /** Writes a strategy's targets: 0 the bundled weights, 1 the weights rotated (see above). */
  setTargets(strategy: string, variant: 0 | 1): void;
}

interface AllocationFile {
  name: string;
  as_of: string;
  allocations: { symbol: string; allocation: number }[];
}

/** Writes accounts.yaml and the bundled targets (variant 0) into `dir`. */
export function writeCrashScenario(dir: string): CrashScenario {
  mkdirSync(join(dir, "allocations"), { recursive: true });
  const document = parseDocument(readFileSync(bundledAccountsFile, "utf8"));
  document.setIn(["defaults", "allocation_url"], "file:allocations/{strategy}.yaml");
  const accountsFile = join(dir, "accounts.yaml");
  writeFileSync(accountsFile, document.toString());
  const eligible = eligibleAccounts(loadAccounts(accountsFile), "paper");
  const accounts = eligible.map((a) => ({ accountId: a.accountId, strategy: a.strategy }));
  const scaled = (strategy: string) =>
    new Set(
      eligible
        .filter((a) => a.strategy === strategy)
        .flatMap((a) => a.replacements.filter((r) => r.scale !== 1).map((r) => r.source)),
    );
  const bundled = new Map(
    [...new Set(accounts.map((a) => a.strategy))].map((strategy) => [
      strategy,
      parse(readFileSync(join(bundledAllocations, `${strategy}.yaml`), "utf8")) as AllocationFile,
    ]),
  );
  const setTargets = (strategy: string, variant: 0 | 1) => {
    const file = bundled.get(strategy)!;
    const fixed = scaled(strategy);
    const free = file.allocations.filter((a) => !fixed.has(a.symbol));
    const rotated = new Map(
      free.map((a, i) => [a.symbol, free[(i + variant) % free.length]!.allocation]),
    );
    const allocations = file.allocations.map((a) => ({
      ...a,
      allocation: rotated.get(a.symbol) ?? a.allocation,
    }));
    // JSON is YAML; renamed into place, so a run starting meanwhile never reads half a file.
    const target = join(dir, "allocations", `${strategy}.yaml`);
    writeFileSync(`${target}.new`, JSON.stringify({ ...file, allocations }));
    renameSync(`${target}.new`, target);
  };
  for (const strategy of bundled.keys()) setTargets(strategy, 0);
  return { accountsFile, accounts, setTargets };
}
