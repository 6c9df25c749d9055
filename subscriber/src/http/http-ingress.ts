import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { SecureContextOptions } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Logger } from "@mesh/platform/logger";
import { context, propagation } from "@opentelemetry/api";
import type { Intake } from "../intake/intake.js";
import { readAblyWebhook, verifyAblySignature } from "../webhook/ably-webhook.js";

/** What GET /health answers: serving or not, and why not. */
export interface HealthReport {
  ok: boolean;
  problems: string[];
  /** What works but needs attention, e.g. a failed certificate reload (previous one in use). */
  warnings?: string[];
}

/** Options of startHttpIngress. */
export interface HttpIngressOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  intake: Intake;
  /** Secret checking X-Ably-Signature; unset accepts unsigned requests. */
  webhookKey?: string;
  /** The body of GET /status. */
  status(): Promise<unknown>;
  health(): Promise<HealthReport>;
  logger: Logger;
  /** Serve HTTPS with this certificate and key; default cleartext. */
  tls?: SecureContextOptions;
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
 * only after the inbox recorded it, so a 2xx means it will not be lost.
 */
export async function startHttpIngress(options: HttpIngressOptions): Promise<HttpIngress> {
  const { intake, logger, webhookKey } = options;

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (req.method === "GET" && path === "/health") {
      const report = await options.health();
      return json(res, report.ok ? 200 : 503, { status: report.ok ? "ok" : "failing", ...report });
    }
    if (req.method === "GET" && path === "/status") return json(res, 200, await options.status());
    if (req.method === "POST" && path === "/webhooks/ably") {
      const body = await readBody(req);
      authorize(req, body, false);
      const read = readAblyWebhook(body);
      if (!read.ok) throw new HttpProblem(read.status, read.reason);
      const results = [];
      for (const message of read.messages) results.push(await intake.receive(message));
      return json(res, 200, { received: results.length, results });
    }
    const event = /^\/events\/([^/]+)$/.exec(path);
    if (req.method === "POST" && event) {
      const body = await readBody(req);
      authorize(req, body, isLoopback(req));
      const id = header(req, "idempotency-key") ?? header(req, "x-event-id");
      const result = await intake.receive({
        channel: decodeURIComponent(event[1]!),
        ...(id ? { messageId: id } : {}),
        data: body.toString("utf8"),
        source: "http",
      });
      // Recorded either way; 422 tells a human caller the payload will not run.
      return json(res, result.rejected ? 422 : 202, result);
    }
    throw new HttpProblem(404, `no route for ${req.method} ${path}`);
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
        logger.error({ err, path: req.url }, "request failed");
        // Nothing recorded: a 5xx makes Ably (or the caller) send the message again.
        json(res, 500, { error: "internal error; the message was not recorded" });
      });
  };
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
  return {
    port,
    url: `${options.tls ? "https" : "http"}://${shownHost}:${port}`,
    setSecureContext: (tls) => {
      if (!("setSecureContext" in server)) throw new Error("the ingress runs without TLS");
      server.setSecureContext(tls);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
