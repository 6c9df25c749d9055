import type { AccountType } from "@mesh/platform/accounts";
import { readSecret } from "@mesh/platform/secrets";

/** The rebalancer's configuration, read from the environment once, at start-up. */
export interface RebalancerConfig {
  accountsFile: string;
  dataDir: string;
  tradingMode: AccountType;
  logLevel: string;
  apiHost: string;
  apiPort: number;
  /** Accepted bearer keys; empty turns authentication off. */
  apiKeys: string[];
  /** Let no-side-effect methods through without a key. */
  openReads: boolean;
  corsOrigins: string[];
  broker: { kind: "sim" } | { kind: "ibkr"; host: string; port: number; clientId: number };
  allocationsApiKey?: string;
  allocationsTimeoutMs: number;
  /** How long running rebalances may take to finish on SIGTERM. */
  shutdownGraceMs: number;
  cancelTimeoutMs: number;
  fillTimeoutMs: number;
  /** Port of the Prometheus scrape endpoint; undefined when METRICS_PORT=0. */
  metricsPort?: number;
}

/** Thrown with every problem found in the environment. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates the environment; throws ConfigError naming each bad variable. */
export function readConfig(env: NodeJS.ProcessEnv): RebalancerConfig {
  const problems: string[] = [];
  const secret = (name: string) => {
    try {
      return readSecret(env, name);
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}: must be a whole number between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const list = (raw: string | undefined) =>
    (raw ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);

  const tradingMode = env.TRADING_MODE || "paper";
  if (tradingMode !== "paper" && tradingMode !== "live") {
    problems.push(`TRADING_MODE: must be paper or live, got "${tradingMode}"`);
  }
  const apiKeys = list(secret("REBALANCER_API_KEYS"));
  const brokerKind = env.BROKER || (env.IBKR_HOST ? "ibkr" : "sim");
  let broker: RebalancerConfig["broker"] = { kind: "sim" };
  if (brokerKind === "ibkr") {
    broker = {
      kind: "ibkr",
      host: env.IBKR_HOST || "127.0.0.1",
      port: int("IBKR_PORT", tradingMode === "live" ? 4001 : 4002, 1, 65535),
      clientId: int("IBKR_CLIENT_ID", 1, 0, 2 ** 31 - 1),
    };
  } else if (brokerKind !== "sim") {
    problems.push(`BROKER: must be sim or ibkr, got "${brokerKind}"`);
  }
  if (tradingMode === "live" && broker.kind === "sim") {
    problems.push("TRADING_MODE=live needs BROKER=ibkr: the simulated broker trades no real money");
  }
  const openReads = env.REBALANCER_OPEN_READS ?? "false";
  if (openReads !== "true" && openReads !== "false") {
    problems.push(`REBALANCER_OPEN_READS: must be true or false, got "${openReads}"`);
  }
  const config: RebalancerConfig = {
    accountsFile: env.ACCOUNTS_FILE || "./accounts.yaml",
    dataDir: env.DATA_DIR || "./data",
    tradingMode: tradingMode as AccountType,
    logLevel: env.LOG_LEVEL || "info",
    // Without keys anyone who can reach the port could trade: stay on loopback by default.
    apiHost: env.API_HOST || (apiKeys.length > 0 ? "0.0.0.0" : "127.0.0.1"),
    apiPort: int("API_PORT", 8000, 0, 65535),
    apiKeys,
    openReads: openReads === "true",
    corsOrigins: list(env.CORS_ORIGINS),
    broker,
    allocationsApiKey: secret("ALLOCATIONS_API_KEY"),
    allocationsTimeoutMs: int("ALLOCATIONS_TIMEOUT_SECONDS", 30, 1, 600) * 1000,
    shutdownGraceMs: int("SHUTDOWN_GRACE_SECONDS", 30, 0, 3600) * 1000,
    cancelTimeoutMs: int("OPEN_ORDERS_CANCEL_TIMEOUT_SECONDS", 60, 1, 3600) * 1000,
    fillTimeoutMs: int("ORDER_FILL_TIMEOUT_SECONDS", 300, 1, 86400) * 1000,
    metricsPort: int("METRICS_PORT", 9464, 0, 65535) || undefined,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
