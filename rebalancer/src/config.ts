import type { AccountType } from "@mesh/platform/accounts";
import { hostname } from "node:os";
import { ConfigError } from "@mesh/platform/config-error";
import { parseDatabaseUrl, type DatabaseUrl } from "@mesh/platform/database-url";
import { EnvReader } from "@mesh/platform/env-reader";
import { readNotifyConfig, type NotifyConfig } from "@mesh/platform/notify/notify-config";

/** The rebalancer's configuration, read from the environment once, at start-up. */
export interface RebalancerConfig {
  /** ACCOUNTS_FILE, absolute; default ./accounts.yaml of the folder the command ran in. */
  accountsFile: string;
  /** DATA_DIR (the run store), absolute; default ./data of the folder the command ran in. */
  dataDir: string;
  tradingMode: AccountType;
  /**
   * DATABASE_URL (or DATABASE_URL_FILE): PostgreSQL shared by replicas, holding the runs instead
   * of DATA_DIR's SQLite file; undefined: SQLite. Its `shown` form has no password.
   */
  databaseUrl?: DatabaseUrl;
  /**
   * REPLICA_ORDINAL: this replica's number, from 0; default the number ending the host name
   * (a StatefulSet's pod-N) with DATABASE_URL, else 0. Names the replica in its leases; each
   * replica also has its own IBKR_CLIENT_ID, set by the deployment.
   */
  replicaOrdinal: number;
  /** This replica's name in the account leases: host, ordinal and process. */
  replica: string;
  /**
   * ACCOUNT_LEASE_SECONDS: how long an account's lease outlives a replica that died (renewed
   * every third of it, and looked for as often): the bound on a takeover; default 10 s.
   */
  accountLeaseMs: number;
  logLevel: string;
  /** LOG_FORMAT: readable lines with the local time (pretty) or JSON lines; default pretty on a terminal, else json. */
  logFormat: "pretty" | "json";
  apiHost: string;
  apiPort: number;
  /** Accepted bearer keys; empty turns authentication off. */
  apiKeys: string[];
  /** Let no-side-effect methods through without a key. */
  openReads: boolean;
  corsOrigins: string[];
  /**
   * CONSOLE_SUBSCRIBER_URL: the subscriber's base URL as a browser reaches it, for the console's
   * Events and Dead letters pages; `npm start` sets it to the subscriber it starts; default none.
   */
  consoleSubscriberUrl?: string;
  broker:
    | {
        kind: "sim";
        /** SIM_FILL_DELAY_MS: from acceptance to an order's first fill, and between its parts; default 50. */
        fillDelayMs: number;
        /** SIM_FILL_PARTS: fills per order (its quantity split into this many parts); default 1. */
        fillParts: number;
        /** SIM_REJECT_SYMBOLS: orders for these symbols are rejected when placed; default none. */
        rejectSymbols: string[];
      }
    | {
        kind: "ibkr";
        host: string;
        port: number;
        /** IBKR_CLIENT_ID: each replica its own (the deployment gives them: 1, 11, …). */
        clientId: number;
        /** IBKR_INFO_CODES: extra IB codes that never reject an order. */
        informationalCodes: number[];
        /** IBKR_HEARTBEAT_SECONDS: how often the live link is probed; default 5 s. */
        heartbeatIntervalMs: number;
        /**
         * IBKR_HEARTBEAT_TIMEOUT_SECONDS: silence after a probe that declares the link lost;
         * default 5 s (a half-open link is then noticed within 10 s).
         */
        heartbeatTimeoutMs: number;
      };
  allocationsApiKey?: string;
  allocationsTimeoutMs: number;
  /**
   * SHUTDOWN_GRACE_SECONDS: how long running rebalances may take to finish on SIGTERM; those
   * still going are handed over (left to resume at the next start); default 30 s.
   */
  shutdownGraceMs: number;
  /**
   * RUN_RESUME_MAX_AGE: a run that stopped (crash, shutdown, lost broker link) is resumed only if
   * accepted less than this long ago; an older one ends as RESUME_EXPIRED. Default 30 min.
   */
  resumeMaxAgeMs: number;
  /**
   * BROKER_RECONNECT_WINDOW: how long a run whose broker link dropped waits for it to come back
   * and then resumes; 0 fails the run at once (BROKER_UNAVAILABLE). Default 2 min.
   */
  reconnectWindowMs: number;
  cancelTimeoutMs: number;
  fillTimeoutMs: number;
  /**
   * FOREIGN_OPEN_ORDERS: "refuse" (default) refuses a live run while another client's order is
   * open on the account; "ignore-untraded-symbols" leaves those on symbols the plan does not trade.
   */
  foreignOpenOrders: "refuse" | "ignore_untraded_symbols";
  /** Port of the Prometheus scrape endpoint; undefined when METRICS_PORT=0. */
  metricsPort?: number;
  /** Host the scrape endpoint binds; METRICS_HOST, default loopback. */
  metricsHost: string;
  /** HTTPS on the API and metrics ports; undefined: cleartext (TLS_CERT_FILE unset). */
  tls?: ServerTlsConfig;
  /** Keys on a non-loopback address without TLS were allowed (ALLOW_PLAINTEXT=true). */
  allowPlaintext: boolean;
  /** File of the API keys, re-read when it changes; undefined: keys from the environment. */
  apiKeysFile?: string;
  /** File of the allocation API key, re-read when it changes. */
  allocationsApiKeyFile?: string;
  /** How long keys dropped from the key file are still accepted, ms; default 30 s. */
  apiKeyOverlapMs: number;
  /** NOTIFY_URLS, NOTIFY_DRY_RUNS, CONSOLE_URL: who hears about runs that ended. */
  notify: NotifyConfig;
}

/** The files of the server's TLS identity, each re-read when it changes. */
export interface ServerTlsConfig {
  certFile: string;
  keyFile: string;
  /** CA of client certificates: when set, every client must present one it signed (mTLS). */
  clientCaFile?: string;
}

/** pino's levels, and silent. */
const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * Reads and validates the environment; throws ConfigError naming each bad variable. Relative
 * paths are taken from the folder the command was run in (`cwd`, or npm's INIT_CWD under an npm
 * script; see callerFolder), so `npm start` and `npm start -w rebalancer` read the same files.
 */
export function readConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): RebalancerConfig {
  const read = new EnvReader(env, cwd);
  const tradingMode = read.choice("TRADING_MODE", ["paper", "live"], "paper");
  // Several keys at once, so a key can be rotated without downtime.
  const apiKeys = read.secretList("REBALANCER_API_KEYS");
  const databaseUrlText = read.secret("DATABASE_URL");
  let databaseUrl: DatabaseUrl | undefined;
  try {
    databaseUrl = databaseUrlText === undefined ? undefined : parseDatabaseUrl(databaseUrlText);
  } catch (err) {
    read.problems.push(`DATABASE_URL (or DATABASE_URL_FILE): ${(err as Error).message}`);
  }
  const host = hostname();
  // A StatefulSet names its pods name-0, name-1: their ordinal, unless given.
  const ordinalOfHost = databaseUrlText !== undefined ? /-(\d+)$/.exec(host)?.[1] : undefined;
  const replicaOrdinal = read.integer("REPLICA_ORDINAL", Number(ordinalOfHost ?? 0), 0, 1000);
  const consoleSubscriberUrl = read.text("CONSOLE_SUBSCRIBER_URL", "").replace(/\/+$/, "");
  if (consoleSubscriberUrl !== "" && !/^https?:\/\/[^/]+$/.test(consoleSubscriberUrl)) {
    read.problems.push(
      `CONSOLE_SUBSCRIBER_URL: must be an http:// or https:// base URL such as http://127.0.0.1:8001, got "${consoleSubscriberUrl}"`,
    );
  }
  const brokerKind = read.choice("BROKER", ["sim", "ibkr"], env.IBKR_HOST ? "ibkr" : "sim");
  const broker: RebalancerConfig["broker"] =
    brokerKind === "ibkr"
      ? {
          kind: "ibkr",
          host: read.text("IBKR_HOST", "127.0.0.1"),
          port: read.integer("IBKR_PORT", tradingMode === "live" ? 4001 : 4002, 1, 65535),
          clientId: read.integer("IBKR_CLIENT_ID", 1, 0, 2 ** 31 - 1),
          informationalCodes: infoCodes(read.list("IBKR_INFO_CODES"), read.problems),
          heartbeatIntervalMs: read.integer("IBKR_HEARTBEAT_SECONDS", 5, 1, 60) * 1000,
          heartbeatTimeoutMs: read.integer("IBKR_HEARTBEAT_TIMEOUT_SECONDS", 5, 1, 60) * 1000,
        }
      : {
          kind: "sim",
          fillDelayMs: read.integer("SIM_FILL_DELAY_MS", 50, 0, 3_600_000),
          fillParts: read.integer("SIM_FILL_PARTS", 1, 1, 1000),
          rejectSymbols: symbols(read.list("SIM_REJECT_SYMBOLS"), read.problems),
        };
  if (broker.kind === "ibkr") {
    // Settings of a broker not in use would silently do nothing.
    for (const name of ["SIM_FILL_DELAY_MS", "SIM_FILL_PARTS", "SIM_REJECT_SYMBOLS"]) {
      if (env[name]?.trim()) read.problems.push(`${name}: applies to the simulated broker only`);
    }
  }
  if (tradingMode === "live" && broker.kind === "sim") {
    read.problems.push(
      "TRADING_MODE=live needs BROKER=ibkr: the simulated broker trades no real money",
    );
  }
  const openReads = read.choice("REBALANCER_OPEN_READS", ["true", "false"], "false");
  const config: RebalancerConfig = {
    accountsFile: read.path("ACCOUNTS_FILE", "./accounts.yaml"),
    dataDir: read.path("DATA_DIR", "./data"),
    tradingMode,
    databaseUrl,
    replicaOrdinal,
    replica: `${host}#${replicaOrdinal}:${process.pid}`,
    accountLeaseMs: read.integer("ACCOUNT_LEASE_SECONDS", 10, 2, 300) * 1000,
    logLevel: read.choice("LOG_LEVEL", logLevels, "info"),
    // A person at a terminal reads lines; a collector (a pipe, a container log) gets JSON.
    logFormat: read.choice(
      "LOG_FORMAT",
      ["pretty", "json"],
      process.stdout.isTTY ? "pretty" : "json",
    ),
    // Without keys anyone who can reach the port could trade: stay on loopback by default.
    apiHost: read.text("API_HOST", apiKeys.length > 0 ? "0.0.0.0" : "127.0.0.1"),
    apiPort: read.integer("API_PORT", 8000, 0, 65535),
    apiKeys,
    openReads: openReads === "true",
    corsOrigins: read.list("CORS_ORIGINS"),
    ...(consoleSubscriberUrl ? { consoleSubscriberUrl } : {}),
    broker,
    allocationsApiKey: read.secret("ALLOCATIONS_API_KEY"),
    allocationsTimeoutMs: read.integer("ALLOCATIONS_TIMEOUT_SECONDS", 30, 1, 600) * 1000,
    shutdownGraceMs: read.integer("SHUTDOWN_GRACE_SECONDS", 30, 0, 3600) * 1000,
    resumeMaxAgeMs: read.duration("RUN_RESUME_MAX_AGE", 30 * 60_000, 60_000, 7 * 86_400_000),
    reconnectWindowMs: read.duration("BROKER_RECONNECT_WINDOW", 120_000, 0, 3_600_000),
    cancelTimeoutMs: read.integer("OPEN_ORDERS_CANCEL_TIMEOUT_SECONDS", 60, 1, 3600) * 1000,
    fillTimeoutMs: read.integer("ORDER_FILL_TIMEOUT_SECONDS", 300, 1, 86400) * 1000,
    foreignOpenOrders:
      read.choice("FOREIGN_OPEN_ORDERS", ["refuse", "ignore-untraded-symbols"], "refuse") ===
      "refuse"
        ? "refuse"
        : "ignore_untraded_symbols",
    metricsPort: read.integer("METRICS_PORT", 9464, 0, 65535) || undefined,
    // Unauthenticated: loopback unless the deployment says where scrapers reach it.
    metricsHost: read.text("METRICS_HOST", "127.0.0.1"),
    allowPlaintext: false,
    apiKeyOverlapMs: 30_000,
    notify: readNotifyConfig(read),
  };
  if (config.metricsPort !== undefined && config.metricsPort === config.apiPort) {
    read.problems.push(
      `METRICS_PORT: ${config.metricsPort} is API_PORT too; give one of them another port`,
    );
  }
  const certFile = read.optionalPath("TLS_CERT_FILE") ?? "";
  const keyFile = read.optionalPath("TLS_KEY_FILE") ?? "";
  const clientCaFile = read.optionalPath("TLS_CLIENT_CA_FILE") ?? "";
  if ((certFile === "") !== (keyFile === "")) {
    read.problems.push("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither");
  }
  if (clientCaFile !== "" && certFile === "") {
    read.problems.push(
      "TLS_CLIENT_CA_FILE: client certificates need TLS_CERT_FILE and TLS_KEY_FILE",
    );
  }
  if (certFile !== "" && keyFile !== "") {
    config.tls = { certFile, keyFile, ...(clientCaFile ? { clientCaFile } : {}) };
  }
  config.allowPlaintext = read.choice("ALLOW_PLAINTEXT", ["true", "false"], "false") === "true";
  // Bearer keys in clear text beyond this host only when the operator says something else
  // (a mesh sidecar, a TLS-terminating proxy) protects them.
  if (
    apiKeys.length > 0 &&
    config.tls === undefined &&
    !config.allowPlaintext &&
    !isLoopback(config.apiHost)
  ) {
    read.problems.push(
      `API_HOST: ${config.apiHost} is not loopback and API keys would travel in clear text; set TLS_CERT_FILE and TLS_KEY_FILE, or ALLOW_PLAINTEXT=true if something else encrypts the traffic`,
    );
  }
  config.apiKeysFile = read.optionalPath("REBALANCER_API_KEYS_FILE");
  config.allocationsApiKeyFile = read.optionalPath("ALLOCATIONS_API_KEY_FILE");
  config.apiKeyOverlapMs = read.integer("API_KEY_OVERLAP_SECONDS", 30, 0, 86400) * 1000;
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/** IBKR_INFO_CODES: comma-separated IB codes. */
function infoCodes(items: string[], problems: string[]): number[] {
  const codes = items.map(Number);
  if (!codes.every((code) => Number.isInteger(code) && code >= 0)) {
    problems.push(`IBKR_INFO_CODES must be comma-separated IB codes, got ${items.join(",")}`);
    return [];
  }
  return codes;
}

/** SIM_REJECT_SYMBOLS: comma-separated ticker symbols. */
function symbols(items: string[], problems: string[]): string[] {
  const bad = items.filter((s) => !/^[A-Z0-9.]+$/.test(s));
  if (bad.length > 0) {
    problems.push(`SIM_REJECT_SYMBOLS: must be upper-case ticker symbols, got ${bad.join(",")}`);
    return [];
  }
  return items;
}

/** Addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  return ["127.0.0.1", "::1", "localhost"].includes(host) || host.startsWith("127.");
}
