import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@mesh/platform/logger";
import {
  defaultDeliveryConfig,
  defaultHealthConfig,
  type RealtimeConfig,
  type SubscriberConfig,
} from "../../src/config.js";

/**
 * Accounts of the tests: two paper accounts on channel s1 (fan-out), one on s2, and a live and a
 * disabled account on s1 that must never be triggered in paper mode.
 */
export const testAccountsYaml = `
defaults:
  allocation_url: "file:allocations/{strategy}.yaml"
accounts:
  - { account_id: DU001, type: paper, enabled: true, strategy: s1 }
  - { account_id: DU002, type: paper, enabled: true, strategy: s1 }
  - { account_id: DU003, type: paper, enabled: true, strategy: s2 }
  - { account_id: U004, type: live, enabled: true, strategy: s1 }
  - { account_id: DU005, type: paper, enabled: false, strategy: s1 }
`;

const bundledAllocations = fileURLToPath(
  new URL("../../../rebalancer/allocations/", import.meta.url),
);

/**
 * accounts.yaml for the real rebalancer on its simulated broker's bundled accounts, allocations
 * from the bundled files. DU1000002 is an ira account at the simulated broker: as in the root
 * accounts.yaml it trades through the ira replacement set, else its preflight refuses the run.
 */
export function simAccountsYaml(accounts: ("DU1000001" | "DU1000002")[]): string {
  const entries = {
    DU1000001: "{ account_id: DU1000001, type: paper, enabled: true, strategy: etf-blend-301-20 }",
    DU1000002:
      "{ account_id: DU1000002, type: paper, enabled: true, strategy: etf-blend-200-35, replacement_set: ira }",
  };
  return `
defaults:
  allocation_url: "file:${bundledAllocations}{strategy}.yaml"
replacement_sets:
  ira:
    - { source: UVXY, target: VXX, scale: 1.5 }
    - { source: SPXL, target: SPY, scale: 3.0 }
accounts:
${accounts.map((id) => `  - ${entries[id]}`).join("\n")}
`;
}

/** A scratch directory with accounts.yaml; remove() deletes it. */
export function scratchDir(): { dir: string; accountsFile: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "subscriber-test-"));
  const accountsFile = join(dir, "accounts.yaml");
  writeFileSync(accountsFile, testAccountsYaml);
  return { dir, accountsFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A configuration with test timings: quick retries, short waits, free port, loopback only. */
export function testConfig(
  dir: string,
  rebalancerUrl: string,
  overrides: {
    realtime?: Partial<RealtimeConfig> & { key: string };
    delivery?: Partial<SubscriberConfig["delivery"]>;
    health?: Partial<SubscriberConfig["health"]>;
    dataDir?: string;
    /** postgres://… of a shared inbox database; default none (SQLite in dataDir). */
    databaseUrl?: string;
    webhookKey?: string;
    protocol?: SubscriberConfig["rebalancer"]["protocol"];
    /** REBALANCER_API_KEY: sent to the rebalancer, and the key to /status details. */
    apiKey?: string;
    /** SUBSCRIBER_API_KEYS; default the apiKey, as loadConfig does. */
    apiKeys?: string[];
    /** SUBSCRIBER_CORS_ORIGINS; default none. */
    corsOrigins?: string[];
  } = {},
): SubscriberConfig {
  const dataDir = overrides.dataDir ?? join(dir, "data");
  return {
    accountsFile: join(dir, "accounts.yaml"),
    dataDir,
    inboxFile: join(dataDir, "subscriber-inbox.sqlite"),
    ...(overrides.databaseUrl
      ? { database: { url: overrides.databaseUrl, shown: overrides.databaseUrl } }
      : {}),
    tradingMode: "paper",
    logLevel: "silent",
    host: "127.0.0.1",
    port: 0,
    apiKeys: overrides.apiKeys ?? (overrides.apiKey ? [overrides.apiKey] : []),
    corsOrigins: overrides.corsOrigins ?? [],
    metricsHost: "127.0.0.1",
    rebalancer: {
      url: rebalancerUrl,
      protocol: overrides.protocol ?? "grpc",
      ...(overrides.apiKey ? { apiKey: overrides.apiKey } : {}),
    },
    ...(overrides.realtime
      ? {
          realtime: {
            tls: false,
            disconnectedRetryTimeoutMs: 200,
            realtimeRequestTimeoutMs: 2000,
            recoveryWindowMs: 600_000,
            continuityMarginMs: 200,
            checkpointIntervalMs: 50,
            historyPageSize: 1000,
            recoveryRetryInitialDelayMs: 20,
            recoveryRetryMaxDelayMs: 100,
            ...overrides.realtime,
          },
        }
      : {}),
    ...(overrides.webhookKey ? { webhookKey: overrides.webhookKey } : {}),
    delivery: {
      ...defaultDeliveryConfig,
      attemptTimeoutMs: 5000,
      retryAttempts: 2,
      retryInitialDelayMs: 20,
      retryMaxDelayMs: 100,
      rescheduleInitialDelayMs: 50,
      rescheduleMaxDelayMs: 200,
      breakerThreshold: 50,
      breakerHalfOpenAfterMs: 200,
      pollIntervalMs: 50,
      claimTimeoutMs: 2000,
      ...overrides.delivery,
    },
    health: { ...defaultHealthConfig, ...overrides.health },
  };
}

/** A logger for tests: silent unless TEST_LOG_LEVEL is set. */
export const testLogger = createLogger({
  name: "subscriber-test",
  level: process.env.TEST_LOG_LEVEL ?? "silent",
  pretty: false,
});

/** POSTs a JSON payload to the subscriber's plain event ingress. */
export async function postEvent(
  url: string,
  channel: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/events/${channel}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** GETs a JSON document from the subscriber. */
export async function getJson(
  url: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
