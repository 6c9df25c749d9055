import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";

/** Options of createTracingInterceptor. */
export interface TracingInterceptorOptions {
  /** client: starts a CLIENT span and injects its context; server: extracts and starts SERVER. */
  kind: "client" | "server";
  tracer: Tracer;
}

const headerSetter = {
  set: (carrier: Headers, key: string, value: string) => carrier.set(key, value),
};
const headerGetter = {
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
  keys: (carrier: Headers) => [...carrier.keys()],
};

/** The RPC system by content type: HTTP/2 is not instrumented, so spans must say it. */
function rpcSystem(header: Headers): string {
  const type = header.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc_web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect_rpc";
}

function end(span: Span, err?: unknown): void {
  if (err !== undefined) {
    const error = ConnectError.from(err);
    span.recordException(error);
    span.setAttribute("rpc.connect_rpc.error_code", Code[error.code]);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.rawMessage });
  }
  span.end();
}

/** Keeps each pull of a stream inside the span's context, and ends the span once drained. */
async function* traced<T>(messages: AsyncIterable<T>, span: Span, ctx: Context): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let error: unknown;
  try {
    for (;;) {
      const next = await context.with(ctx, () => iterator.next());
      if (next.done) return;
      yield next.value;
    }
  } catch (err) {
    error = err;
    throw err;
  } finally {
    // Also reached when the consumer stops early: the span still ends.
    end(span, error);
    if (error === undefined) await iterator.return?.();
  }
}

/**
 * OpenTelemetry for Connect, on every protocol and for streams: W3C trace context travels in the
 * request headers, and each call gets a span named `package.Service/Method` with the RPC
 * semantic-convention attributes and the error code when it fails.
 */
export function createTracingInterceptor(options: TracingInterceptorOptions): Interceptor {
  const { tracer, kind } = options;
  return (next) => async (req) => {
    const parent =
      kind === "server"
        ? propagation.extract(context.active(), req.header, headerGetter)
        : context.active();
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: kind === "server" ? SpanKind.SERVER : SpanKind.CLIENT,
        attributes: {
          "rpc.system": rpcSystem(req.header),
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    if (kind === "client") propagation.inject(ctx, req.header, headerSetter);
    try {
      const res = await context.with(ctx, () => next(req));
      if (!res.stream) {
        end(span);
        return res;
      }
      return { ...res, message: traced(res.message, span, ctx) };
    } catch (err) {
      end(span, err);
      throw err;
    }
  };
}
