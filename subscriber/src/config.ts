import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { AccountType } from "@mesh/platform/accounts";
import { ConfigError } from "@mesh/platform/config-error";
import { parseDatabaseUrl, type DatabaseUrl } from "@mesh/platform/database-url";
import { EnvReader } from "@mesh/platform/env-reader";
import { readNotifyConfig, type NotifyConfig } from "@mesh/platform/notify/notify-config";

/** How the subscriber reaches the Ably realtime service. */
export interface RealtimeConfig {
  /** Ably API key, "appId.keyId:secret" (REALTIME_API_KEY); required for a realtime connection. */
  key: string;
  /** Host of the realtime and REST endpoints (ABLY_ENDPOINT); default Ably's own. */
  endpoint?: string;
  /** Port of the endpoint (ABLY_PORT); default the SDK's for `tls`. */
  port?: number;
  /** Use TLS (wss/https) (ABLY_TLS); default true. */
  tls: boolean;
  /** SDK: wait before reconnecting after a disconnect, ms; default 15000. */
  disconnectedRetryTimeoutMs: number;
  /** SDK: wait for a realtime request's answer, ms; default 10000. */
  realtimeRequestTimeoutMs: number;
  /**
   * Messages older than this are not recovered from history after a gap: that part of the gap
   * is recorded as gap_unrecoverable, ms (REALTIME_RECOVERY_WINDOW, seconds); default 600000.
   */
  recoveryWindowMs: number;
  /**
   * Gaps start this long before the last moment a channel was known continuous, and end this
   * long after they were learnt: a link can die before the SDK notices (Ably's maxIdleInterval
   * plus realtimeRequestTimeout) and clocks differ a little, ms; default 30000.
   */
  continuityMarginMs: number;
  /** How often the mark of a continuous channel is moved forward, ms; default 5000. */
  checkpointIntervalMs: number;
  /** Messages asked for per history page (Ably's most is 1000); default 1000. */
  historyPageSize: number;
  /** First wait after a failed history recovery, ms (exponential with jitter); default 500. */
  recoveryRetryInitialDelayMs: number;
  /** Longest wait between history recovery attempts, ms; default 30000. */
  recoveryRetryMaxDelayMs: number;
}

/** Defaults of the realtime timings that are not read from the environment. */
export const defaultRealtimeTimings = {
  disconnectedRetryTimeoutMs: 15_000,
  realtimeRequestTimeoutMs: 10_000,
  continuityMarginMs: 30_000,
  checkpointIntervalMs: 5000,
  historyPageSize: 1000,
  recoveryRetryInitialDelayMs: 500,
  recoveryRetryMaxDelayMs: 30_000,
} satisfies Partial<RealtimeConfig>;

/** When /health turns degraded (events are still taken in and kept; something needs attention). */
export interface HealthConfig {
  /** The entry waiting longest for delivery is older than this, ms (HEALTH_PENDING_MAX_AGE, seconds); default 600000. */
  pendingMaxAgeMs: number;
  /** A realtime gap is still open after this long, ms (HEALTH_GAP_MAX_AGE, seconds); default 120000. */
  gapMaxAgeMs: number;
  /** A gap's history recovery failed this many times in a row (HEALTH_RECOVERY_FAILURES); default 3. */
  recoveryFailures: number;
}

/** Defaults of the health thresholds. */
export const defaultHealthConfig: HealthConfig = {
  pendingMaxAgeMs: 600_000,
  gapMaxAgeMs: 120_000,
  recoveryFailures: 3,
};

/** How inbox entries are delivered to the rebalancer. */
export interface DeliveryConfig {
  /** Entries delivered at the same time, across accounts (one at a time per account) (DELIVERY_CONCURRENCY); default 4. */
  concurrency: number;
  /** Transient failures are retried until an entry is this old, then dead-lettered, ms (DELIVERY_MAX_AGE); default 6 h. */
  maxAgeMs: number;
  /** One call (a whole Rebalance stream) is cancelled after this long, ms (REBALANCER_API_TIMEOUT); default 300000. */
  attemptTimeoutMs: number;
  /** Quick attempts of one delivery, the first included, before it goes back to the inbox; default 3. */
  retryAttempts: number;
  /** First backoff of the quick retries, ms (exponential with jitter); default 500. */
  retryInitialDelayMs: number;
  /** Longest backoff of the quick retries, ms; default 10000. */
  retryMaxDelayMs: number;
  /** First wait before an entry that failed its quick retries is tried again, ms; default 5000. */
  rescheduleInitialDelayMs: number;
  /** Longest wait between such tries, ms; default 300000. */
  rescheduleMaxDelayMs: number;
  /** Consecutive transient failures that open the circuit; default 5. */
  breakerThreshold: number;
  /** An open circuit lets one call through after this long, ms; default 30000. */
  breakerHalfOpenAfterMs: number;
  /** How often the inbox is polled for entries changed elsewhere (the CLI), ms; default 1000. */
  pollIntervalMs: number;
  /**
   * With PostgreSQL: a replica's claim on the entry it delivers lapses when not renewed for this
   * long (it is renewed every third of it), and another replica delivers the entry; the bound on
   * how long a dead replica holds its deliveries, ms (DELIVERY_CLAIM_TIMEOUT, seconds); default 15000.
   */
  claimTimeoutMs: number;
}

/** The subscriber's whole configuration, validated. */
export interface SubscriberConfig {
  /**
   * NOTIFY_URLS, NOTIFY_DRY_RUNS, CONSOLE_URL: who hears about dead-lettered events; undefined:
   * nobody. CONSOLE_URL defaults to REBALANCER_API_URL's origin (the rebalancer serves the console).
   */
  notify?: NotifyConfig;
  /** The accounts file both services read (ACCOUNTS_FILE), absolute; default ./accounts.yaml of the folder the command ran in. */
  accountsFile: string;
  /** Directory of the inbox database (DATA_DIR), absolute; default ./data of the folder the command ran in. */
  dataDir: string;
  /** The SQLite file of the inbox: subscriber-inbox.sqlite inside dataDir. */
  inboxFile: string;
  /**
   * PostgreSQL shared by the replicas, holding the inbox instead of inboxFile (DATABASE_URL or
   * DATABASE_URL_FILE); default unset: the SQLite file. Its `shown` form has no password.
   */
  database?: DatabaseUrl;
  /** Accounts of this type take part (TRADING_MODE); default paper. */
  tradingMode: AccountType;
  /** pino level, or silent (LOG_LEVEL); default info. */
  logLevel: string;
  /** Readable lines with the local time (pretty) or JSON lines (LOG_FORMAT); default pretty on a terminal, else json. */
  logFormat?: "pretty" | "json";
  /**
   * Address of the webhook ingress and status endpoint (SUBSCRIBER_HOST); default 127.0.0.1,
   * or 0.0.0.0 with a realtime key (webhooks are then signed).
   */
  host: string;
  /** Port of the webhook ingress and status endpoint (SUBSCRIBER_PORT); default 8001; 0 picks a free one. */
  port: number;
  /**
   * Bearer keys SubscriberService (entries, dead letters) accepts on that port
   * (SUBSCRIBER_API_KEYS or SUBSCRIBER_API_KEYS_FILE, comma-separated); default the
   * REBALANCER_API_KEY, the key that shows /health's details; none: callers on this host only.
   */
  apiKeys: string[];
  /**
   * The file those keys are re-read from when it changes or on SIGHUP: SUBSCRIBER_API_KEYS_FILE,
   * or without keys of its own REBALANCER_API_KEY_FILE; unset when the keys came from the
   * environment.
   */
  apiKeysFile?: string;
  /** How long a key removed from that file is still accepted (API_KEY_OVERLAP_SECONDS); default 30 s. */
  apiKeyOverlapMs?: number;
  /**
   * Origins a browser may call SubscriberService from, e.g. the console's
   * http://127.0.0.1:8000 (SUBSCRIBER_CORS_ORIGINS, comma-separated, "*" for any); default none.
   */
  corsOrigins: string[];
  /** How the rebalancer is called. */
  rebalancer: {
    /** Its base URL (REBALANCER_API_URL); default http://127.0.0.1:8000. */
    url: string;
    /** Bearer key sent with every call (REBALANCER_API_KEY); default none. */
    apiKey?: string;
    /** grpc (gRPC over HTTP/2) or connect (Connect over HTTP/1.1) (REBALANCER_API_PROTOCOL); default grpc. */
    protocol: "grpc" | "connect";
    /** File of apiKey, re-read when it changes (REBALANCER_API_KEY_FILE); default none. */
    apiKeyFile?: string;
    /** PEM CA trusted for an https:// URL (REBALANCER_CA_FILE); default the system's CAs. */
    caFile?: string;
    /** Client certificate presented to the rebalancer (mTLS, REBALANCER_CLIENT_CERT_FILE); default none. */
    clientCertFile?: string;
    /** Key of clientCertFile (REBALANCER_CLIENT_KEY_FILE); set with it; default none. */
    clientKeyFile?: string;
  };
  /** HTTPS on the ingress and metrics ports (TLS_CERT_FILE, TLS_KEY_FILE); default cleartext. */
  tls?: { certFile: string; keyFile: string };
  /** The API key may go over http:// beyond loopback (ALLOW_PLAINTEXT=true); default false. */
  allowPlaintext?: boolean;
  /** Port of the Prometheus scrape endpoint (METRICS_PORT); default 9465; unset (0): no endpoint. */
  metricsPort?: number;
  /** Address of the scrape endpoint (METRICS_HOST); default 127.0.0.1 (it has no authentication). */
  metricsHost: string;
  /** Set by REALTIME_API_KEY; default unset: no realtime connection, only the webhook ingress. */
  realtime?: RealtimeConfig;
  /** Secret verifying X-Ably-Signature on webhooks (the realtime key); default none: unsigned accepted. */
  webhookKey?: string;
  /** Delivery settings; defaults in defaultDeliveryConfig. */
  delivery: DeliveryConfig;
  /** Health thresholds; defaults in defaultHealthConfig. */
  health: HealthConfig;
}

/** Defaults of the delivery settings. */
export const defaultDeliveryConfig: DeliveryConfig = {
  concurrency: 4,
  maxAgeMs: 6 * 3600_000,
  attemptTimeoutMs: 300_000,
  retryAttempts: 3,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 10_000,
  rescheduleInitialDelayMs: 5000,
  rescheduleMaxDelayMs: 300_000,
  breakerThreshold: 5,
  breakerHalfOpenAfterMs: 30_000,
  pollIntervalMs: 1000,
  claimTimeoutMs: 15_000,
};

/**
 * Turns the environment into a configuration; throws ConfigError naming every bad variable.
 * Relative paths are taken from the folder the command was run in (`cwd`, or npm's INIT_CWD
 * under an npm script; see callerFolder), the same rule as the rebalancer's.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): SubscriberConfig {
  const read = new EnvReader(env, cwd);
  const { problems } = read;

  const tradingMode = read.choice("TRADING_MODE", ["paper", "live"], "paper");
  const logLevel = read.choice(
    "LOG_LEVEL",
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
    "info",
  );
  // A person at a terminal reads lines; a collector (a pipe, a container log) gets JSON.
  const logFormat = read.choice(
    "LOG_FORMAT",
    ["pretty", "json"],
    process.stdout.isTTY ? "pretty" : "json",
  );
  const port = read.integer("SUBSCRIBER_PORT", 8001, 0, 65535);
  const url = read.text("REBALANCER_API_URL", "http://127.0.0.1:8000");
  if (!/^https?:\/\/[^/]+/.test(url)) {
    problems.push(`REBALANCER_API_URL: must be an http:// or https:// URL, got "${url}"`);
  }
  const protocol = read.choice("REBALANCER_API_PROTOCOL", ["grpc", "connect"], "grpc");
  const timeoutSeconds = read.integer("REBALANCER_API_TIMEOUT", 300, 1, 86_400);
  // 9465: next to the rebalancer's 9464, so both run on one host with the defaults.
  const metricsPort = read.integer("METRICS_PORT", 9465, 0, 65535);
  if (metricsPort !== 0 && metricsPort === port) {
    problems.push(`METRICS_PORT: must differ from SUBSCRIBER_PORT (both ${port})`);
  }
  const metricsHost = read.text("METRICS_HOST", "127.0.0.1");
  const realtimeKey = read.secret("REALTIME_API_KEY");
  if (realtimeKey !== undefined && !/^[^.:\s]+\.[^.:\s]+:\S+$/.test(realtimeKey)) {
    problems.push("REALTIME_API_KEY: must look like appId.keyId:secret");
  }
  const endpoint = env.ABLY_ENDPOINT?.trim() || undefined;
  if (endpoint?.includes(":")) {
    problems.push("ABLY_ENDPOINT: a host name only; put the port in ABLY_PORT");
  }
  const ablyPort = env.ABLY_PORT?.trim() ? read.integer("ABLY_PORT", 0, 1, 65535) : undefined;
  const tlsRaw = read.text("ABLY_TLS", "true").toLowerCase();
  if (!["true", "false", "1", "0"].includes(tlsRaw)) {
    problems.push(`ABLY_TLS: must be true or false, got "${tlsRaw}"`);
  }
  // At least twice the continuity margin (30 s): a shorter window would report every gap lost.
  const recoverySeconds = read.integer("REALTIME_RECOVERY_WINDOW", 600, 60, 7 * 86_400);
  const maxAgeSeconds = read.integer("DELIVERY_MAX_AGE", 6 * 3600, 1, 30 * 86_400);
  const concurrency = read.integer("DELIVERY_CONCURRENCY", 4, 1, 256);
  const claimTimeoutSeconds = read.integer("DELIVERY_CLAIM_TIMEOUT", 15, 1, 3600);
  const databaseUrl = read.secret("DATABASE_URL");
  let database: DatabaseUrl | undefined;
  try {
    database = databaseUrl === undefined ? undefined : parseDatabaseUrl(databaseUrl);
  } catch (err) {
    problems.push(`DATABASE_URL (or DATABASE_URL_FILE): ${(err as Error).message}`);
  }
  const pendingMaxAgeSeconds = read.integer("HEALTH_PENDING_MAX_AGE", 600, 1, 30 * 86_400);
  const gapMaxAgeSeconds = read.integer("HEALTH_GAP_MAX_AGE", 120, 1, 7 * 86_400);
  const recoveryFailures = read.integer("HEALTH_RECOVERY_FAILURES", 3, 1, 1000);
  const apiKey = read.secret("REBALANCER_API_KEY");
  const ownKeys = read.secretList("SUBSCRIBER_API_KEYS");
  const corsOrigins = read.list("SUBSCRIBER_CORS_ORIGINS");
  // Binding beyond loopback is the operator's choice; without webhook signatures stay local.
  const host = read.text("SUBSCRIBER_HOST", realtimeKey ? "0.0.0.0" : "127.0.0.1");

  const caFile = read.optionalPath("REBALANCER_CA_FILE");
  const clientCertFile = read.optionalPath("REBALANCER_CLIENT_CERT_FILE");
  const clientKeyFile = read.optionalPath("REBALANCER_CLIENT_KEY_FILE");
  if ((clientCertFile === undefined) !== (clientKeyFile === undefined)) {
    problems.push(
      "REBALANCER_CLIENT_CERT_FILE and REBALANCER_CLIENT_KEY_FILE: set both or neither",
    );
  }
  const secureUrl = url.startsWith("https:");
  if (!secureUrl && (caFile || clientCertFile)) {
    problems.push(
      "REBALANCER_CA_FILE and REBALANCER_CLIENT_CERT_FILE need an https:// REBALANCER_API_URL",
    );
  }
  const allowPlaintext = read.choice("ALLOW_PLAINTEXT", ["true", "false"], "false") === "true";
  const rebalancerHost = /^https?:\/\/(\[[^\]]+\]|[^/:]+)/.exec(url)?.[1]?.replace(/^\[|\]$/g, "");
  if (
    apiKey !== undefined &&
    !secureUrl &&
    !allowPlaintext &&
    rebalancerHost !== undefined &&
    !["127.0.0.1", "::1", "localhost"].includes(rebalancerHost)
  ) {
    problems.push(
      `REBALANCER_API_URL: the API key would travel in clear text to ${rebalancerHost}; use https://, or ALLOW_PLAINTEXT=true if something else encrypts the traffic`,
    );
  }
  const certFile = read.optionalPath("TLS_CERT_FILE") ?? "";
  const keyFile = read.optionalPath("TLS_KEY_FILE") ?? "";
  if ((certFile === "") !== (keyFile === "")) {
    problems.push("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither");
  }
  const apiKeyFile = read.optionalPath("REBALANCER_API_KEY_FILE");
  // Operators' keys rotate like the rebalancer's: from their own file, else the one key's file.
  const operatorKeysFile =
    ownKeys.length > 0 ? read.optionalPath("SUBSCRIBER_API_KEYS_FILE") : apiKeyFile;
  const dataDir = read.path("DATA_DIR", "./data");
  const notify = readNotifyConfig(read);
  const blocker = fileInTheWay(dataDir);
  if (blocker !== undefined) {
    problems.push(`DATA_DIR: ${blocker} is a file, so ${dataDir} cannot be a directory`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    accountsFile: read.path("ACCOUNTS_FILE", "./accounts.yaml"),
    dataDir,
    inboxFile: join(dataDir, "subscriber-inbox.sqlite"),
    ...(database ? { database } : {}),
    ...(notify.targets.length > 0 ? { notify } : {}),
    tradingMode,
    logLevel,
    logFormat,
    host,
    port,
    apiKeys: ownKeys.length > 0 ? ownKeys : apiKey ? [apiKey] : [],
    ...(operatorKeysFile ? { apiKeysFile: operatorKeysFile } : {}),
    apiKeyOverlapMs: read.integer("API_KEY_OVERLAP_SECONDS", 30, 0, 86400) * 1000,
    corsOrigins,
    rebalancer: {
      url,
      ...(apiKey ? { apiKey } : {}),
      protocol,
      ...(apiKeyFile ? { apiKeyFile } : {}),
      ...(caFile ? { caFile } : {}),
      ...(clientCertFile && clientKeyFile ? { clientCertFile, clientKeyFile } : {}),
    },
    ...(certFile && keyFile ? { tls: { certFile, keyFile } } : {}),
    allowPlaintext,
    ...(metricsPort > 0 ? { metricsPort } : {}),
    metricsHost,
    ...(realtimeKey
      ? {
          realtime: {
            key: realtimeKey,
            ...(endpoint ? { endpoint } : {}),
            ...(ablyPort ? { port: ablyPort } : {}),
            tls: tlsRaw === "true" || tlsRaw === "1",
            ...defaultRealtimeTimings,
            recoveryWindowMs: recoverySeconds * 1000,
          },
          webhookKey: realtimeKey,
        }
      : {}),
    delivery: {
      ...defaultDeliveryConfig,
      concurrency,
      claimTimeoutMs: claimTimeoutSeconds * 1000,
      maxAgeMs: maxAgeSeconds * 1000,
      attemptTimeoutMs: timeoutSeconds * 1000,
    },
    health: {
      pendingMaxAgeMs: pendingMaxAgeSeconds * 1000,
      gapMaxAgeMs: gapMaxAgeSeconds * 1000,
      recoveryFailures,
    },
  };
}

/** The first existing path from `dir` up that is not a directory, if any. */
function fileInTheWay(dir: string): string | undefined {
  for (let path = dir; ; path = dirname(path)) {
    let stat;
    try {
      stat = statSync(path, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR: something above is a file; keep going up to name it.
    }
    if (stat) return stat.isDirectory() ? undefined : path;
    if (dirname(path) === path) return undefined;
  }
}
