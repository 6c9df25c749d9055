import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { Action, FLAG_RESUMED, type ProtocolMessage, type StoredMessage } from "./protocol.js";

/** Options of startAblyEmulator. */
export interface AblyEmulatorOptions {
  /** Keys accepted, "appId.keyId:secret"; default one key, `testapp.testkey:testsecret`. */
  keys?: string[];
  /** How long a dropped connection can be resumed, ms; default 120000 (as Ably). */
  connectionStateTtl?: number;
  /** maxIdleInterval announced to clients, ms; WebSocket pings go out at a third of it. */
  maxIdleInterval?: number;
  /** Most messages in one history page, whatever `limit` asks for; default 1000 (as Ably). */
  maxHistoryPage?: number;
}

/** Client options that point the real SDK at the emulator. */
export interface EmulatorClientOptions {
  key: string;
  endpoint: string;
  port: number;
  tls: false;
  disableConnectivityCheck: true;
  useBinaryProtocol: false;
}

/** A running emulator of the Ably realtime and REST endpoints the subscriber uses. */
export interface AblyEmulator {
  port: number;
  /** The default key. */
  key: string;
  /** Options for `new Ably.Realtime(...)` / `new Ably.Rest(...)`; another key may be given. */
  clientOptions(key?: string): EmulatorClientOptions;
  /** Publishes as if from another client; returns the stored messages. */
  publish(channel: string, messages: { name?: string; data?: unknown; id?: string }[]): void;
  /** Every message stored on a channel, oldest first. */
  history(channel: string): StoredMessage[];
  /** Cuts every WebSocket without a closing handshake, as a network failure would. */
  dropConnections(): void;
  /** While true, new WebSocket connections are refused, so a gap stays open. */
  refuseConnections(refuse: boolean): void;
  /** Forgets the state of every dropped connection, as when a gap outlasts connectionStateTtl. */
  expireConnectionState(): void;
  /** While true, every resume is refused (80008) and channels re-attach without continuity. */
  refuseResumes(refuse: boolean): void;
  /**
   * The next `count` history requests (each page is one) answer `status` with an Ably error
   * body, as a 5xx or a 429 from Ably would; default status 500.
   */
  failHistory(count: number, status?: number): void;
  /**
   * Forgets the messages of a channel (every channel when unnamed) published before `before`
   * (default: now, so all of them), as Ably's history retention does.
   */
  expireHistory(options?: { channel?: string; before?: number }): void;
  /** History requests received (each page is one), failed ones included. */
  historyRequests(): number;
  /** Number of WebSocket connections accepted so far. */
  connectionsAccepted(): number;
  /** Every ATTACH received, in order, for assertions on continuity. */
  attaches: { channel: string; channelSerial?: string; params?: Record<string, string> }[];
  close(): Promise<void>;
}

interface ConnectionState {
  id: string;
  key: string;
  socket?: WebSocket;
  /** Channels the client is attached to, with the last serial it was sent. */
  channels: Map<string, number>;
  expiry?: NodeJS.Timeout;
}

/** Starts the emulator on 127.0.0.1 and an ephemeral port. */
export async function startAblyEmulator(options: AblyEmulatorOptions = {}): Promise<AblyEmulator> {
  const keys = options.keys ?? ["testapp.testkey:testsecret"];
  const ttl = options.connectionStateTtl ?? 120_000;
  const maxIdleInterval = options.maxIdleInterval ?? 15_000;
  const channels = new Map<string, StoredMessage[]>();
  const connections = new Map<string, ConnectionState>();
  const sockets = new Set<Socket>();
  const attaches: AblyEmulator["attaches"] = [];
  const maxHistoryPage = options.maxHistoryPage ?? 1000;
  let refusing = false;
  let refusingResumes = false;
  let accepted = 0;
  let historyRequests = 0;
  let historyFailures: { count: number; status: number } = { count: 0, status: 500 };

  // Serials keep counting when history expires, so a resume never confuses two messages.
  const lastSerial = new Map<string, number>();
  const stored = (name: string) => {
    let list = channels.get(name);
    if (!list) channels.set(name, (list = []));
    return list;
  };

  const send = (ws: WebSocket | undefined, msg: ProtocolMessage) => {
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  const messageFrame = (channel: string, list: StoredMessage[]): ProtocolMessage => {
    const last = list[list.length - 1]!;
    return {
      action: Action.MESSAGE,
      channel,
      channelSerial: String(last.serial),
      id: `${last.id}-frame`,
      connectionId: last.connectionId,
      timestamp: last.timestamp,
      messages: list.map((m) => ({
        id: m.id,
        name: m.name,
        data: m.data,
        encoding: m.encoding,
        timestamp: m.timestamp,
        connectionId: m.connectionId,
      })),
    };
  };

  const fanOut = (channel: string, messages: StoredMessage[]) => {
    for (const conn of connections.values()) {
      if (!conn.socket || !conn.channels.has(channel)) continue;
      conn.channels.set(channel, messages[messages.length - 1]!.serial);
      send(conn.socket, messageFrame(channel, messages));
    }
  };

  const store = (
    channel: string,
    input: { name?: string; data?: unknown; encoding?: string; id?: string }[],
    connectionId?: string,
  ) => {
    const list = stored(channel);
    const base = randomBytes(6).toString("base64url");
    const now = Date.now();
    const added = input.map((m, i) => {
      const message: StoredMessage = {
        id: m.id ?? `${base}:${i}`,
        name: m.name,
        data: m.data,
        encoding: m.encoding,
        timestamp: now,
        connectionId,
        serial: (lastSerial.get(channel) ?? 0) + 1,
      };
      lastSerial.set(channel, message.serial);
      list.push(message);
      return message;
    });
    if (added.length > 0) fanOut(channel, added);
    return added;
  };

  const keyValid = (key: string | undefined) => key !== undefined && keys.includes(key);

  const server = createServer((req, res) => {
    handleRest(req, res).catch((err: Error) => {
      restError(res, 500, 50000, err.message);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const restError = (res: ServerResponse, status: number, code: number, message: string) => {
    // The SDK only reads error bodies with exactly this content type.
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code, statusCode: status, message } }));
  };

  const handleRest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/time") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify([Date.now()]));
      return;
    }
    const auth = req.headers.authorization ?? "";
    const key = auth.startsWith("Basic ")
      ? Buffer.from(auth.slice(6), "base64").toString("utf8")
      : (url.searchParams.get("key") ?? undefined);
    if (!keyValid(key)) return restError(res, 401, 40101, "Invalid key in request");
    const match = /^\/channels\/([^/]+)\/messages$/.exec(url.pathname);
    if (!match) return restError(res, 404, 40400, `no route ${url.pathname}`);
    const channel = decodeURIComponent(match[1]!);
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const list = (Array.isArray(body) ? body : [body]) as Parameters<typeof store>[1];
      const added = store(channel, list);
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ channel, messageId: added[0]?.id }));
      return;
    }
    if (req.method === "GET") {
      historyRequests++;
      if (historyFailures.count > 0) {
        historyFailures.count--;
        const { status } = historyFailures;
        return restError(res, status, status * 100, `history unavailable (${status})`);
      }
      const start = Number(url.searchParams.get("start") ?? 0);
      const end = Number(url.searchParams.get("end") ?? Number.MAX_SAFE_INTEGER);
      const limit = Math.min(Number(url.searchParams.get("limit") ?? 100), maxHistoryPage);
      const direction = url.searchParams.get("direction") ?? "backwards";
      // The next page continues after the serial the previous one ended on.
      const after = Number(
        url.searchParams.get("cursor") ?? (direction === "forwards" ? 0 : Infinity),
      );
      let list = stored(channel).filter((m) => m.timestamp >= start && m.timestamp <= end);
      if (direction === "forwards") list = list.filter((m) => m.serial > after);
      else list = list.filter((m) => m.serial < after).reverse();
      const page = list.slice(0, limit);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (list.length > limit) {
        const next = new URLSearchParams({
          start: String(start),
          end: String(end),
          limit: String(limit),
          direction,
          cursor: String(page[page.length - 1]!.serial),
        });
        headers.link = `<./messages?${next}>; rel="next"`;
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify(page.map(({ serial: _serial, ...m }) => m)));
      return;
    }
    restError(res, 405, 40500, `method ${req.method} not allowed`);
  };

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (refusing) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  });

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    accepted++;
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const key = url.searchParams.get("key") ?? undefined;
    if (!keyValid(key)) {
      send(ws, {
        action: Action.ERROR,
        error: { code: 40101, statusCode: 401, message: "Invalid key in request" },
      });
      ws.close();
      return;
    }
    const resumeKey = url.searchParams.get("resume");
    let conn = resumeKey && !refusingResumes ? connections.get(resumeKey) : undefined;
    const resumed = conn !== undefined;
    if (conn) {
      clearTimeout(conn.expiry);
      conn.socket?.terminate();
    } else {
      const id = randomBytes(8).toString("base64url");
      conn = { id, key: key!, channels: new Map() };
      connections.set(id, conn);
    }
    const state = conn;
    state.socket = ws;
    send(ws, {
      action: Action.CONNECTED,
      connectionId: state.id,
      connectionKey: state.id,
      connectionDetails: {
        connectionKey: state.id,
        maxIdleInterval,
        connectionStateTtl: ttl,
        maxMessageSize: 65536,
        maxFrameSize: 524288,
        maxInboundRate: 250,
        serverId: "ably-emulator",
      },
      ...(resumeKey && !resumed
        ? { error: { code: 80008, statusCode: 400, message: "Unable to recover connection" } }
        : {}),
    });
    // Node clients ask for heartbeats=false: WebSocket pings are the liveness signal.
    const pinger = setInterval(() => ws.ping(), Math.max(50, maxIdleInterval / 3));
    ws.on("message", (raw) => onFrame(state, resumed, JSON.parse(String(raw)) as ProtocolMessage));
    ws.on("close", () => {
      clearInterval(pinger);
      if (state.socket !== ws) return;
      state.socket = undefined;
      if (connections.get(state.id) === state) {
        state.expiry = setTimeout(() => connections.delete(state.id), ttl);
      }
    });
  };

  const onFrame = (conn: ConnectionState, resumed: boolean, msg: ProtocolMessage) => {
    const ws = conn.socket;
    switch (msg.action) {
      case Action.HEARTBEAT:
        send(ws, { action: Action.HEARTBEAT, id: msg.id });
        return;
      case Action.ATTACH: {
        const channel = msg.channel!;
        attaches.push({ channel, channelSerial: msg.channelSerial, params: msg.params });
        const list = stored(channel);
        const from = msg.channelSerial === undefined ? undefined : Number(msg.channelSerial);
        // Continuity holds only when the connection itself was kept (within connectionStateTtl).
        const continues = resumed && from !== undefined && Number.isFinite(from);
        let replay: StoredMessage[] = [];
        if (continues) replay = list.filter((m) => m.serial > from);
        else if (msg.params?.rewind) replay = rewound(list, msg.params.rewind);
        const serial = lastSerial.get(channel) ?? 0;
        conn.channels.set(channel, serial);
        send(ws, {
          action: Action.ATTACHED,
          channel,
          channelSerial: String(serial),
          flags: continues ? FLAG_RESUMED : 0,
          ...(msg.params ? { params: msg.params } : {}),
        });
        if (replay.length > 0) send(ws, messageFrame(channel, replay));
        return;
      }
      case Action.DETACH:
        conn.channels.delete(msg.channel!);
        send(ws, { action: Action.DETACHED, channel: msg.channel });
        return;
      case Action.MESSAGE: {
        store(msg.channel!, msg.messages ?? [], conn.id);
        send(ws, { action: Action.ACK, msgSerial: msg.msgSerial, count: 1 });
        return;
      }
      case Action.CLOSE:
        send(ws, { action: Action.CLOSED });
        connections.delete(conn.id);
        ws?.close();
        return;
      default:
        return;
    }
  };

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    key: keys[0]!,
    attaches,
    clientOptions: (key = keys[0]!) => ({
      key,
      endpoint: "127.0.0.1",
      port,
      tls: false,
      disableConnectivityCheck: true,
      useBinaryProtocol: false,
    }),
    publish: (channel, messages) => {
      store(channel, messages);
    },
    history: (channel) => stored(channel).slice(),
    dropConnections: () => {
      for (const conn of connections.values()) conn.socket?.terminate();
    },
    refuseConnections: (refuse) => {
      refusing = refuse;
    },
    expireConnectionState: () => {
      for (const conn of [...connections.values()]) {
        if (conn.socket) continue;
        clearTimeout(conn.expiry);
        connections.delete(conn.id);
      }
    },
    refuseResumes: (refuse) => {
      refusingResumes = refuse;
    },
    failHistory: (count, status = 500) => {
      historyFailures = { count, status };
    },
    expireHistory: ({ channel, before = Date.now() + 1 } = {}) => {
      for (const [name, list] of channels) {
        if (channel !== undefined && name !== channel) continue;
        channels.set(
          name,
          list.filter((m) => m.timestamp >= before),
        );
      }
    },
    historyRequests: () => historyRequests,
    connectionsAccepted: () => accepted,
    close: async () => {
      for (const conn of connections.values()) {
        clearTimeout(conn.expiry);
        conn.socket?.terminate();
      }
      connections.clear();
      for (const socket of sockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Messages a `rewind` channel param replays: a count ("5") or a time window ("2m", "30s"). */
function rewound(list: StoredMessage[], rewind: string): StoredMessage[] {
  const time = /^(\d+)(s|m)$/.exec(rewind);
  if (time) {
    const ms = Number(time[1]) * (time[2] === "m" ? 60_000 : 1000);
    const since = Date.now() - ms;
    return list.filter((m) => m.timestamp >= since);
  }
  const count = Number(rewind);
  return Number.isInteger(count) && count > 0 ? list.slice(-count) : [];
}
