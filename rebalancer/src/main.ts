// The composition root: the only place that reads the environment and picks adapters.
import { createLogger } from "@mesh/platform/logger";
import { createMetricsInterceptor } from "@mesh/platform/metrics-interceptor";
import { startTelemetry } from "@mesh/platform/telemetry";
import { createTracingInterceptor } from "@mesh/platform/tracing-interceptor";
import { startRebalancer } from "./app.js";
import type { Broker } from "./broker/broker.js";
import { createIbkrBroker } from "./broker/ibkr/ibkr-broker.js";
import { createSimBroker } from "./broker/sim/sim-broker.js";
import { ConfigError, readConfig } from "./config.js";

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const logger = createLogger({
    name: "rebalancer",
    level: config.logLevel,
    secrets: [config.allocationsApiKey, ...config.apiKeys],
  });
  const telemetry = startTelemetry({
    serviceName: "rebalancer",
    env: process.env,
    metricsPort: config.metricsPort,
    metricsHost: config.metricsHost,
  });
  let broker: Broker;
  if (config.broker.kind === "ibkr") {
    const { host, port, clientId } = config.broker;
    const ibkr = createIbkrBroker({ host, port, clientId, logger });
    broker = ibkr;
    logger.info({ host, port, clientId }, "connecting to IB Gateway / TWS");
  } else {
    broker = createSimBroker();
    logger.info("using the simulated broker (no IBKR_HOST set)");
  }
  if (config.apiKeys.length === 0 && !["127.0.0.1", "::1", "localhost"].includes(config.apiHost)) {
    logger.warn(
      { host: config.apiHost },
      "serving WITHOUT authentication on a non-loopback address",
    );
  }
  const rebalancer = await startRebalancer({
    accountsFile: config.accountsFile,
    dataDir: config.dataDir,
    tradingMode: config.tradingMode,
    host: config.apiHost,
    port: config.apiPort,
    apiKeys: config.apiKeys,
    openReads: config.openReads,
    corsOrigins: config.corsOrigins,
    broker,
    allocationsApiKey: config.allocationsApiKey,
    allocationsTimeoutMs: config.allocationsTimeoutMs,
    cancelTimeoutMs: config.cancelTimeoutMs,
    fillTimeoutMs: config.fillTimeoutMs,
    logger,
    meter: telemetry.meter,
    interceptors: [
      createTracingInterceptor({ kind: "server", tracer: telemetry.tracer }),
      createMetricsInterceptor({ kind: "server", meter: telemetry.meter }),
    ],
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, graceMs: config.shutdownGraceMs },
      "stopping: finishing running rebalances",
    );
    await rebalancer.close(config.shutdownGraceMs);
    await telemetry.shutdown();
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
