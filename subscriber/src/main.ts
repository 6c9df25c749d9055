import { AccountsFileError } from "@mesh/platform/accounts";
import { ConfigError } from "@mesh/platform/config-error";
import { createLogger } from "@mesh/platform/logger";
import { createMetricsInterceptor } from "@mesh/platform/metrics-interceptor";
import { startTelemetry } from "@mesh/platform/telemetry";
import { readTlsFiles } from "@mesh/platform/tls-files";
import { createTracingInterceptor } from "@mesh/platform/tracing-interceptor";
import { startSubscriber } from "./app.js";
import { loadConfig } from "./config.js";
import { InboxUnavailableError } from "./inbox/open-inbox.js";

// The composition root: the only place that reads the environment.
try {
  const config = loadConfig(process.env);
  const logger = createLogger({
    name: "subscriber",
    level: config.logLevel,
    ...(config.logFormat ? { pretty: config.logFormat === "pretty" } : {}),
    // Tokens and credentials in NOTIFY_URLS never reach a log line.
    ...(config.notify ? { secrets: config.notify.targets.flatMap((t) => t.secrets) } : {}),
  });
  const telemetry = startTelemetry({
    serviceName: "subscriber",
    env: process.env,
    logger,
    metricsPort: config.metricsPort,
    metricsHost: config.metricsHost,
    metricsTls: config.tls && readTlsFiles(config.tls),
  });
  const subscriber = await startSubscriber(config, {
    logger,
    tracer: telemetry.tracer,
    meter: telemetry.meter,
    onServerTls: (tls) => telemetry.setMetricsTls(tls),
    serverInterceptors: [
      createTracingInterceptor({ kind: "server", tracer: telemetry.tracer }),
      createMetricsInterceptor({ kind: "server", meter: telemetry.meter }),
    ],
    interceptors: [
      createTracingInterceptor({ kind: "client", tracer: telemetry.tracer }),
      createMetricsInterceptor({ kind: "client", meter: telemetry.meter }),
    ],
  });
  const stop = (signal: string) => {
    logger.info({ signal }, "stopping");
    subscriber
      .close()
      // Flushes the spans of the last deliveries before exiting.
      .then(() => telemetry.shutdown())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on("SIGHUP", () => {
    logger.info({ signal: "SIGHUP" }, "re-reading keys and certificates");
    subscriber.reload();
  });
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
} catch (err) {
  if (err instanceof ConfigError || err instanceof AccountsFileError) {
    process.stderr.write(`subscriber: ${err.message}\n`);
    process.exit(2);
  }
  // Start-up failures an operator fixes (a port taken, a directory not writable, the inbox's
  // database unreachable, refusing the login or missing): one line.
  const code = (err as NodeJS.ErrnoException).code;
  if (
    err instanceof InboxUnavailableError ||
    (code && ["EADDRINUSE", "EACCES", "EADDRNOTAVAIL", "ENOTDIR", "EROFS", "EPERM"].includes(code))
  ) {
    process.stderr.write(`subscriber: cannot start: ${(err as Error).message}\n`);
    process.exit(2);
  }
  throw err;
}
