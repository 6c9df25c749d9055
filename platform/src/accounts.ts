import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";

/** Paper or live: whether an account trades real money. */
export type AccountType = "paper" | "live";

/** How orders are priced. */
export type OrderTypeSetting = "market" | "limit" | "market_on_close";

/** One replacement: hold `target` instead of `source`, with the weight multiplied by `scale`. */
export interface Replacement {
  source: string;
  target: string;
  scale: number;
}

/** Where a strategy's target allocations come from. */
export type AllocationSource = { kind: "http"; url: string } | { kind: "file"; path: string };

/** Trading settings of an account, after defaults were applied. */
export interface AccountSettings {
  /** Percentage of the account value kept in cash, 0-100. */
  cashReservePercent: number;
  /** A symbol whose weight is within this many percentage points of its target is left alone. */
  driftBandPercent: number;
  /** Trades worth less than this (account currency) are skipped. */
  minOrderValue: number;
  /** Market (default), limit at a band off the last price, or market-on-close. */
  orderType: OrderTypeSetting;
  /** For limit orders: the band off the last price, in percent. */
  limitBandPercent: number;
  /** Time in force applied to every order, e.g. "DAY". */
  timeInForce: string;
  /** Trade outside regular hours (sets outsideRth on every order). */
  extendedHours: boolean;
  /** Refuse a plan with any order worth more than this; 0 means no cap. */
  maxOrderValue: number;
  /** Refuse a plan whose total traded value exceeds this percentage of the account; 0 = no cap. */
  maxTurnoverPercent: number;
  /**
   * Check every planned order with the broker before anything is cancelled or placed (IBKR
   * what-if orders; the simulated broker answers them too). `preflight: off` (or false) turns
   * it off for brokers or accounts where what-if orders are not wanted; default on.
   */
  preflight: boolean;
}

/** One account from accounts.yaml. */
export interface Account {
  accountId: string;
  type: AccountType;
  enabled: boolean;
  /** The strategy name, which is also the Ably channel. */
  strategy: string;
  allocations: AllocationSource;
  /** Name of the replacement set, or "" when none. */
  replacementSet: string;
  replacements: Replacement[];
  settings: AccountSettings;
}

/** The whole of accounts.yaml. */
export interface AccountsConfig {
  file: string;
  accounts: Account[];
  replacementSets: Record<string, Replacement[]>;
}

/** Thrown when accounts.yaml is invalid; `problems` name the file, the path and the problem. */
export class AccountsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is invalid:\n  ${problems.join("\n  ")}`);
    this.name = "AccountsFileError";
  }
}

const defaultSettings: AccountSettings = {
  cashReservePercent: 0,
  driftBandPercent: 1,
  minOrderValue: 100,
  orderType: "market",
  limitBandPercent: 0.5,
  timeInForce: "DAY",
  extendedHours: false,
  maxOrderValue: 0,
  maxTurnoverPercent: 0,
  preflight: true,
};

const settingKeys: Record<keyof AccountSettings, string> = {
  cashReservePercent: "cash_reserve_percent",
  driftBandPercent: "drift_band_percent",
  minOrderValue: "min_order_value",
  orderType: "order_type",
  limitBandPercent: "limit_band_percent",
  timeInForce: "time_in_force",
  extendedHours: "extended_hours",
  maxOrderValue: "max_order_value",
  maxTurnoverPercent: "max_turnover_percent",
  preflight: "preflight",
};

const accountKeys = new Set([
  "account_id",
  "type",
  "enabled",
  "strategy",
  "strategy_name",
  "allocation_url",
  "allocations",
  "notification",
  "replacement_set",
  ...Object.values(settingKeys),
]);

/** Reads and validates accounts.yaml; throws AccountsFileError listing every problem. */
export function loadAccounts(file: string): AccountsConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AccountsFileError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseAccounts(text, file);
}

/** Validates the text of an accounts file; `file` names it in errors and anchors relative paths. */
export function parseAccounts(text: string, file: string): AccountsConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new AccountsFileError(file, [`not valid YAML: ${(err as Error).message}`]);
  }
  const problems: string[] = [];
  const root = Array.isArray(doc) ? { accounts: doc } : doc;
  if (!isRecord(root)) throw new AccountsFileError(file, ["expected a mapping with `accounts`"]);
  for (const key of Object.keys(root)) {
    if (!["accounts", "replacement_sets", "defaults"].includes(key)) {
      problems.push(`${key}: unknown key`);
    }
  }
  const base = dirname(resolve(file));
  const defaults = readDefaults(root.defaults, problems);
  const replacementSets = readReplacementSets(root.replacement_sets, problems);
  const accounts: Account[] = [];
  if (!Array.isArray(root.accounts) || root.accounts.length === 0) {
    problems.push("accounts: must be a non-empty list");
  } else {
    const seen = new Set<string>();
    root.accounts.forEach((raw, i) => {
      const account = readAccount(raw, `accounts[${i}]`, defaults, replacementSets, base, problems);
      if (!account) return;
      if (seen.has(account.accountId)) {
        problems.push(`accounts[${i}].account_id: duplicate account ${account.accountId}`);
      }
      seen.add(account.accountId);
      accounts.push(account);
    });
  }
  if (problems.length > 0) throw new AccountsFileError(file, problems);
  return { file, accounts, replacementSets };
}

interface Defaults {
  settings: AccountSettings;
  allocationUrl: string;
}

function readDefaults(raw: unknown, problems: string[]): Defaults {
  const out: Defaults = { settings: { ...defaultSettings }, allocationUrl: "" };
  if (raw === undefined) return out;
  if (!isRecord(raw)) {
    problems.push("defaults: must be a mapping");
    return out;
  }
  for (const key of Object.keys(raw)) {
    if (key !== "allocation_url" && !Object.values(settingKeys).includes(key)) {
      problems.push(`defaults.${key}: unknown key`);
    }
  }
  out.settings = readSettings(raw, "defaults", out.settings, problems);
  if (raw.allocation_url !== undefined) {
    out.allocationUrl = requireString(raw.allocation_url, "defaults.allocation_url", problems);
  }
  return out;
}

function readReplacementSets(raw: unknown, problems: string[]): Record<string, Replacement[]> {
  const sets: Record<string, Replacement[]> = {};
  if (raw === undefined) return sets;
  if (!isRecord(raw)) {
    problems.push("replacement_sets: must be a mapping of set name to a list");
    return sets;
  }
  for (const [name, list] of Object.entries(raw)) {
    const path = `replacement_sets.${name}`;
    if (!Array.isArray(list)) {
      problems.push(`${path}: must be a list of {source, target, scale}`);
      continue;
    }
    sets[name] = list.flatMap((item, i) => {
      const at = `${path}[${i}]`;
      if (!isRecord(item)) {
        problems.push(`${at}: must be a mapping with source, target and scale`);
        return [];
      }
      const source = requireSymbol(item.source, `${at}.source`, problems);
      const target = requireSymbol(item.target, `${at}.target`, problems);
      const scale = item.scale === undefined ? 1 : item.scale;
      if (typeof scale !== "number" || !(scale > 0) || scale > 10) {
        problems.push(`${at}.scale: must be a number above 0 and at most 10`);
        return [];
      }
      return [{ source, target, scale }];
    });
  }
  return sets;
}

function readAccount(
  raw: unknown,
  path: string,
  defaults: Defaults,
  sets: Record<string, Replacement[]>,
  base: string,
  problems: string[],
): Account | undefined {
  if (!isRecord(raw)) {
    problems.push(`${path}: must be a mapping`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!accountKeys.has(key)) problems.push(`${path}.${key}: unknown key`);
  }
  const before = problems.length;
  const accountId = requireString(raw.account_id, `${path}.account_id`, problems);
  if (accountId && !/^[A-Za-z0-9]+$/.test(accountId)) {
    problems.push(`${path}.account_id: must be letters and digits, got "${accountId}"`);
  }
  const type = raw.type === undefined ? "paper" : raw.type;
  if (type !== "paper" && type !== "live") {
    problems.push(`${path}.type: must be paper or live, got ${JSON.stringify(type)}`);
  }
  const enabled = raw.enabled === undefined ? true : raw.enabled;
  if (typeof enabled !== "boolean") problems.push(`${path}.enabled: must be true or false`);

  // The older list form names the channel under notification.channel.
  const notification = isRecord(raw.notification) ? raw.notification : {};
  const strategyRaw = raw.strategy ?? raw.strategy_name ?? notification.channel;
  const strategy = requireString(strategyRaw, `${path}.strategy`, problems);
  if (strategy && !/^[a-z0-9][a-z0-9-_.]*$/.test(strategy)) {
    problems.push(`${path}.strategy: must be lower-case letters, digits and hyphens`);
  }

  const replacementSet =
    raw.replacement_set === undefined
      ? ""
      : requireString(raw.replacement_set, `${path}.replacement_set`, problems);
  if (replacementSet && !sets[replacementSet]) {
    problems.push(`${path}.replacement_set: no replacement set named "${replacementSet}"`);
  }

  const allocationsRaw = isRecord(raw.allocations) ? raw.allocations.url : raw.allocation_url;
  const template =
    allocationsRaw === undefined
      ? defaults.allocationUrl
      : requireString(allocationsRaw, `${path}.allocations.url`, problems);
  const allocations = readAllocationSource(
    template,
    strategy,
    base,
    `${path}.allocations`,
    problems,
  );
  const settings = readSettings(raw, path, defaults.settings, problems);
  if (problems.length > before || !allocations) return undefined;
  return {
    accountId,
    type: type as AccountType,
    enabled: enabled as boolean,
    strategy,
    allocations,
    replacementSet,
    replacements: replacementSet ? (sets[replacementSet] ?? []) : [],
    settings,
  };
}

function readAllocationSource(
  template: string,
  strategy: string,
  base: string,
  path: string,
  problems: string[],
): AllocationSource | undefined {
  if (!template) {
    problems.push(`${path}: no allocation URL for this account and no defaults.allocation_url`);
    return undefined;
  }
  const url = template.replaceAll("{strategy}", strategy);
  if (url.startsWith("http://") || url.startsWith("https://")) {
    try {
      new URL(url);
    } catch {
      problems.push(`${path}: not a valid URL: ${url}`);
      return undefined;
    }
    return { kind: "http", url };
  }
  if (url.startsWith("file:")) return { kind: "file", path: resolve(base, url.slice(5)) };
  problems.push(`${path}: must start with http://, https:// or file:, got "${url}"`);
  return undefined;
}

function readSettings(
  raw: Record<string, unknown>,
  path: string,
  base: AccountSettings,
  problems: string[],
): AccountSettings {
  const out = { ...base };
  const number = (key: keyof AccountSettings, min: number, max: number) => {
    const name = settingKeys[key];
    const value = raw[name];
    if (value === undefined) return;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${path}.${name}: must be between ${min} and ${max}`);
      return;
    }
    (out[key] as number) = value;
  };
  number("cashReservePercent", 0, 100);
  number("driftBandPercent", 0, 100);
  number("minOrderValue", 0, 1e9);
  number("limitBandPercent", 0, 50);
  number("maxOrderValue", 0, 1e12);
  number("maxTurnoverPercent", 0, 200);
  if (raw.order_type !== undefined) {
    if (!["market", "limit", "market_on_close"].includes(raw.order_type as string)) {
      problems.push(`${path}.order_type: must be market, limit or market_on_close`);
    } else out.orderType = raw.order_type as OrderTypeSetting;
  }
  if (raw.time_in_force !== undefined) {
    if (!["DAY", "GTC", "IOC", "OPG"].includes(raw.time_in_force as string)) {
      problems.push(`${path}.time_in_force: must be DAY, GTC, IOC or OPG`);
    } else out.timeInForce = raw.time_in_force as string;
  }
  if (raw.preflight !== undefined) {
    // YAML 1.2 reads `off` as text: on / off and true / false all mean what they say.
    const value = raw.preflight;
    if (value === true || value === "on") out.preflight = true;
    else if (value === false || value === "off") out.preflight = false;
    else problems.push(`${path}.preflight: must be on or off`);
  }
  if (raw.extended_hours !== undefined) {
    if (typeof raw.extended_hours !== "boolean") {
      problems.push(`${path}.extended_hours: must be true or false`);
    } else out.extendedHours = raw.extended_hours;
  }
  return out;
}

function requireString(value: unknown, path: string, problems: string[]): string {
  if (typeof value !== "string" || value.trim() === "") {
    problems.push(`${path}: required, must be a non-empty string`);
    return "";
  }
  return value.trim();
}

function requireSymbol(value: unknown, path: string, problems: string[]): string {
  const symbol = requireString(value, path, problems);
  if (symbol && !/^[A-Z0-9.]+$/.test(symbol)) {
    problems.push(`${path}: must be an upper-case ticker symbol, got "${symbol}"`);
  }
  return symbol;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Accounts that take part under a trading mode: enabled and of the matching type. */
export function eligibleAccounts(config: AccountsConfig, tradingMode: AccountType): Account[] {
  return config.accounts.filter((a) => a.enabled && a.type === tradingMode);
}
