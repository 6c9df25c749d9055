import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One POST the receiver took. */
export interface ReceivedNotification {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A local webhook receiver on 127.0.0.1 for notification tests: records every request, answers
 * with `status` after `delayMs`, and can go down (connection refused) and come back on its port.
 */
export interface NotificationReceiver {
  /** e.g. http://127.0.0.1:40123 (the same across stop and start). */
  url: string;
  port: number;
  received: ReceivedNotification[];
  /** Answer to the next requests; default 200. */
  status: number;
  /** Body of the answers; default "ok". */
  answer: string;
  /** Wait before answering, ms; default 0. */
  delayMs: number;
  /** Stops listening: connections are refused until start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** The JSON bodies received, parsed. */
  json<T = Record<string, unknown>>(): T[];
}

/** Starts a receiver; with `down` it takes a port but refuses connections until start(). */
export async function startNotificationReceiver(
  options: { down?: boolean } = {},
): Promise<NotificationReceiver> {
  let server: Server | undefined;
  const receiver: NotificationReceiver = {
    url: "",
    port: 0,
    received: [],
    status: 200,
    answer: "ok",
    delayMs: 0,
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      if (server) return;
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          const answer = () => {
            receiver.received.push({
              path: req.url ?? "",
              headers: req.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            });
            res.writeHead(receiver.status, { "content-type": "text/plain" }).end(receiver.answer);
          };
          if (receiver.delayMs > 0) setTimeout(answer, receiver.delayMs);
          else answer();
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(receiver.port, "127.0.0.1", () => resolve());
      });
      server = s;
      receiver.port = (s.address() as AddressInfo).port;
      receiver.url = `http://127.0.0.1:${receiver.port}`;
    },
    json: <T>() => receiver.received.map((r) => JSON.parse(r.body) as T),
  };
  await receiver.start();
  if (options.down) await receiver.stop();
  return receiver;
}
