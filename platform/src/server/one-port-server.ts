// One TCP port for HTTP/1.1 and cleartext HTTP/2. Node's `http2.createServer({allowHTTP1})` only
// falls back to HTTP/1.1 under TLS, so each connection's first bytes are peeked instead: the
// HTTP/2 client preface goes to an http2 server, anything else to an http server, and both hand
// their requests to the same handler. Under TLS, ALPN decides instead ("h2" or "http/1.1").
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Logger } from "@mesh/platform/logger";
import type { NodeRequestHandler } from "./node-request-handler.js";

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Options of createOnePortServer. */
export interface OnePortServerOptions {
  /** Time a new connection has to send its first bytes before it is dropped; default 10 s. */
  firstBytesTimeoutMs?: number;
  /** Receives connection-level problems at debug level; default silent. */
  logger?: Logger;
  /**
   * Serve HTTPS: the certificate, key and (for mTLS) the CA of client certificates; default
   * none (cleartext). Replace it later with setSecureContext.
   */
  tls?: OnePortTlsOptions;
}

/** TLS settings of the one-port server. */
export interface OnePortTlsOptions {
  /** Certificate, key and, with requireClientCertificate, the CA that signs client certificates. */
  secureContext: tls.SecureContextOptions;
  /** Refuse, during the handshake, clients without a certificate signed by `ca`; default false. */
  requireClientCertificate?: boolean;
}

/** Where a listening server can be reached. */
export interface ListeningAddress {
  /** The bound port (the actual one when 0 was asked for). */
  port: number;
  /** Base URL, e.g. "http://127.0.0.1:8000". */
  url: string;
}

/** A server speaking HTTP/1.1 and h2c on one port. */
export interface OnePortServer {
  /** Starts accepting connections. */
  listen(port: number, host: string): Promise<ListeningAddress>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to graceMs (default
   * 10 s), then destroys the connections that are left. Resolves once every connection is gone.
   */
  close(graceMs?: number): Promise<void>;
  /** Under TLS: new connections get this certificate and key; open ones keep theirs. */
  setSecureContext(secureContext: tls.SecureContextOptions): void;
}

/** Serves `handler` over HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port. */
export function createOnePortServer(
  handler: NodeRequestHandler,
  options: OnePortServerOptions = {},
): OnePortServer {
  const firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? 10_000;
  const logger = options.logger;
  const http1Server = http.createServer();
  const http2Server = http2.createServer();
  const tlsOptions = options.tls;
  const tcpServer: net.Server = tlsOptions
    ? tls.createServer(
        {
          ...tlsOptions.secureContext,
          ALPNProtocols: ["h2", "http/1.1"],
          requestCert: tlsOptions.requireClientCertificate === true,
          rejectUnauthorized: tlsOptions.requireClientCertificate === true,
          handshakeTimeout: firstBytesTimeoutMs,
        },
        (socket) => accept(socket),
      )
    : net.createServer((socket) => accept(socket));
  tcpServer.on("tlsClientError", (error: Error) => {
    logger?.debug({ err: error }, "TLS handshake failed");
  });

  const sockets = new Set<net.Socket>();
  const http1Sockets = new Set<net.Socket>();
  const http2Sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  // HTTP/1.1 requests in flight per connection, so that draining closes only idle ones.
  const http1InFlight = new Map<net.Socket, number>();
  const http1Responses = new Set<http.ServerResponse>();
  let draining = false;
  let closing: Promise<void> | undefined;

  // Registered before the handler so that "connection: close" is set before it can respond.
  http1Server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    http1InFlight.set(socket, (http1InFlight.get(socket) ?? 0) + 1);
    http1Responses.add(res);
    if (draining) {
      res.setHeader("connection", "close");
    }
    res.once("close", () => {
      http1Responses.delete(res);
      const left = (http1InFlight.get(socket) ?? 1) - 1;
      if (left > 0) {
        http1InFlight.set(socket, left);
        return;
      }
      http1InFlight.delete(socket);
      if (draining) {
        socket.destroySoon();
      }
    });
  });
  http1Server.on("request", handler);
  http1Server.on("clientError", (error: Error, socket: net.Socket) => {
    logger?.debug({ err: error }, "malformed HTTP/1.1 request");
    if (socket.writable) {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    }
    socket.destroy();
  });

  http2Server.on("request", handler);
  http2Server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (draining) {
      session.close();
    }
  });
  http2Server.on("sessionError", (error: Error) => {
    logger?.debug({ err: error }, "HTTP/2 session error");
  });

  function accept(socket: net.Socket): void {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      http1Sockets.delete(socket);
      http2Sockets.delete(socket);
      http1InFlight.delete(socket);
    });
    // A connection error must not crash the process; the servers add their own handling.
    socket.on("error", (error) => {
      logger?.debug({ err: error }, "connection error");
      socket.destroy();
    });
    if (draining) {
      socket.destroy();
      return;
    }
    if (socket instanceof tls.TLSSocket) {
      // ALPN already chose; clients without ALPN get HTTP/1.1.
      if (socket.alpnProtocol === "h2") {
        http2Sockets.add(socket);
        http2Server.emit("connection", socket);
      } else {
        http1Sockets.add(socket);
        http1Server.emit("connection", socket);
      }
      return;
    }
    const timer = setTimeout(() => socket.destroy(), firstBytesTimeoutMs);
    timer.unref();
    let peeked = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      peeked = Buffer.concat([peeked, chunk]);
      const compared = Math.min(peeked.length, http2Preface.length);
      const isHttp2 = peeked.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (isHttp2 && peeked.length < http2Preface.length) {
        return; // The preface came in pieces; wait for the rest before deciding.
      }
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      socket.unshift(peeked);
      if (isHttp2) {
        // No resume() here: the HTTP/2 session reads the unshifted bytes itself.
        http2Sockets.add(socket);
        http2Server.emit("connection", socket);
      } else {
        http1Sockets.add(socket);
        http1Server.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  function listen(port: number, host: string): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      tcpServer.once("error", reject);
      tcpServer.listen(port, host, () => {
        tcpServer.off("error", reject);
        // Node starts enforcing headersTimeout and requestTimeout (slow clients) on "listening",
        // which a server that is handed its connections never emits by itself.
        http1Server.emit("listening");
        const address = tcpServer.address() as net.AddressInfo;
        const urlHost = net.isIPv6(host) ? `[${host}]` : host;
        const scheme = tlsOptions ? "https" : "http";
        resolve({ port: address.port, url: `${scheme}://${urlHost}:${address.port}` });
      });
    });
  }

  function close(graceMs = 10_000): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      draining = true;
      // Stops the timeout checks started at listen, and closes idle keep-alive connections.
      http1Server.close(() => undefined);
      // The callback runs once every accepted connection has closed.
      tcpServer.close(() => {
        clearTimeout(deadline);
        resolve();
      });
      for (const session of sessions) {
        session.close(); // GOAWAY: no new streams, the open ones run to completion.
      }
      // Tell HTTP/1.1 clients not to reuse connections whose response has not started yet.
      for (const res of http1Responses) {
        if (!res.headersSent) {
          res.setHeader("connection", "close");
        }
      }
      for (const socket of sockets) {
        const idleHttp1 = http1Sockets.has(socket) && !http1InFlight.has(socket);
        const undecided = !http1Sockets.has(socket) && !http2Sockets.has(socket);
        if (idleHttp1 || undecided) {
          socket.destroySoon();
        }
      }
      const deadline = setTimeout(() => {
        for (const session of sessions) {
          session.destroy();
        }
        for (const socket of sockets) {
          socket.destroy();
        }
      }, graceMs);
    });
    return closing;
  }

  function setSecureContext(secureContext: tls.SecureContextOptions): void {
    if (!(tcpServer instanceof tls.Server)) {
      throw new Error("setSecureContext: the server was started without TLS");
    }
    tcpServer.setSecureContext(secureContext);
  }

  return { listen, close, setSecureContext };
}
