// There is no CORS middleware for plain Node servers, so this wraps the request handler.
import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequestHandler } from "./node-request-handler.js";
import { writeJson } from "./write-json.js";

/**
 * Request headers a browser may send: Connect's, plus authentication, trace context, and the
 * Last-Event-ID an EventSource resumes GET /runs:watch with (not safelisted: it is preflighted).
 */
export const corsAllowedHeaders: readonly string[] = [
  ...connectCors.allowedHeaders,
  "authorization",
  "traceparent",
  "tracestate",
  "last-event-id",
];

/** Response headers a browser may read: Connect's, plus the authentication challenge. */
export const corsExposedHeaders: readonly string[] = [
  ...connectCors.exposedHeaders,
  "www-authenticate",
];

/** Options of withCors. */
export interface CorsOptions {
  /** Origins allowed to call, e.g. "https://app.example.com"; "*" allows any. Empty: none. */
  origins: readonly string[];
  /** Methods a preflight allows; default Connect's (POST and GET). */
  methods?: readonly string[];
  /** How long a browser may cache a preflight answer; default 7200 s. */
  maxAgeSeconds?: number;
}

/**
 * Answers CORS preflights and adds CORS headers to responses for allowed origins. Requests from
 * other origins get no CORS headers (the browser then refuses them); requests without an Origin
 * header pass untouched.
 */
export function withCors(handler: NodeRequestHandler, options: CorsOptions): NodeRequestHandler {
  const anyOrigin = options.origins.includes("*");
  const origins = new Set(options.origins.map((origin) => origin.toLowerCase()));
  const methods = (options.methods ?? connectCors.allowedMethods).join(", ");
  const allowedHeaders = corsAllowedHeaders.join(", ");
  const exposedHeaders = corsExposedHeaders.join(", ");
  const maxAge = String(options.maxAgeSeconds ?? 7200);

  return function corsHandler(req, res): void {
    const origin = req.headers.origin;
    if (origin === undefined) {
      handler(req, res);
      return;
    }
    const allowed = anyOrigin || origins.has(origin.toLowerCase());
    const preflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    // Answers differ per origin, so caches must key on it.
    res.setHeader("vary", "origin");
    if (preflight) {
      if (!allowed) {
        writeJson(res, 403, {
          code: "permission_denied",
          message: `origin ${origin} is not allowed to call this server`,
        });
        return;
      }
      res.statusCode = 204;
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-allow-methods", methods);
      res.setHeader("access-control-allow-headers", allowedHeaders);
      res.setHeader("access-control-max-age", maxAge);
      res.end();
      return;
    }
    if (allowed) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-expose-headers", exposedHeaders);
    }
    handler(req, res);
  };
}
