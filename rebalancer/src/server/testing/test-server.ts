// Starts the API server on 127.0.0.1 with the fixed service and switchable component probes.
import { Writable } from "node:stream";
import { createLogger } from "@mesh/platform/logger";
import { createApiServer } from "../api-server.js";
import type { ApiServer, ApiServerOptions } from "../api-server.js";
import type { ComponentCheck } from "../health-report.js";
import { createFixedRebalancerService } from "./fixed-rebalancer-service.js";
import type { FixedRebalancerService } from "./fixed-rebalancer-service.js";

/** The two keys the test server accepts, as during a rotation. */
export const currentKey = "key-current-6f1d2a";
export const previousKey = "key-previous-93be47";

/** A running test server. */
export interface TestServer {
  url: string;
  port: number;
  server: ApiServer;
  fixed: FixedRebalancerService;
  /** The state each probe reports; change it to change the health. */
  components: Map<string, ComponentCheck>;
  /** Every log line written so far. */
  logs: string[];
  close(graceMs?: number): Promise<void>;
}

/** Starts a server; by default with both keys, no CORS origins and fast health polling. */
export async function startTestServer(
  overrides: Partial<Omit<ApiServerOptions, "service" | "components">> = {},
): Promise<TestServer> {
  const fixed = createFixedRebalancerService();
  const components = new Map<string, ComponentCheck>([
    ["broker", { ok: true, detail: "connected to the simulated broker" }],
    ["store", { ok: true, detail: "writable" }],
  ]);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const server = createApiServer({
    service: fixed.service,
    components: [...components.keys()].map((name) => ({
      name,
      check: () => components.get(name) ?? { ok: false },
    })),
    apiKeys: [currentKey, previousKey],
    healthPollMs: 50,
    logger: createLogger({ name: "test", level: "debug", destination: sink }),
    ...overrides,
  });
  const { url, port } = await server.listen(0, "127.0.0.1");
  return {
    url,
    port,
    server,
    fixed,
    components,
    logs,
    close: (graceMs = 1000) => server.close(graceMs),
  };
}

/** The Authorization header for a key. */
export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
