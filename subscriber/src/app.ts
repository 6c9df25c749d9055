import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import type { Interceptor } from "@connectrpc/connect";
import { createReloadable, type Reloadable } from "@mesh/platform/reloadable";
import { readTlsFiles, tlsFilePaths, type TlsFiles } from "@mesh/platform/tls-files";
import { eligibleAccounts, loadAccounts } from "@mesh/platform/accounts";
import { createLogger, type Logger } from "@mesh/platform/logger";
import { trace, type Meter, type Tracer } from "@opentelemetry/api";
import type { SubscriberConfig } from "./config.js";
import { describeFailure } from "./delivery/classify-failure.js";
import { createDispatcher } from "./delivery/dispatcher.js";
import { createRebalancerClient } from "./delivery/rebalancer-client.js";
import { createRebalancerReachability } from "./delivery/rebalancer-reachability.js";
import { startHttpIngress, type HealthReport } from "./sources/http-ingress.js";
import type { Inbox } from "./inbox/inbox.js";
import { openSqliteInbox } from "./inbox/sqlite-inbox.js";
import { createIntake } from "./intake/intake.js";
import { startAblySource, type AblySource } from "./sources/ably-source.js";
import { publicStatus, type SubscriberStatus } from "./status.js";
import { createSubscriberMetrics } from "./telemetry/subscriber-metrics.js";

/** Options of startSubscriber beyond the configuration. */
export interface SubscriberOptions {
  /** Default: a pino logger at config.logLevel. */
  logger?: Logger;
  /** Default: the SQLite inbox at config.inboxFile. */
  inbox?: Inbox;
  /** For the message and delivery spans; default the global tracer (a no-op until started). */
  tracer?: Tracer;
  /** For the event, delivery, inbox and circuit metrics; default none (nothing is counted). */
  meter?: Meter;
  /** Connect interceptors on every call to the rebalancer (tracing, metrics); default none. */
  interceptors?: Interceptor[];
  /** Called with the server certificate after each reload, e.g. for the metrics port; default none. */
  onServerTls?: (tls: SecureContextOptions) => void;
}

/** A running subscriber. */
export interface Subscriber {
  /** Port of the HTTP ingress and status endpoint. */
  port: number;
  /** e.g. http://127.0.0.1:8001 */
  url: string;
  /** A snapshot composed from each component's status(), as /status shows it in detail. */
  status(): SubscriberStatus;
  inbox: Inbox;
  /** Re-reads the API key and certificates now (SIGHUP), as a change to their files does. */
  reload(): void;
  /** Stops sources, returns deliveries under way to pending and closes the inbox. */
  close(): Promise<void>;
}

/**
 * Starts the subscriber: the inbox (interrupted deliveries back to pending), the dispatcher to
 * the rebalancer, the HTTP ingress and, when a realtime key is configured, the Ably connection.
 */
export async function startSubscriber(
  config: SubscriberConfig,
  options: SubscriberOptions = {},
): Promise<Subscriber> {
  const logger = options.logger ?? createLogger({ name: "subscriber", level: config.logLevel });
  const accounts = eligibleAccounts(loadAccounts(config.accountsFile), config.tradingMode);
  if (accounts.length === 0) {
    logger.warn({ tradingMode: config.tradingMode }, "no enabled account of this trading mode");
  }
  const inbox = options.inbox ?? openSqliteInbox(config.inboxFile);
  const interrupted = await inbox.recoverInFlight();
  if (interrupted > 0) logger.warn({ interrupted }, "deliveries interrupted by a restart resume");

  const startedAt = new Date().toISOString();
  const reachability = createRebalancerReachability(config.rebalancer.url);
  const tracer = options.tracer ?? trace.getTracer("subscriber");
  const metrics = options.meter
    ? createSubscriberMetrics({
        meter: options.meter,
        inbox,
        // Read at scrapes, once start-up has created the dispatcher.
        status: () => ({ circuit: dispatcher.status().circuit, rebalancer: reachability.status() }),
        channels: [...new Set(accounts.map((a) => a.strategy))],
      })
    : undefined;
  // Credentials re-read when their files change (mounted secrets) or on SIGHUP; a reload that
  // fails keeps what worked and shows up in the health report's warnings.
  const reloadables: Reloadable<unknown>[] = [];
  const reloadable = <T>(
    name: string,
    files: string[],
    load: () => T,
    onReload?: (v: T) => void,
  ) => {
    const material = createReloadable({ name, files, load, onReload, logger });
    reloadables.push(material);
    return material;
  };
  let apiKey: string | (() => string | undefined) | undefined = config.rebalancer.apiKey;
  const keyFile = config.rebalancer.apiKeyFile;
  if (keyFile !== undefined) {
    const key = reloadable("rebalancer API key", [keyFile], () => {
      const value = readFileSync(keyFile, "utf8").replace(/\r?\n$/, "");
      if (value === "" && config.rebalancer.apiKey !== undefined) {
        throw new Error(`${keyFile} is empty; keeping the key in use`);
      }
      return value || undefined;
    });
    apiKey = () => key.current();
  }
  const clientFiles: TlsFiles = {
    certFile: config.rebalancer.clientCertFile,
    keyFile: config.rebalancer.clientKeyFile,
    caFile: config.rebalancer.caFile,
  };
  let onClientTls = (_: SecureContextOptions): void => undefined;
  const clientTls =
    tlsFilePaths(clientFiles).length > 0
      ? reloadable(
          "rebalancer client TLS",
          tlsFilePaths(clientFiles),
          () => readTlsFiles(clientFiles),
          (tls) => onClientTls(tls),
        )
      : undefined;
  let onServerTls = (_: SecureContextOptions): void => undefined;
  const serverTls =
    config.tls === undefined
      ? undefined
      : reloadable(
          "TLS certificate",
          tlsFilePaths(config.tls),
          () => readTlsFiles(config.tls!),
          (tls) => onServerTls(tls),
        );
  const rebalancer = createRebalancerClient({
    ...config.rebalancer,
    apiKey,
    tls: clientTls?.current(),
    interceptors: options.interceptors,
  });
  onClientTls = (tls) => rebalancer.setTls(tls);
  const dispatcher = createDispatcher({
    inbox,
    client: rebalancer.service,
    config: config.delivery,
    reachability,
    logger: logger.child({ component: "delivery" }),
    tracer,
    metrics,
  });
  const intake = createIntake({
    inbox,
    accounts,
    tradingMode: config.tradingMode,
    logger: logger.child({ component: "intake" }),
    tracer,
    metrics,
    onRecorded: () => dispatcher.wake(),
  });

  let realtime: AblySource | undefined;
  /** The whole status, composed from each component's snapshot. */
  const status = (): SubscriberStatus => ({
    startedAt,
    tradingMode: config.tradingMode,
    realtime: realtime?.status() ?? {
      enabled: config.realtime !== undefined,
      state: config.realtime ? "initialized" : "disabled",
      since: startedAt,
      channels: {},
    },
    ...intake.status(),
    rebalancer: reachability.status(),
    circuit: dispatcher.status().circuit,
  });

  const health = async (): Promise<HealthReport> => {
    const problems: string[] = [];
    const components: HealthReport["components"] = { inbox: "up", realtime: "disabled" };
    const realtime = status().realtime;
    if (realtime.enabled) {
      components.realtime = "up";
      if (["failed", "suspended", "closed"].includes(realtime.state)) {
        components.realtime = "down";
        problems.push(
          `realtime connection ${realtime.state}: ${realtime.reason ?? "no reason given"}`,
        );
      }
      for (const [name, channel] of Object.entries(realtime.channels)) {
        if (channel.state === "failed" || channel.state === "suspended") {
          components.realtime = "down";
          problems.push(`channel ${name} ${channel.state}: ${channel.reason ?? "no reason given"}`);
        }
      }
    }
    try {
      await inbox.counts();
    } catch (err) {
      components.inbox = "down";
      problems.push(`inbox unavailable: ${(err as Error).message}`);
    }
    const warnings = reloadables
      .map((material) => material.health())
      .filter((health) => !health.ok)
      .map((health) => health.detail);
    return {
      ok: problems.length === 0,
      components,
      problems,
      ...(warnings.length ? { warnings } : {}),
    };
  };

  // Deliveries alone leave reachability unknown while the inbox is idle: ask, at most every few
  // seconds, with a short deadline so the status endpoint stays fast.
  let probedAt = 0;
  const probeRebalancer = async () => {
    if (Date.now() - probedAt < 5000) return;
    probedAt = Date.now();
    try {
      await rebalancer.service.getHealth({}, { timeoutMs: 1000 });
      reachability.reached();
    } catch (err) {
      reachability.unreachable(describeFailure(err));
    }
  };

  const http = await startHttpIngress({
    host: config.host,
    port: config.port,
    intake,
    ...(config.webhookKey ? { webhookKey: config.webhookKey } : {}),
    health,
    ...(config.rebalancer.apiKey ? { detailsKey: config.rebalancer.apiKey } : {}),
    status: async (detailed) => {
      await probeRebalancer();
      const { problems, ...report } = await health();
      return {
        ...(detailed ? status() : publicStatus(status())),
        health: detailed ? { ...report, problems } : report,
        inbox: await inbox.counts(),
        deliveriesInFlight: dispatcher.inFlight(),
      };
    },
    logger: logger.child({ component: "http" }),
    tls: serverTls?.current(),
  }).catch(async (err: unknown) => {
    for (const material of reloadables) material.close();
    // The port is taken or not allowed: release what was started so the caller can exit.
    metrics?.close();
    await dispatcher.close();
    rebalancer.close();
    await inbox.close();
    throw err;
  });

  onServerTls = (tls) => {
    http.setSecureContext(tls);
    options.onServerTls?.(tls);
  };

  if (config.realtime) {
    realtime = startAblySource({
      config: config.realtime,
      channels: intake.channels(),
      intake,
      inbox,
      logger: logger.child({ component: "realtime" }),
    });
  }
  logger.info(
    {
      url: http.url,
      channels: intake.channels(),
      realtime: config.realtime !== undefined,
      rebalancer: config.rebalancer.url,
      // Transport security, said once at start: what is encrypted and whether plaintext was allowed.
      ingressTls: config.tls !== undefined,
      rebalancerTls: config.rebalancer.url.startsWith("https:")
        ? config.rebalancer.clientCertFile
          ? "tls with client certificate"
          : "tls"
        : "off",
      allowPlaintext: config.allowPlaintext === true,
    },
    "subscriber started",
  );

  let closing: Promise<void> | undefined;
  return {
    port: http.port,
    url: http.url,
    status,
    inbox,
    reload: () => {
      for (const material of reloadables) material.reload();
    },
    close: () =>
      (closing ??= (async () => {
        for (const material of reloadables) material.close();
        await realtime?.close();
        await http.close();
        await dispatcher.close();
        rebalancer.close();
        metrics?.close();
        await inbox.close();
      })()),
  };
}
