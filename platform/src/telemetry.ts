import { context, metrics, propagation, trace, type Meter, type Tracer } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { NodeSDK } from "@opentelemetry/sdk-node";
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
  /** Export every span here at once instead of what the environment says (tests). */
  spanExporter?: SpanExporter;
}

/** Started telemetry: the tracer and meter to use, and how to flush and stop. */
export interface Telemetry {
  tracer: Tracer;
  meter: Meter;
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
        });
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
    async shutdown() {
      await sdk.shutdown();
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
