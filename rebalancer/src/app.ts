import { hostname } from "node:os";
import { join } from "node:path";
import type { SecureContextOptions } from "node:tls";
import { fileURLToPath } from "node:url";
import { loadAccounts, type AccountType } from "@mesh/platform/accounts";
import type { DatabaseUrl } from "@mesh/platform/database-url";
import { createLogger, type Logger } from "@mesh/platform/logger";
import { createSecretRedactor } from "@mesh/platform/secret-redactor";
import { createNotificationSender } from "@mesh/platform/notify/notification-sender";
import { createNotifyMetrics } from "@mesh/platform/notify/notify-metrics";
import type { NotifyOptions } from "@mesh/platform/notify/notify-options";
import { openPostgresNotificationOutbox } from "@mesh/platform/notify/postgres-notification-outbox";
import { openSqliteNotificationOutbox } from "@mesh/platform/notify/sqlite-notification-outbox";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Meter } from "@opentelemetry/api";
import { createAccountGate } from "./accounts/account-gate.js";
import { checkAllocationFiles } from "./allocations/check-allocation-files.js";
import { createAllocationProvider } from "./allocations/allocation-provider.js";
import { redactingAllocations } from "./allocations/redacting-allocations.js";
import { createFileAllocations } from "./allocations/file-allocations.js";
import { createHttpAllocations } from "./allocations/http-allocations.js";
import type { Broker } from "./broker/broker.js";
import { createSimBroker } from "./broker/sim/sim-broker.js";
import { traceBroker } from "./broker/traced-broker.js";
import { createRunMetrics } from "./run-metrics.js";
import type { AccountLeases } from "./runs/account-leases.js";
import { createPostgresAccountLeases } from "./runs/postgres-account-leases.js";
import { openPostgresRunStore } from "./runs/postgres-run-store.js";
import type { RunStore } from "./runs/run-store.js";
import { withJournalFeed } from "./runs/journal-feed.js";
import { createSqliteRunStore } from "./runs/sqlite-run-store.js";
import { createRunCoordinator } from "./runs/run-coordinator.js";
import { notifyingRunStore } from "./runs/notifying-run-store.js";
import { createApiServer } from "./server/api-server.js";
import type { OnePortTlsOptions } from "@mesh/platform/server/one-port-server";
import type { ComponentProbe } from "./server/health-report.js";
import { createRebalancerService } from "./service/rebalancer-service.js";
import type { ForeignOpenOrders } from "./execution/execution-deps.js";

/** Options of startRebalancer. Read from the environment by main.ts; passed directly by tests. */
export interface RebalancerAppOptions {
  /** Path of accounts.yaml; no default. */
  accountsFile: string;
  /** Folder of the SQLite run store (runs.sqlite); no default. */
  dataDir: string;
  /**
   * PostgreSQL shared by replicas, holding the runs instead of dataDir's SQLite file, with
   * per-account leases across replicas and takeover of a dead replica's runs; default unset.
   */
  databaseUrl?: DatabaseUrl;
  /** With databaseUrl: this replica's name in the account leases; default host:pid. */
  replica?: string;
  /** With databaseUrl: this replica's broker client id (IBKR_CLIENT_ID); default 0. */
  brokerClient?: number;
  /**
   * With databaseUrl: how long an account's lease outlives its replica, ms; renewed every third
   * of it, and runs whose lease expired are looked for as often. Default 10000.
   */
  accountLeaseMs?: number;
  /**
   * With databaseUrl: a broker connected as another client id, resolved once connected, for a run
   * taken over from the replica of that client id. Default none: taken-over runs use `broker`.
   */
  brokerForClient?: (clientId: number) => Promise<Broker>;
  /** paper (default) or live. */
  tradingMode?: AccountType;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0: any free port. */
  port?: number;
  /** Bearer keys; empty (default) turns authentication off. A function is asked per request. */
  apiKeys?: string[] | (() => readonly string[]);
  /** Let reads through without a key; default false. */
  openReads?: boolean;
  /** Browser origins allowed to call the API (CORS); default none. */
  corsOrigins?: string[];
  /** The broker; default a simulated broker on the bundled example accounts. */
  broker?: Broker;
  /** Sent to the allocation API; never logged. A function is asked per request; default none. */
  allocationsApiKey?: string | (() => string | undefined);
  /** Allocation API timeout; default 30 s. */
  allocationsTimeoutMs?: number;
  /** How long to wait for open orders to be cancelled before a run; default 60 s. */
  cancelTimeoutMs?: number;
  /** How long to wait for a phase's orders to fill; default 300 s. */
  fillTimeoutMs?: number;
  /**
   * A run that stopped is resumed (at start, or when its broker link returns) only if accepted
   * less than this long ago; default 30 minutes.
   */
  resumeMaxAgeMs?: number;
  /** How long a run whose broker link dropped waits for it to come back, then resumes; 0 fails at once. Default 2 minutes. */
  reconnectWindowMs?: number;
  /** Other clients' open orders: "refuse" (default) or "ignore_untraded_symbols". */
  foreignOpenOrders?: ForeignOpenOrders;
  /** Where the rebalancer logs; default silent. */
  logger?: Logger;
  /** Connect interceptors for every RPC on every protocol (tracing, metrics); default none. */
  interceptors?: Interceptor[];
  /** Meter for the run, order and broker metrics; default none. */
  meter?: Meter;
  /** The clock; default the system's. */
  now?: () => Date;
  /** Folder of the built web console served at /console/; default this repository's console/dist. */
  consoleDir?: string;
  /** The subscriber's URL as a browser reaches it, for the console; default none. */
  consoleSubscriberUrl?: string;
  /** Serve HTTPS, optionally requiring client certificates; default cleartext. */
  tls?: OnePortTlsOptions;
  /** How long a WatchRuns stream stays quiet before it tells where it stands; default 30 s. */
  watchHeartbeatMs?: number;
  /** More components in the health report, e.g. reloaded credentials; default none. */
  components?: ComponentProbe[];
  /**
   * Who hears about live runs that ended (and dry runs with `dryRuns`), through an outbox in
   * dataDir/notifications.sqlite, or with databaseUrl in the shared database; default nobody.
   */
  notify?: NotifyOptions;
}

/** A running rebalancer. */
export interface RunningRebalancer {
  /** e.g. http://127.0.0.1:8000 (https under TLS). */
  url: string;
  /** The port listened on (the one picked when asked for 0). */
  port: number;
  /**
   * Stops accepting, lets running rebalances finish for up to `graceMs`, hands over those still
   * going (left to be resumed by the next start), then closes. Resolves with the handed-over
   * run ids ([] when every run finished).
   */
  close(graceMs?: number): Promise<{ handedOver: string[] }>;
  /** Under TLS: the certificate and key new connections get. */
  setSecureContext(secureContext: SecureContextOptions): void;
}

/** Wires the rebalancer together and serves it. */
export async function startRebalancer(options: RebalancerAppOptions): Promise<RunningRebalancer> {
  const logger = options.logger ?? createLogger({ name: "rebalancer", level: "silent" });
  const tradingMode = options.tradingMode ?? "paper";
  const accounts = loadAccounts(options.accountsFile);
  await checkAllocationFiles(accounts.accounts);
  const broker = traceBroker(options.broker ?? createSimBroker());
  const { databaseUrl } = options;
  const accountLeaseMs = options.accountLeaseMs ?? 10_000;
  let leases: AccountLeases | undefined;
  let runStore: RunStore;
  if (databaseUrl) {
    const fence = { held: () => leases?.held() ?? [] };
    const shared = await openPostgresRunStore(databaseUrl, { fence, logger });
    leases = createPostgresAccountLeases({
      pool: shared.pool,
      replica: options.replica ?? `${hostname()}:${process.pid}`,
      brokerClient: options.brokerClient ?? 0,
      leaseMs: accountLeaseMs,
      logger,
    });
    runStore = shared;
    logger.info(
      { database: databaseUrl.shown, replica: leases.replica, accountLeaseMs },
      "runs on PostgreSQL, shared by replicas",
    );
  } else {
    runStore = createSqliteRunStore(join(options.dataDir, "runs.sqlite"));
  }
  const notify = options.notify;
  // The outbox lives with the runs: a SQLite file, or the PostgreSQL the replicas share, so a
  // notification recorded by a replica that died is still sent by another.
  const outbox = notify?.targets.length
    ? databaseUrl
      ? await openPostgresNotificationOutbox(databaseUrl.url)
      : openSqliteNotificationOutbox(join(options.dataDir, "notifications.sqlite"))
    : undefined;
  const sender =
    outbox &&
    createNotificationSender({
      ...notify,
      outbox,
      targets: notify!.targets,
      logger: logger.child({ component: "notify" }),
      metrics: options.meter && createNotifyMetrics(options.meter, "rebalancer"),
    });
  // Links need the console's address: configured, else the server's once it listens.
  let consoleBase =
    notify?.consoleUrl ??
    `${options.tls ? "https" : "http"}://${options.host ?? "127.0.0.1"}:${options.port ?? 0}`;
  const fencedBy = leases;
  // Watches are woken by every event the journal records, notified or not.
  const { store, feed, grown } = withJournalFeed(
    sender
      ? notifyingRunStore(runStore, {
          enqueue: (notification) => sender.enqueue(notification),
          dryRuns: notify?.dryRuns,
          consoleBase: () => consoleBase,
          ...(fencedBy && { owns: (run) => fencedBy.holds(run.accountId) }),
          logger,
        })
      : runStore,
  );
  // Replicas: events other replicas record wake this one's watches when the journal's last
  // position moves (one small query every half second).
  let seenPosition = 0;
  const otherReplicas =
    databaseUrl &&
    setInterval(() => {
      runStore.lastPosition().then(
        (position) => {
          if (position <= seenPosition) return;
          seenPosition = position;
          grown();
        },
        () => undefined,
      );
    }, 500);
  if (otherReplicas) otherReplicas.unref();
  const { allocationsApiKey, apiKeys } = options;
  const secrets = createSecretRedactor(() => [
    typeof allocationsApiKey === "function" ? allocationsApiKey() : allocationsApiKey,
    ...(typeof apiKeys === "function" ? apiKeys() : (apiKeys ?? [])),
  ]);
  const allocations = redactingAllocations(
    createAllocationProvider({
      http: createHttpAllocations({
        apiKey: options.allocationsApiKey,
        timeoutMs: options.allocationsTimeoutMs,
      }),
      file: createFileAllocations(),
    }),
    secrets,
  );
  const metrics = options.meter ? createRunMetrics(options.meter, broker) : undefined;
  const gate = createAccountGate({ accounts: accounts.accounts, tradingMode });
  const execution = {
    broker,
    allocations,
    now: options.now ?? (() => new Date()),
    cancelTimeoutMs: options.cancelTimeoutMs,
    fillTimeoutMs: options.fillTimeoutMs,
    foreignOpenOrders: options.foreignOpenOrders,
    resumeMaxAgeMs: options.resumeMaxAgeMs,
    reconnectWindowMs: options.reconnectWindowMs,
    metrics,
  };
  const { brokerForClient } = options;
  const coordinator = createRunCoordinator({
    store,
    gate,
    logger,
    metrics,
    execution,
    leases,
    takeoverExecution:
      brokerForClient &&
      (async (clientId) => {
        const other = traceBroker(await brokerForClient(clientId));
        logger.info({ clientId }, "connected as the broker client of a run taken over");
        return { execution: { ...execution, broker: other }, close: () => other.close() };
      }),
  });
  // Before serving: a retried request for a run left running then follows it as it resumes.
  // Replicas: only the runs of accounts no replica holds (another's runs are its own).
  const resumed = await (leases ? coordinator.takeOver() : coordinator.recover());
  if (resumed > 0) logger.warn({ resumed }, "resuming runs left running by the last stop");
  // Replicas: runs whose replica's lease expired are looked for every third of the lease.
  const takeovers =
    leases &&
    setInterval(
      () =>
        void coordinator.takeOver().then(
          (n) => n > 0 && logger.warn({ takenOver: n }, "took over runs of a replica gone"),
          (err: unknown) => logger.warn({ err }, "takeover scan failed"),
        ),
      Math.max(100, Math.floor(accountLeaseMs / 3)),
    );

  const probes: ComponentProbe[] = [
    {
      name: "broker",
      check: () => ({ ok: broker.health().connected, detail: broker.health().detail }),
    },
    { name: "allocations", check: () => allocations.health() },
    { name: "store", check: () => store.health() },
    ...(options.components ?? []),
  ];
  const stopping = new AbortController();
  const service = createRebalancerService({
    accounts,
    tradingMode,
    gate,
    broker,
    allocations,
    store,
    feed,
    stopWatches: stopping.signal,
    watchHeartbeatMs: options.watchHeartbeatMs,
    coordinator,
  });
  const server = createApiServer({
    service,
    components: probes,
    apiKeys: options.apiKeys ?? [],
    openReads: options.openReads,
    corsOrigins: options.corsOrigins,
    interceptors: options.interceptors,
    logger,
    consoleDir:
      options.consoleDir ?? fileURLToPath(new URL("../../console/dist/", import.meta.url)),
    consoleSubscriberUrl: options.consoleSubscriberUrl,
    tls: options.tls,
  });
  const { port, url } = await server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  if (!notify?.consoleUrl) consoleBase = publicUrl(url);
  logger.info(
    { url, tradingMode, broker: broker.name, accounts: accounts.accounts.length },
    "serving",
  );

  return {
    url,
    port,
    setSecureContext: (secureContext) => server.setSecureContext(secureContext),
    async close(graceMs = 30_000) {
      // Watches end at once, telling watchers to resume (elsewhere, or after the restart).
      stopping.abort(
        new ConnectError(
          "the rebalancer is stopping; watch again with your last resume_token",
          Code.Unavailable,
        ),
      );
      // New runs are refused at once; running ones get the grace period, streamed or not.
      const drained = coordinator.drain(graceMs);
      await server.close(graceMs);
      const handedOver = await drained;
      if (handedOver.length > 0) {
        logger.warn(
          { handedOver },
          "runs still going after the grace period were handed over: the next start resumes them",
        );
      }
      clearInterval(takeovers);
      clearInterval(otherReplicas);
      await leases?.close();
      await broker.close();
      await store.close();
      // Last: runs ending during the drain recorded their notifications; the rest wait in it.
      await sender?.close();
      await outbox?.close();
      return { handedOver };
    },
  };
}

/** The server's URL as others reach it: a wildcard address becomes this host's name. */
function publicUrl(url: string): string {
  const parsed = new URL(url);
  if (["0.0.0.0", "[::]"].includes(parsed.hostname)) parsed.hostname = hostname();
  return parsed.origin;
}
