import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { SecureContextOptions } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Logger } from "@mesh/platform/logger";
import { context, propagation } from "@opentelemetry/api";
import type { Intake } from "../intake/intake.js";
import { readAblyWebhook, verifyAblySignature } from "./ably-webhook.js";

/** What GET /health answers: serving or not, each component up or down, and why not. */
export interface HealthReport {
  ok: boolean;
  /** e.g. `{inbox: "up", realtime: "down"}`; "disabled" for a component not configured. */
  components: Record<string, "up" | "down" | "disabled">;
  /** Reasons, for callers allowed to see details only. */
  problems: string[];
  /** What works but needs attention, e.g. a failed certificate reload (previous one in use). */
  warnings?: string[];
}

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
   * Key whose `Authorization: Bearer <key>` shows details (health problems, last errors,
   * addresses) in /health and /status. Default none: callers on loopback see them, no one else.
   */
  detailsKey?: string;
  /** The report GET /health answers (200 when ok, else 503); required, no default. */
  health(): Promise<HealthReport>;
  /** Receives failed requests and webhook junk; required, no default. */
  logger: Logger;
  /** Serve HTTPS with this certificate and key; default cleartext HTTP. */
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
 * only after the inbox recorded it, so a 2xx means it will not be lost.
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
      const { problems, ...report } = await options.health();
      return json(res, report.ok ? 200 : 503, {
        status: report.ok ? "ok" : "failing",
        ...report,
        ...(detailed(req) ? { problems } : {}),
      });
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
      for (const message of read.messages) results.push(await intake.receive(message));
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
      return json(res, result.conflict ? 409 : result.rejected ? 422 : 202, result);
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
