import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { SecureContextOptions } from "node:tls";
import { context, metrics, propagation, trace, type Meter, type Tracer } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { Logger } from "./logger.js";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";

/** Options of startTelemetry. */
export interface TelemetryOptions {
  /** service.name when OTEL_SERVICE_NAME is not set. */
  serviceName: string;
  /** The environment: the standard OTEL_* variables choose the exporter and the sampler. */
  env: NodeJS.ProcessEnv;
  /** Port of the Prometheus scrape endpoint (`/metrics`); undefined: no endpoint. */
  metricsPort?: number;
  /** Host of the scrape endpoint (unauthenticated); default loopback, 127.0.0.1. */
  metricsHost?: string;
  /** Serve the scrape endpoint over HTTPS with this certificate and key; default cleartext. */
  metricsTls?: SecureContextOptions;
  /** Export every span here at once instead of what the environment says (tests). */
  spanExporter?: SpanExporter;
  /**
   * Told once, as a warning, when the scrape endpoint cannot listen (its port in use, not
   * allowed); default stderr. The service goes on without metrics.
   */
  logger?: Pick<Logger, "warn">;
  /** The setting that chose metricsPort, named in that warning; default METRICS_PORT. */
  metricsPortVariable?: string;
}

/** Started telemetry: the tracer and meter to use, and how to flush and stop. */
export interface Telemetry {
  tracer: Tracer;
  meter: Meter;
  /** Under metricsTls: the certificate and key new scrape connections get. */
  setMetricsTls(tls: SecureContextOptions): void;
  /** Flushes and unregisters everything, so telemetry can be started again (tests). */
  shutdown(): Promise<void>;
}

function spanProcessor(options: TelemetryOptions): SpanProcessor | undefined {
  const { env } = options;
  if (options.spanExporter) return new SimpleSpanProcessor({ exporter: options.spanExporter });
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = env.OTEL_TRACES_EXPORTER || (endpoint ? "otlp" : "none");
  if (exporter === "otlp") return new BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  if (exporter === "console")
    return new BatchSpanProcessor({ exporter: new ConsoleSpanExporter() });
  return undefined;
}

/**
 * Starts OpenTelemetry for a service: spans go to OTLP (Jaeger) when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set, to the console with OTEL_TRACES_EXPORTER=console, and nowhere otherwise (tracing off;
 * incoming trace context is still passed on). Metrics are served for Prometheus when a port is
 * given. W3C trace context is the propagator unless OTEL_PROPAGATORS says otherwise.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const processor = spanProcessor(options);
  const prometheus =
    options.metricsPort === undefined
      ? undefined
      : new PrometheusExporter({
          port: options.metricsPort,
          host: options.metricsHost ?? "127.0.0.1",
          // The exporter's own server would fail silently on a port in use: ours says so.
          preventServerStart: true,
        });
  let metricsServer: HttpServer | HttpsServer | undefined;
  if (prometheus) {
    const exporter = prometheus;
    const serve = (req: IncomingMessage, res: ServerResponse) => {
      if ((req.url ?? "").split("?", 1)[0] === "/metrics") {
        exporter.getMetricsRequestHandler(req, res);
      } else {
        res.writeHead(404).end();
      }
    };
    const server = options.metricsTls
      ? createHttpsServer(options.metricsTls, serve)
      : createHttpServer(serve);
    const host = options.metricsHost ?? "127.0.0.1";
    const variable = options.metricsPortVariable ?? "METRICS_PORT";
    server.once("error", (error: NodeJS.ErrnoException) => {
      const problem =
        error.code === "EADDRINUSE"
          ? `port ${options.metricsPort} is in use`
          : `cannot listen on ${host}:${options.metricsPort}: ${error.message}`;
      const advice = `set ${variable} to a free port, or ${variable}=0 to turn metrics off`;
      const fields = { port: options.metricsPort, variable, code: error.code };
      const message = `metrics endpoint not served: ${problem} (${variable}); ${advice}`;
      if (options.logger) options.logger.warn(fields, message);
      else process.stderr.write(`${message}\n`);
    });
    server.listen(options.metricsPort, host);
    metricsServer = server;
  }
  const sdk = new NodeSDK({
    serviceName: options.env.OTEL_SERVICE_NAME || options.serviceName,
    spanProcessors: processor ? [processor] : [],
    metricReaders: prometheus ? [prometheus] : [],
    // Logs go through pino, not the OpenTelemetry logs API: no log exporter.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer(options.serviceName),
    meter: metrics.getMeter(options.serviceName),
    setMetricsTls(tls) {
      if (metricsServer && "setSecureContext" in metricsServer) metricsServer.setSecureContext(tls);
    },
    async shutdown() {
      if (metricsServer?.listening) metricsServer.close();
      metricsServer?.closeAllConnections();
      await sdk.shutdown();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
