import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { startRebalancer } from "@mesh/rebalancer/app";
import type { RebalancerAppOptions, RunningRebalancer } from "@mesh/rebalancer/app";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { builtConsole } from "./built-console.js";

/** The repository's accounts.yaml: DU1000001 and DU1000002, paper, on the simulated broker. */
export const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

/** A rebalancer serving the built console, with a client for checking what the console shows. */
export interface ConsoleRebalancer extends RunningRebalancer {
  /** A client from Node, sending `apiKey` when given. */
  api: Client<typeof RebalancerService>;
}

/**
 * Starts a rebalancer on a fresh data folder and the bundled simulated accounts, whose orders
 * fill 50 ms after they are placed (so a run's events arrive over a visible stretch of time).
 */
export async function startConsoleRebalancer(
  options: Partial<RebalancerAppOptions> & { apiKey?: string } = {},
): Promise<ConsoleRebalancer> {
  const { apiKey, ...appOptions } = options;
  const app = await startRebalancer({
    accountsFile,
    dataDir: mkdtempSync(join(tmpdir(), "console-rebalancer-")),
    broker: createSimBroker({ fillDelayMs: 50 }),
    consoleDir: await builtConsole(),
    ...appOptions,
  });
  const transport = createConnectTransport({
    baseUrl: app.url,
    httpVersion: "1.1",
    interceptors: [
      (next) => (request) => {
        if (apiKey !== undefined) request.header.set("authorization", `Bearer ${apiKey}`);
        return next(request);
      },
    ],
  });
  return { ...app, api: createClient(RebalancerService, transport) };
}
