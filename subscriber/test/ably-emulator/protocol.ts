/** Realtime protocol actions the emulator speaks (Ably protocol v2+, JSON form). */
export const Action = {
  HEARTBEAT: 0,
  ACK: 1,
  NACK: 2,
  CONNECT: 3,
  CONNECTED: 4,
  DISCONNECT: 5,
  DISCONNECTED: 6,
  CLOSE: 7,
  CLOSED: 8,
  ERROR: 9,
  ATTACH: 10,
  ATTACHED: 11,
  DETACH: 12,
  DETACHED: 13,
  PRESENCE: 14,
  MESSAGE: 15,
} as const;

/** ATTACHED flag: the channel continued from the client's channelSerial without a gap. */
export const FLAG_RESUMED = 1 << 2;

/** A channel message as stored and sent by the emulator. */
export interface StoredMessage {
  id: string;
  name?: string;
  data?: unknown;
  encoding?: string;
  timestamp: number;
  connectionId?: string;
  /** Position in the channel, for resume; sent as the frame's channelSerial. */
  serial: number;
}

/** A protocol message as it travels in a WebSocket text frame. */
export interface ProtocolMessage {
  action: number;
  channel?: string;
  channelSerial?: string;
  msgSerial?: number;
  count?: number;
  flags?: number;
  id?: string;
  connectionId?: string;
  connectionKey?: string;
  timestamp?: number;
  params?: Record<string, string>;
  messages?: Partial<StoredMessage>[];
  error?: { code: number; statusCode: number; message: string };
  connectionDetails?: Record<string, unknown>;
}
