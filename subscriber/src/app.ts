import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import type { Interceptor } from "@connectrpc/connect";
import { parseKeyList } from "@mesh/platform/parse-key-list";
import { createReloadable, type Reloadable } from "@mesh/platform/reloadable";
import { readTlsFiles, tlsFilePaths, type TlsFiles } from "@mesh/platform/tls-files";
import { eligibleAccounts, loadAccounts } from "@mesh/platform/accounts";
import { createKeyRing } from "@mesh/platform/key-ring";
import { createLogger, type Logger } from "@mesh/platform/logger";
import { createNotificationSender } from "@mesh/platform/notify/notification-sender";
import { createNotifyMetrics } from "@mesh/platform/notify/notify-metrics";
import type { NotifyOptions } from "@mesh/platform/notify/notify-options";
import { openPostgresNotificationOutbox } from "@mesh/platform/notify/postgres-notification-outbox";
import { openSqliteNotificationOutbox } from "@mesh/platform/notify/sqlite-notification-outbox";
import { trace, type Meter, type Tracer } from "@opentelemetry/api";
import type { SubscriberConfig } from "./config.js";
import { createDispatcher } from "./delivery/dispatcher.js";
import { createRebalancerClient } from "./delivery/rebalancer-client.js";
import { createRebalancerProbe } from "./delivery/rebalancer-probe.js";
import { createRebalancerReachability } from "./delivery/rebalancer-reachability.js";
import { publicHealth } from "./health/health-report.js";
import { createSubscriberHealth } from "./health/subscriber-health.js";
import type { Gap } from "./inbox/gap-store.js";
import { startHttpIngress } from "./sources/http-ingress.js";
import type { Inbox } from "./inbox/inbox.js";
import { notifyingInbox } from "./inbox/notifying-inbox.js";
import { InboxUnavailableError, openInbox } from "./inbox/open-inbox.js";
import { createIntake } from "./intake/intake.js";
import { createSubscriberRpc } from "./server/subscriber-rpc.js";
import { startAblySource, type AblySource } from "./sources/ably-source.js";
import { publicStatus, type SubscriberStatus } from "./status.js";
import { createSubscriberMetrics } from "./telemetry/subscriber-metrics.js";

/** Options of startSubscriber beyond the configuration. */
export interface SubscriberOptions {
  /** Default: a pino logger at config.logLevel. */
  logger?: Logger;
  /** Default: the one config names (PostgreSQL at config.database, else SQLite at config.inboxFile). */
  inbox?: Inbox;
  /** For the message and delivery spans; default the global tracer (a no-op until started). */
  tracer?: Tracer;
  /** For the event, delivery, inbox and circuit metrics; default none (nothing is counted). */
  meter?: Meter;
  /** Connect interceptors on every call to the rebalancer (tracing, metrics); default none. */
  interceptors?: Interceptor[];
  /** Connect interceptors on every RPC the subscriber serves (tracing, metrics); default none. */
  serverInterceptors?: Interceptor[];
  /** Called with the server certificate after each reload, e.g. for the metrics port; default none. */
  onServerTls?: (tls: SecureContextOptions) => void;
  /** Who hears about dead-lettered events, with the sender's timings; default config.notify. */
  notify?: NotifyOptions;
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
  const logger =
    options.logger ??
    createLogger({
      name: "subscriber",
      level: config.logLevel,
      ...(config.logFormat ? { pretty: config.logFormat === "pretty" } : {}),
    });
  const accounts = eligibleAccounts(loadAccounts(config.accountsFile), config.tradingMode);
  if (accounts.length === 0) {
    logger.warn({ tradingMode: config.tradingMode }, "no enabled account of this trading mode");
  }
  const opened =
    options.inbox ?? (await openInbox(config, { logger: logger.child({ component: "inbox" }) }));
  const notify = options.notify ?? config.notify;
  // The outbox lives in the inbox's database: its SQLite file, or the PostgreSQL the replicas share.
  const outbox = notify?.targets.length
    ? config.database
      ? await openPostgresNotificationOutbox(config.database.url).catch(async (err: unknown) => {
          await opened.close();
          throw new InboxUnavailableError(
            `notification outbox in ${config.database!.shown}: ${(err as Error).message}`,
            { cause: err },
          );
        })
      : openSqliteNotificationOutbox(config.inboxFile)
    : undefined;
  const sender =
    outbox &&
    createNotificationSender({
      ...notify,
      outbox,
      targets: notify!.targets,
      logger: logger.child({ component: "notify" }),
      tracer: options.tracer,
      metrics: options.meter && createNotifyMetrics(options.meter, "subscriber"),
    });
  const inbox = sender
    ? notifyingInbox(opened, {
        enqueue: (notification) => sender.enqueue(notification),
        dryRuns: notify?.dryRuns,
        // The rebalancer serves the console.
        consoleBase: notify?.consoleUrl ?? new URL(config.rebalancer.url).origin,
        logger,
      })
    : opened;
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
    const key = reloadable(
      "rebalancer API key",
      [keyFile],
      () => {
        const value = readFileSync(keyFile, "utf8").replace(/\r?\n$/, "");
        if (value === "" && config.rebalancer.apiKey !== undefined) {
          throw new Error(`${keyFile} is empty; keeping the key in use`);
        }
        return value || undefined;
      },
      // A new key deserves a new verdict: the next call says whether it is accepted.
      () => reachability.keyChanged(),
    );
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
  // The keys SubscriberService accepts, rotated without a restart: a key dropped from the file
  // is still accepted for the overlap, so callers being updated do not fail.
  let operatorKeys: readonly string[] | (() => readonly string[]) = config.apiKeys;
  const operatorKeysFile = config.apiKeysFile;
  if (operatorKeysFile !== undefined) {
    const ring = createKeyRing({ keys: config.apiKeys, overlapMs: config.apiKeyOverlapMs });
    reloadable(
      "subscriber API keys",
      [operatorKeysFile],
      () => {
        const keys = parseKeyList(readFileSync(operatorKeysFile, "utf8"));
        if (keys.length === 0 && config.apiKeys.length > 0) {
          throw new Error(
            `${operatorKeysFile} has no key; an empty file must not turn authentication off`,
          );
        }
        return keys;
      },
      (keys) => ring.replace(keys),
    );
    operatorKeys = () => ring.accepted();
  }
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

  const health = createSubscriberHealth({
    inbox,
    thresholds: config.health,
    realtime: () => status().realtime,
    probeRebalancer: createRebalancerProbe({ client: rebalancer.service, reachability }),
    rebalancer: () => reachability.status(),
    circuit: () => dispatcher.status().circuit,
    halfOpenAfterMs: config.delivery.breakerHalfOpenAfterMs,
    warnings: () =>
      reloadables
        .map((material) => material.health())
        .filter((health) => !health.ok)
        .map((health) => health.detail),
  });

  const rpc = createSubscriberRpc({
    inbox,
    health: () => health.report(),
    apiKeys: operatorKeys,
    corsOrigins: config.corsOrigins,
    onRedriven: () => dispatcher.wake(),
    logger: logger.child({ component: "operator" }),
    ...(options.serverInterceptors ? { interceptors: options.serverInterceptors } : {}),
  });
  // Stops whatever has started, in this order: sources first, the outbox last (what is not
  // delivered waits there for the next start). Also what a failed start releases.
  const stop = async (http?: { close(): Promise<void> }) => {
    for (const material of reloadables) material.close();
    await realtime?.close();
    rpc.shutdown();
    await http?.close();
    await dispatcher.close();
    rebalancer.close();
    metrics?.close();
    await inbox.close();
    await sender?.close();
    await outbox?.close();
  };
  const http = await startHttpIngress({
    rpc: (ingress) => rpc.handler(ingress),
    host: config.host,
    port: config.port,
    intake,
    ...(config.webhookKey ? { webhookKey: config.webhookKey } : {}),
    health: () => health.report(),
    ...(config.rebalancer.apiKey ? { detailsKey: config.rebalancer.apiKey } : {}),
    status: async (detailed) => {
      const report = await health.report();
      const [open, unrecoverable] = await Promise.all([
        inbox.gaps.listOpen(),
        inbox.gaps.unacknowledged(),
      ]).catch(() => [[], []]);
      const shown = (gap: Gap) => gapView(gap, detailed);
      return {
        ...(detailed ? status() : publicStatus(status())),
        health: detailed ? report : publicHealth(report),
        inbox: await inbox.counts(),
        deliveriesInFlight: dispatcher.inFlight(),
        gaps: { open: open.map(shown), unrecoverable: unrecoverable.map(shown) },
      };
    },
    logger: logger.child({ component: "http" }),
    tls: serverTls?.current(),
  }).catch(async (err: unknown) => {
    // The port is taken or not allowed: release what was started so the caller can exit.
    await stop();
    throw err;
  });

  onServerTls = (tls) => {
    http.setSecureContext(tls);
    options.onServerTls?.(tls);
  };

  if (config.realtime) {
    realtime = await startAblySource({
      config: config.realtime,
      channels: intake.channels(),
      intake,
      inbox,
      logger: logger.child({ component: "realtime" }),
      metrics,
    }).catch(async (err: unknown) => {
      // The inbox cannot read the channels' marks or record their start-up gaps: stop cleanly.
      await stop(http);
      throw err;
    });
  }
  logger.info(
    {
      url: http.url,
      channels: intake.channels(),
      realtime: config.realtime !== undefined,
      rebalancer: config.rebalancer.url,
      inbox: config.database?.shown ?? config.inboxFile,
      // Transport security, said once at start: what is encrypted and whether plaintext was allowed.
      ingressTls: config.tls !== undefined,
      rebalancerTls: config.rebalancer.url.startsWith("https:")
        ? config.rebalancer.clientCertFile
          ? "tls with client certificate"
          : "tls"
        : "off",
      allowPlaintext: config.allowPlaintext === true,
      // SubscriberService on the same port: who may call it.
      operatorAuth: config.apiKeys.length > 0 ? "api keys" : "this host only",
      corsOrigins: config.corsOrigins,
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
    close: () => (closing ??= stop(http)),
  };
}

/** A gap as /status shows it: times in ISO form; the last error only to callers with details. */
function gapView(gap: Gap, detailed: boolean) {
  const iso = (ms: number | undefined) =>
    ms === undefined ? undefined : new Date(ms).toISOString();
  return {
    id: gap.id,
    channel: gap.channel,
    state: gap.state,
    cause: gap.cause,
    from: iso(gap.from),
    to: iso(gap.to),
    openedAt: iso(gap.openedAt),
    failures: gap.failures,
    ...(gap.reason ? { reason: gap.reason } : {}),
    ...(detailed && gap.lastError ? { lastError: gap.lastError } : {}),
  };
}
