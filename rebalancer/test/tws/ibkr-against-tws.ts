// An IbkrBroker connected to a fresh test TWS server, with test-sized timeouts, its log captured
// and its order events recorded. For specs and benchmarks.

import { createLogger } from "@mesh/platform/logger";
import { until } from "@mesh/platform/testing/until";
import {
  createIbkrBroker,
  type IbkrBroker,
  type IbkrBrokerOptions,
} from "../../src/broker/ibkr/ibkr-broker.js";
import type { OrderEvent } from "../../src/broker/broker.js";
import { startTwsServer, type TwsServer, type TwsServerOptions } from "./tws-server.js";

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface BrokerAgainstTws {
  server: TwsServer;
  broker: IbkrBroker;
  /** Every order event, in order. */
  events: OrderEvent[];
  logs: LogRecord[];
  /** Another broker on the same server (closed with the rest). */
  connectAnother(options?: Partial<IbkrBrokerOptions>): IbkrBroker;
  close(): Promise<void>;
}

/** Options for tests: loopback, short waits, fast reconnects. */
export function testBrokerOptions(port: number, logs: LogRecord[]): IbkrBrokerOptions {
  return {
    host: "127.0.0.1",
    port,
    clientId: 7,
    connectTimeoutMs: 2_000,
    reconnectInitialDelayMs: 20,
    reconnectMaxDelayMs: 200,
    requestTimeoutMs: 2_000,
    snapshotTimeoutMs: 500,
    logger: createLogger({
      name: "test",
      level: "debug",
      destination: { write: (line: string) => void logs.push(JSON.parse(line)) },
    }),
  };
}

export async function startBrokerAgainstTws(
  options: { server?: TwsServerOptions; broker?: Partial<IbkrBrokerOptions> } = {},
): Promise<BrokerAgainstTws> {
  const server = await startTwsServer(options.server);
  const logs: LogRecord[] = [];
  const events: OrderEvent[] = [];
  const brokers: IbkrBroker[] = [];
  const connectAnother = (overrides: Partial<IbkrBrokerOptions> = {}) => {
    const broker = createIbkrBroker({ ...testBrokerOptions(server.port, logs), ...overrides });
    brokers.push(broker);
    return broker;
  };
  const broker = connectAnother(options.broker);
  broker.onOrderEvent((event) => events.push(event));
  await broker.ready();
  return {
    server,
    broker,
    events,
    logs,
    connectAnother,
    async close() {
      await Promise.all(brokers.map((b) => b.close()));
      await server.close();
    },
  };
}

/** Log records saying the library could not decode a message from the server. */
export function decodingErrors(logs: LogRecord[]): string[] {
  return logs
    .filter((r) => r.msg === "TWS message could not be decoded")
    .map((r) => String(r.ibMessage));
}

/** The shared `until` with the broker suites' default (3 s), naming the probe when it fails. */
export function eventually<T>(
  probe: () => T | undefined | null | false,
  timeoutMs = 3_000,
): Promise<T> {
  return until(probe, timeoutMs, `${probe}`) as Promise<T>;
}
