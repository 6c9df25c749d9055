import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Meter } from "@opentelemetry/api";

/** Options of createMetricsInterceptor. */
export interface MetricsInterceptorOptions {
  meter: Meter;
  /** "server" counts calls received, "client" calls made. */
  kind: "client" | "server";
}

/**
 * Counts RPCs and measures their duration by method and code (`rpc.server.requests`,
 * `rpc.server.duration` in ms, or the `rpc.client.*` pair). A stream is measured until drained.
 */
export function createMetricsInterceptor(options: MetricsInterceptorOptions): Interceptor {
  const { meter, kind } = options;
  const requests = meter.createCounter(`rpc.${kind}.requests`, {
    description: "RPCs by method and code",
  });
  const duration = meter.createHistogram(`rpc.${kind}.duration`, {
    description: "RPC duration by method and code",
    unit: "ms",
  });
  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const record = (err?: unknown) => {
      const code = err === undefined ? "ok" : Code[ConnectError.from(err).code];
      const attributes = { "rpc.method": method, "rpc.code": code };
      requests.add(1, attributes);
      duration.record(performance.now() - started, attributes);
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        record();
        return res;
      }
      const messages = res.message;
      return {
        ...res,
        message: (async function* () {
          let error: unknown;
          try {
            yield* messages;
          } catch (err) {
            error = err;
            throw err;
          } finally {
            record(error);
          }
        })(),
      };
    } catch (err) {
      record(err);
      throw err;
    }
  };
}
