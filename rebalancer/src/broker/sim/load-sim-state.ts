import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { SimAccount, SimAccountType, SimHolding, SimState } from "./sim-state.js";

/** The bundled example: the accounts of the root accounts.yaml with holdings, cash and prices. */
export const bundledSimStateFile = fileURLToPath(
  new URL("../../../sim/accounts.yaml", import.meta.url),
);

/** Thrown when a simulation state file is invalid; `problems` name the path and the problem. */
export class SimStateFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid:\n  ${problems.join("\n  ")}`);
    this.name = "SimStateFileError";
  }
}

/** Reads and validates a simulation state file (YAML or JSON). */
export function loadSimState(file: string = bundledSimStateFile): SimState {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SimStateFileError(file, [`cannot read: ${(err as NodeJS.ErrnoException).code}`]);
  }
  return parseSimState(text, file);
}

/**
 * Validates the text of a simulation state file:
 * `{currency?, prices: {SYMBOL: price}, ira_restricted_symbols?: [SYMBOL],
 * accounts: [{account_id, type?: individual | ira, cash, unsettled_cash?, holdings: [{symbol, quantity, average_cost?}]}]}`.
 */
export function parseSimState(text: string, file: string): SimState {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SimStateFileError(file, [`not valid YAML: ${(err as Error).message.split("\n")[0]}`]);
  }
  if (!isRecord(doc))
    throw new SimStateFileError(file, ["expected a mapping with prices and accounts"]);
  const problems: string[] = [];
  const currency = doc.currency === undefined ? "USD" : doc.currency;
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) {
    problems.push("currency: must be a three-letter currency code such as USD");
  }
  const prices: Record<string, number> = {};
  if (!isRecord(doc.prices)) {
    problems.push("prices: required, a mapping of symbol to price");
  } else {
    for (const [symbol, price] of Object.entries(doc.prices)) {
      if (typeof price !== "number" || !(price > 0) || !Number.isFinite(price)) {
        problems.push(`prices.${symbol}: must be a number above 0`);
      } else prices[symbol] = price;
    }
  }
  const accounts: SimAccount[] = [];
  if (!Array.isArray(doc.accounts)) {
    problems.push("accounts: required, a list of {account_id, cash, holdings}");
  } else {
    const seen = new Set<string>();
    doc.accounts.forEach((raw, i) => {
      const account = readAccount(raw, `accounts[${i}]`, prices, problems);
      if (!account) return;
      if (seen.has(account.accountId)) {
        problems.push(`accounts[${i}].account_id: duplicate account ${account.accountId}`);
      }
      seen.add(account.accountId);
      accounts.push(account);
    });
  }
  const restricted = doc.ira_restricted_symbols ?? [];
  if (
    !Array.isArray(restricted) ||
    !restricted.every((s) => typeof s === "string" && /^[A-Z0-9.]+$/.test(s))
  ) {
    problems.push("ira_restricted_symbols: must be a list of upper-case ticker symbols");
  }
  if (problems.length > 0) throw new SimStateFileError(file, problems);
  return {
    currency: currency as string,
    prices,
    accounts,
    ...((restricted as string[]).length > 0 && { iraRestrictedSymbols: restricted as string[] }),
  };
}

function readAccount(
  raw: unknown,
  path: string,
  prices: Record<string, number>,
  problems: string[],
): SimAccount | undefined {
  if (!isRecord(raw)) {
    problems.push(`${path}: must be a mapping`);
    return undefined;
  }
  const before = problems.length;
  const accountId = raw.account_id;
  if (typeof accountId !== "string" || !/^[A-Za-z0-9]+$/.test(accountId)) {
    problems.push(`${path}.account_id: required, letters and digits`);
  }
  const cash = raw.cash;
  if (typeof cash !== "number" || !Number.isFinite(cash) || cash < 0) {
    problems.push(`${path}.cash: must be a number, at least 0`);
  }
  const unsettled = raw.unsettled_cash ?? 0;
  if (
    typeof unsettled !== "number" ||
    !(unsettled >= 0) ||
    (typeof cash === "number" && cash >= 0 && unsettled > cash)
  ) {
    problems.push(`${path}.unsettled_cash: must be a number from 0 to the cash`);
  }
  const type = raw.type ?? "individual";
  if (type !== "individual" && type !== "ira") {
    problems.push(`${path}.type: must be individual or ira, got ${JSON.stringify(type)}`);
  }
  const holdings: SimHolding[] = [];
  const list = raw.holdings ?? [];
  if (!Array.isArray(list)) {
    problems.push(`${path}.holdings: must be a list of {symbol, quantity, average_cost}`);
  } else {
    list.forEach((item, i) => {
      const at = `${path}.holdings[${i}]`;
      if (!isRecord(item)) {
        problems.push(`${at}: must be a mapping with symbol and quantity`);
        return;
      }
      const { symbol, quantity } = item;
      const averageCost = item.average_cost ?? 0;
      if (typeof symbol !== "string" || symbol === "") {
        problems.push(`${at}.symbol: required`);
        return;
      }
      if (prices[symbol] === undefined)
        problems.push(`${at}.symbol: ${symbol} has no price in prices`);
      if (typeof quantity !== "number" || !(quantity > 0) || !Number.isFinite(quantity)) {
        problems.push(`${at}.quantity: must be a number above 0`);
      }
      if (typeof averageCost !== "number" || averageCost < 0) {
        problems.push(`${at}.average_cost: must be a number, at least 0`);
      }
      holdings.push({ symbol, quantity: quantity as number, averageCost: averageCost as number });
    });
  }
  if (problems.length > before) return undefined;
  return {
    accountId: accountId as string,
    ...(type === "ira" && { type: type as SimAccountType }),
    cash: cash as number,
    ...((unsettled as number) > 0 && { unsettledCash: unsettled as number }),
    holdings,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
