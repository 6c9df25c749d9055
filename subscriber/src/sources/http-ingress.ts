import { timingSafeEqual } from "node:crypto";
import type { SecureContextOptions } from "node:tls";
import type { Logger } from "@mesh/platform/logger";
import type {
  NodeRequest as IncomingMessage,
  NodeRequestHandler,
  NodeResponse as ServerResponse,
} from "@mesh/platform/server/node-request-handler";
import { createOnePortServer } from "@mesh/platform/server/one-port-server";
import { context, propagation } from "@opentelemetry/api";
import { publicHealth, type HealthReport } from "../health/health-report.js";
import type { Intake, IntakeResult } from "../intake/intake.js";
import { readAblyWebhook, verifyAblySignature } from "./ably-webhook.js";

/** Options of startHttpIngress. */
export interface HttpIngressOptions {
  /** Address to listen on, e.g. 127.0.0.1 or 0.0.0.0; required, no default. */
  host: string;
  /** Port to listen on; 0 picks a free one; required, no default. */
  port: number;
  /** Records the messages of webhooks and `/events/{channel}`; required, no default. */
  intake: Intake;
  /** Secret checking X-Ably-Signature; default none (unsigned requests are accepted). */
  webhookKey?: string;
  /** The body of GET /status; `detailed` adds reasons, errors and addresses; required. */
  status(detailed: boolean): Promise<unknown>;
  /**
   * Key whose `Authorization: Bearer <key>` shows details (health problems and warnings, last
   * errors, addresses) in /health and /status. Default none: callers on loopback see them, no
   * one else.
   */
  detailsKey?: string;
  /**
   * The report GET /health answers: 200 when ok or degraded (events are still taken in), 503
   * when failing; required, no default.
   */
  health(): Promise<HealthReport>;
  /** Receives failed requests and webhook junk; required, no default. */
  logger: Logger;
  /** Serve HTTPS with this certificate and key; default cleartext HTTP. */
  tls?: SecureContextOptions;
  /**
   * Serves RPCs on the same port (the subscriber's own service, health, reflection), handing
   * every other request to the ingress; default none (the ingress alone).
   */
  rpc?: (ingress: NodeRequestHandler) => NodeRequestHandler;
}

/** The HTTP server, listening. */
export interface HttpIngress {
  port: number;
  url: string;
  /** Under TLS: the certificate and key new connections get. */
  setSecureContext(tls: SecureContextOptions): void;
  close(): Promise<void>;
}

const maxBody = 1024 * 1024;

/** How long requests in flight may finish when the ingress closes, ms. */
const closeGraceMs = 1000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serves the webhook ingress (`POST /webhooks/ably`, Ably enveloped batches; `POST
 * /events/{channel}`, a bare payload), `GET /status` and `GET /health`. A message is answered
 * only after the inbox recorded it, so a 2xx means it will not be lost. HTTP/1.1 and HTTP/2 on
 * one port, so gRPC clients reach the RPCs of `rpc` there too.
 */
export async function startHttpIngress(options: HttpIngressOptions): Promise<HttpIngress> {
  const { intake, logger, webhookKey } = options;

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      throw new HttpProblem(400, "the request target is not a valid URL");
    }
    if (req.method === "GET" && path === "/health") {
      const report = await options.health();
      return json(
        res,
        report.status === "failing" ? 503 : 200,
        detailed(req) ? report : publicHealth(report),
      );
    }
    if (req.method === "GET" && path === "/status") {
      return json(res, 200, await options.status(detailed(req)));
    }
    if (req.method === "POST" && path === "/webhooks/ably") {
      const body = await readBody(req);
      authorize(req, body, false);
      const read = readAblyWebhook(body);
      if (!read.ok) throw new HttpProblem(read.status, read.reason);
      const results = [];
      for (const message of read.messages)
        results.push(intakeAnswer(await intake.receive(message)));
      if (read.junk.length > 0) logger.warn({ junk: read.junk.slice(0, 10) }, "webhook junk");
      // 200 even with junk: the valid messages are recorded, and a resend would not help.
      return json(res, 200, { received: results.length, results, junk: read.junk });
    }
    const event = /^\/events\/([^/]+)$/.exec(path);
    if (req.method === "POST" && event) {
      let channel: string;
      try {
        channel = decodeURIComponent(event[1]!);
      } catch {
        throw new HttpProblem(400, "the channel in the path is not valid %-encoding");
      }
      const body = await readBody(req);
      authorize(req, body, isLoopback(req));
      let data: string;
      try {
        data = utf8.decode(body);
      } catch {
        throw new HttpProblem(400, "the body is not valid UTF-8");
      }
      const id = header(req, "idempotency-key") ?? header(req, "x-event-id");
      const result = await intake.receive({
        channel,
        ...(id ? { messageId: id } : {}),
        data,
        source: "http",
      });
      // Recorded either way; 409 and 422 tell a human caller the payload will not run.
      return json(res, result.conflict ? 409 : result.rejected ? 422 : 202, intakeAnswer(result));
    }
    throw new HttpProblem(404, `no route for ${req.method} ${path.slice(0, 200)}`);
  };

  const detailed = (req: IncomingMessage) => {
    if (!options.detailsKey) return isLoopback(req);
    const given = Buffer.from(header(req, "authorization") ?? "");
    const expected = Buffer.from(`Bearer ${options.detailsKey}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  /** With a key configured, callers prove they hold it, except local callers of /events. */
  const authorize = (req: IncomingMessage, body: Buffer, local: boolean) => {
    if (!webhookKey || local) return;
    if (!verifyAblySignature(body, header(req, "x-ably-signature"), webhookKey)) {
      throw new HttpProblem(401, "missing or invalid X-Ably-Signature");
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // A caller's W3C trace context (traceparent) makes the message part of the caller's trace.
    const caller = propagation.extract(context.active(), req.headers);
    context
      .with(caller, () => route(req, res))
      .catch((err: unknown) => {
        if (err instanceof HttpProblem) return json(res, err.status, { error: err.message });
        logger.error({ err, path: req.url?.slice(0, 200) }, "request failed");
        // Nothing recorded: a 5xx makes Ably (or the caller) send the message again.
        json(res, 500, { error: "internal error; the message was not recorded" });
      });
  };
  const server = createOnePortServer(options.rpc ? options.rpc(handle) : handle, {
    logger,
    ...(options.tls ? { tls: { secureContext: options.tls } } : {}),
  });
  const { port } = await server.listen(options.port, options.host);
  const shownHost = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
  return {
    port,
    url: `${options.tls ? "https" : "http"}://${shownHost}:${port}`,
    setSecureContext: (tls) => server.setSecureContext(tls),
    // Requests in flight get a moment; open RPC streams were ended before (health, reflection).
    close: () => server.close(closeGraceMs),
  };
}

/**
 * What a caller is told of one message: `accepted` (with the accounts it was recorded for),
 * `duplicate`, or `rejected` with the reason; a rejected message is kept in the inbox for
 * inspection, but saying it was "recorded" would read as if it will run.
 */
function intakeAnswer(result: IntakeResult) {
  const { eventKey } = result;
  if (result.rejected !== undefined) {
    return { status: "rejected" as const, reason: result.rejected, eventKey };
  }
  const status = result.recorded > 0 ? ("accepted" as const) : ("duplicate" as const);
  return { status, recorded: result.recorded, duplicates: result.duplicates, eventKey };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? "";
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) throw new HttpProblem(413, `body larger than ${maxBody} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}
