// Preflight cost: one live run of 10 and of 100 buys through the IBKR adapter against the
// TWS-protocol test server, with the what-if preflight (one what-if order per planned order)
// and with `preflight: off`, on a fresh connection each time. The ratio is the run's duration
// with the preflight against without it; both are bound by the adapter's message pacing.
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { startRebalancer } from "@mesh/rebalancer/app";
import { createIbkrBroker } from "@mesh/rebalancer/broker/ibkr/ibkr-broker";
import type { InstrumentSpec } from "../rebalancer/test/tws/tws-market.js";
import { startTwsServer } from "../rebalancer/test/tws/tws-server.js";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

let nextClientId = 200;

export async function measurePreflight(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const sizes = quick ? [10] : [10, 100];
  const repetitions = quick ? 1 : 3;
  await timeRun(10, true); // warm-up: JIT and module loading
  const figures: BenchFigure[] = [];
  for (const orders of sizes) {
    const on: number[] = [];
    const off: number[] = [];
    let whatIfs = 0;
    // Alternated, so load that drifts during the benchmark weighs on both.
    for (let i = 0; i < repetitions; i++) {
      const checked = await timeRun(orders, true);
      on.push(checked.ms);
      whatIfs = checked.whatIfs;
      off.push((await timeRun(orders, false)).ms);
    }
    const withPreflight = sampleStats(on).median;
    const without = sampleStats(off).median;
    figures.push({
      name: `live run of ${orders} buys, with preflight`,
      unit: "ms",
      median: round(withPreflight, 1),
      samples: on.length,
      baseline: { name: `the same run, preflight: off`, median: round(without, 1) },
      ratio: round(withPreflight / without, 2),
      ratioMeaning: "run duration with preflight / without; 1 is free",
      detail: { what_if_orders: whatIfs, extra_ms: round(withPreflight - without, 1) },
    });
  }
  return {
    id: "preflight",
    title:
      "Preflight: run duration with and without what-if orders (IBKR adapter, TWS test server)",
    figures,
    notes: [
      `${repetitions === 1 ? "one run" : `${repetitions} runs, median`} per size and mode` +
        `${quick ? " (quick set: 10 orders only)" : ""}, each on a fresh connection with the ` +
        "adapter's default pacing (40 messages/s); the server answers at once and fills in one " +
        "execution, so this is the pacing cost of the what-ifs, not TWS's latency",
    ],
  };
}

/** One live run buying `orders` symbols; its duration and the what-if orders the server saw. */
async function timeRun(
  orders: number,
  preflight: boolean,
): Promise<{ ms: number; whatIfs: number }> {
  const scratch = createScratchDir("preflight");
  const symbols = Array.from({ length: orders }, (_, i) => `P${String(i).padStart(3, "0")}`);
  writeFileSync(
    scratch.path("many.yaml"),
    JSON.stringify({
      allocations: symbols.map((symbol) => ({ symbol, allocation: 0.9 / orders })),
    }),
  );
  writeFileSync(
    scratch.path("accounts.yaml"),
    JSON.stringify({
      defaults: {
        allocation_url: "file:{strategy}.yaml",
        min_order_value: 0,
        drift_band_percent: 0,
      },
      accounts: [{ account_id: "DU700000", type: "paper", strategy: "many", preflight }],
    }),
  );
  const tws = await startTwsServer({
    accounts: [{ accountId: "DU700000", cash: orders * 1_000 }],
    instruments: instruments(symbols),
    fillParts: 1,
    fillIntervalMs: 0,
  });
  const broker = createIbkrBroker({ host: "127.0.0.1", port: tws.port, clientId: nextClientId++ });
  try {
    await broker.ready();
    const rebalancer = await startRebalancer({
      accountsFile: scratch.path("accounts.yaml"),
      dataDir: scratch.path("data"),
      broker,
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const client = createClient(
        RebalancerService,
        createGrpcTransport({ baseUrl: rebalancer.url }),
      );
      let last: { case?: string; value?: unknown } = {};
      const start = performance.now();
      for await (const event of client.rebalance({
        accountId: "DU700000",
        mode: ExecutionMode.LIVE,
        idempotencyKey: `preflight-${orders}-${preflight}`,
      })) {
        last = event.event;
      }
      const ms = performance.now() - start;
      if (last.case !== "completed" || tws.market.orders.length !== orders) {
        throw new Error(
          `the ${orders}-order run ended ${last.case}: ${JSON.stringify(last.value)}`,
        );
      }
      return { ms, whatIfs: tws.market.whatIfOrders.length };
    } finally {
      await rebalancer.close(1_000); // closes the broker too
    }
  } finally {
    await broker.close();
    await tws.close();
    scratch.remove();
  }
}

/** Every symbol at 10 with live data, open around the clock for the days around now. */
function instruments(symbols: string[]): InstrumentSpec[] {
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "");
  const hours = [-2, -1, 0, 1, 2].map((d) => `${day(d)}:0000-${day(d + 1)}:0000`).join(";");
  return symbols.map((symbol) => ({
    symbol,
    last: 10,
    bid: 10,
    ask: 10,
    close: 10,
    marketData: "live" as const,
    tradingHours: hours,
    liquidHours: hours,
  }));
}
