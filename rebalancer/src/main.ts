// The composition root: the only place that reads the environment and picks adapters.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@mesh/platform/config-error";
import { createKeyRing } from "@mesh/platform/key-ring";
import { createLogger } from "@mesh/platform/logger";
import { parseKeyList } from "@mesh/platform/parse-key-list";
import { createReloadable, type Reloadable } from "@mesh/platform/reloadable";
import { readTlsFiles, tlsFilePaths } from "@mesh/platform/tls-files";
import { createMetricsInterceptor } from "@mesh/platform/metrics-interceptor";
import { startTelemetry } from "@mesh/platform/telemetry";
import { createTracingInterceptor } from "@mesh/platform/tracing-interceptor";
import { startRebalancer } from "./app.js";
import type { Broker } from "./broker/broker.js";
import { createIbkrBroker } from "./broker/ibkr/ibkr-broker.js";
import { createSimBroker } from "./broker/sim/sim-broker.js";
import { isLoopback, readConfig } from "./config.js";
import type { ComponentProbe } from "./server/health-report.js";

/**
 * The exit code of a stop that handed runs over (EX_TEMPFAIL): the process stopped cleanly, but
 * runs it could not finish within SHUTDOWN_GRACE_SECONDS wait for the next start to resume them.
 */
const exitHandedOver = 75;

async function main(): Promise<void> {
  const config = readConfig(process.env);
  // Replaced by rotating sources below when the keys come from files.
  let apiKeys: string[] | (() => readonly string[]) = config.apiKeys;
  let allocationsApiKey: string | (() => string | undefined) | undefined = config.allocationsApiKey;
  const logger = createLogger({
    name: "rebalancer",
    level: config.logLevel,
    pretty: config.logFormat === "pretty",
    // Asked again on every line, so rotated keys are redacted too.
    secrets: () => [
      typeof allocationsApiKey === "function" ? allocationsApiKey() : allocationsApiKey,
      ...(typeof apiKeys === "function" ? apiKeys() : apiKeys),
      ...config.notify.targets.flatMap((target) => target.secrets),
    ],
  });
  const telemetry = startTelemetry({
    serviceName: "rebalancer",
    env: process.env,
    logger,
    metricsPort: config.metricsPort,
    metricsHost: config.metricsHost,
    // The scrape endpoint takes the API's certificate, without requiring client certificates.
    metricsTls:
      config.tls && readTlsFiles({ certFile: config.tls.certFile, keyFile: config.tls.keyFile }),
  });
  let broker: Broker;
  let brokerForClient: ((clientId: number) => Promise<Broker>) | undefined;
  if (config.broker.kind === "ibkr") {
    const { host, port, clientId, informationalCodes, heartbeatIntervalMs, heartbeatTimeoutMs } =
      config.broker;
    const ibkr = createIbkrBroker({
      host,
      port,
      clientId,
      informationalCodes,
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      logger,
    });
    broker = ibkr;
    logger.info({ host, port, clientId }, "connecting to IB Gateway / TWS");
    // A run taken over from another replica goes on as that replica's client id: only the client
    // that placed an order is told of its fills and may cancel it (rebalancer/README.md).
    brokerForClient = async (otherClientId) => {
      const other = createIbkrBroker({
        host,
        port,
        clientId: otherClientId,
        informationalCodes,
        heartbeatIntervalMs,
        heartbeatTimeoutMs,
        logger: logger.child({ takeoverClientId: otherClientId }),
      });
      try {
        await other.ready();
        return other;
      } catch (err) {
        await other.close();
        throw err;
      }
    };
  } else {
    const { fillDelayMs, fillParts, rejectSymbols } = config.broker;
    const ledgerFile = join(config.dataDir, "sim-ledger.sqlite");
    broker = createSimBroker({
      ledgerFile,
      fillDelayMs,
      fillParts,
      rejections: Object.fromEntries(
        rejectSymbols.map((s) => [
          s,
          `${s}: rejected by the simulated broker (SIM_REJECT_SYMBOLS)`,
        ]),
      ),
    });
    logger.info(
      { ledgerFile, fillDelayMs, fillParts, rejectSymbols },
      "using the simulated broker (no IBKR_HOST set)",
    );
  }
  if (config.apiKeys.length === 0 && !["127.0.0.1", "::1", "localhost"].includes(config.apiHost)) {
    logger.warn(
      { host: config.apiHost },
      "serving WITHOUT authentication on a non-loopback address",
    );
  }
  // Credentials re-read from their files when they change (mounted secrets) or on SIGHUP.
  const reloadables: Reloadable<unknown>[] = [];
  const credentialProbes: ComponentProbe[] = [];
  const reloadable = <T>(
    probeName: string,
    options: Parameters<typeof createReloadable<T>>[0],
  ): Reloadable<T> => {
    const material = createReloadable({ ...options, logger });
    reloadables.push(material);
    // A failed reload keeps the previous material working: reported, not NOT_SERVING.
    credentialProbes.push({
      name: probeName,
      check: () => ({ ok: true, detail: material.health().detail }),
    });
    return material;
  };
  if (config.apiKeysFile !== undefined) {
    const file = config.apiKeysFile;
    const ring = createKeyRing({ keys: config.apiKeys, overlapMs: config.apiKeyOverlapMs });
    reloadable<string[]>("api-keys", {
      name: "API keys",
      files: [file],
      load: () => {
        const keys = parseKeyList(readFileSync(file, "utf8"));
        if (keys.length === 0 && config.apiKeys.length > 0) {
          throw new Error(`${file} has no key; an empty file must not turn authentication off`);
        }
        return keys;
      },
      onReload: (keys) => ring.replace(keys),
    });
    apiKeys = () => ring.accepted();
  }
  if (config.allocationsApiKeyFile !== undefined) {
    const file = config.allocationsApiKeyFile;
    const key = reloadable<string | undefined>("allocations-api-key", {
      name: "allocation API key",
      files: [file],
      load: () => readFileSync(file, "utf8").replace(/\r?\n$/, "") || undefined,
    });
    allocationsApiKey = () => key.current();
  }
  const tlsFiles = config.tls && {
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    caFile: config.tls.clientCaFile,
  };
  let onCertificate = (_: ReturnType<typeof readTlsFiles>): void => undefined;
  const certificate =
    tlsFiles &&
    reloadable("tls-certificate", {
      name: "TLS certificate",
      files: tlsFilePaths(tlsFiles),
      load: () => readTlsFiles(tlsFiles),
      onReload: (secureContext) => onCertificate(secureContext),
    });
  if (config.tls === undefined && config.apiKeys.length > 0 && !isLoopback(config.apiHost)) {
    logger.warn(
      { host: config.apiHost },
      "ALLOW_PLAINTEXT=true: API keys travel in clear text on a non-loopback address",
    );
  }
  logger.info(
    {
      tls: config.tls ? (config.tls.clientCaFile ? "mtls" : "tls") : "off",
      allowPlaintext: config.allowPlaintext,
    },
    "transport security",
  );
  const rebalancer = await startRebalancer({
    accountsFile: config.accountsFile,
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    replica: config.replica,
    brokerClient: config.broker.kind === "ibkr" ? config.broker.clientId : 0,
    accountLeaseMs: config.accountLeaseMs,
    brokerForClient,
    tradingMode: config.tradingMode,
    host: config.apiHost,
    port: config.apiPort,
    apiKeys,
    openReads: config.openReads,
    corsOrigins: config.corsOrigins,
    consoleSubscriberUrl: config.consoleSubscriberUrl,
    broker,
    allocationsApiKey,
    tls: certificate && {
      secureContext: certificate.current(),
      requireClientCertificate: config.tls?.clientCaFile !== undefined,
    },
    components: credentialProbes,
    allocationsTimeoutMs: config.allocationsTimeoutMs,
    cancelTimeoutMs: config.cancelTimeoutMs,
    fillTimeoutMs: config.fillTimeoutMs,
    resumeMaxAgeMs: config.resumeMaxAgeMs,
    reconnectWindowMs: config.reconnectWindowMs,
    foreignOpenOrders: config.foreignOpenOrders,
    notify: {
      targets: config.notify.targets,
      dryRuns: config.notify.dryRuns,
      consoleUrl: config.notify.consoleUrl,
      maxRetryDelayMs: config.notify.maxRetryDelayMs,
    },
    logger,
    meter: telemetry.meter,
    interceptors: [
      createTracingInterceptor({ kind: "server", tracer: telemetry.tracer }),
      createMetricsInterceptor({ kind: "server", meter: telemetry.meter }),
    ],
  });
  onCertificate = (secureContext) => {
    rebalancer.setSecureContext(secureContext);
    telemetry.setMetricsTls({ cert: secureContext.cert, key: secureContext.key });
  };
  process.on("SIGHUP", () => {
    logger.info("SIGHUP: re-reading keys and certificates");
    for (const material of reloadables) material.reload();
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, graceMs: config.shutdownGraceMs },
      "stopping: finishing running rebalances",
    );
    for (const material of reloadables) material.close();
    const { handedOver } = await rebalancer.close(config.shutdownGraceMs);
    await telemetry.shutdown();
    if (handedOver.length > 0) {
      logger.warn({ handedOver }, `stopped with runs handed over (exit ${exitHandedOver})`);
      process.exit(exitHandedOver);
    }
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  // Configuration and start-up errors: say what is wrong and exit non-zero.
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  console.error(`rebalancer failed to start: ${message}`);
  process.exit(1);
});
