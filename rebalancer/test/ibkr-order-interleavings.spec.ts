// A property-style test: for a fixed set of seeds, the TWS test server answers each of a run's
// orders with a random interleaving of what TWS may send (executions in random parts, repeated
// and stale statuses, repeated executions, informational and late error codes, a cancel part
// way). Whatever the order, the run's stream moves each order forward only, the record read back
// equals the server's orders and executions, and no buy is placed unless every sell filled.
// Bounded: SEEDS runs, each against a fresh server. PROPERTY_SEED=<n> replays one seed.
import { expect } from "chai";
import { RunStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import { orderStreamProblems } from "./support/order-stream-problems.js";
import { recordAndServer, startRebalancerAgainstTws } from "./support/rebalancer-against-tws.js";
import type { TwsExecution, TwsMarket, TwsOrder } from "./tws/tws-market.js";

const SEEDS = process.env.PROPERTY_SEED
  ? [Number(process.env.PROPERTY_SEED)]
  : [1, 2, 3, 4, 5, 6, 7, 8];

/** mulberry32: a small seeded generator, so a failing seed replays exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Codes TWS sends on a working order that must not end it. */
const NOTICES: [number, string][] = [
  [10349, "Order TIF was set to DAY based on order preset."],
  [399, "Order Message: Warning: your order will not be placed at the exchange until later"],
  [2109, "Order Event Warning: Attribute 'Outside Regular Trading Hours' is ignored"],
  [404, "Shares for this order are not immediately available for short sale."],
  [201, "Order rejected - reason:late"],
];

type Step = (market: TwsMarket) => void;

/** A random script for one order: its fills, noise between them, and how it ends. */
function script(order: TwsOrder, next: () => number): Step[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const executions: TwsExecution[] = [];
  const steps: Step[] = [];
  const noise = () => {
    const count = Math.floor(next() * 3);
    for (let i = 0; i < count; i++) {
      const kind = pick(["notice", "stale", "repeat", "again"] as const);
      if (kind === "notice") {
        const [code, text] = pick(NOTICES);
        steps.push((m) => m.sendOrderError(order, code, text));
      } else if (kind === "stale") {
        // An older snapshot: fewer shares filled and a working status.
        steps.push((m) =>
          m.resendStatus(order, {
            status: "Submitted",
            filled: Math.floor(order.filled * next()),
          }),
        );
      } else if (kind === "repeat") {
        steps.push((m) =>
          executions.length > 0 ? m.resendExecution(pick(executions)) : undefined,
        );
      } else {
        steps.push((m) => m.resendStatus(order));
      }
    }
  };
  // Whole-share parts adding up to the quantity.
  const parts = Math.max(1, Math.min(order.quantity, 1 + Math.floor(next() * 4)));
  let left = order.quantity;
  const cancelAfter = next() < 0.08 ? Math.floor(next() * parts) : -1;
  for (let part = 0; part < parts; part++) {
    noise();
    if (part === cancelAfter) {
      steps.push((m) => m.cancelOrder(order.clientId, order.orderId));
      noise();
      return steps;
    }
    const shares = part === parts - 1 ? left : Math.max(1, Math.floor(left / (parts - part)));
    left -= shares;
    steps.push((m) => void executions.push(m.fill(order, shares)));
    if (left === 0) break;
  }
  // After the end: repeats only (TWS may still send them; nothing may change).
  noise();
  return steps;
}

describe("a run's stream and record under random interleavings of TWS messages", () => {
  const endings = new Set<string>();

  after(function () {
    // The fixed seeds must reach both endings, or the property says little; one replayed seed need not.
    if (SEEDS.length > 1) expect([...endings].sort()).to.deep.equal(["completed", "failed"]);
  });

  for (const seed of SEEDS) {
    it(`seed ${seed}: each order only moves forward, and the record equals the server`, async () => {
      const next = random(seed);
      const h = await startRebalancerAgainstTws({ holdFills: true });
      const scripts: Promise<void>[] = [];
      const scripted = new Set<TwsOrder>();
      try {
        // Each new order gets its script once acknowledged, run step by step with random gaps
        // (0: in the same read as the previous message).
        h.tws.market.onEvent((event) => {
          if (event.kind !== "order" || event.order.status !== "Submitted") return;
          // Resent snapshots are copies; only the order itself starts a script.
          if (!h.tws.market.orders.includes(event.order) || scripted.has(event.order)) return;
          scripted.add(event.order);
          const steps = script(event.order, next);
          const gaps = steps.map(() => (next() < 0.3 ? 0 : Math.floor(next() * 4)));
          scripts.push(
            (async () => {
              for (const [i, step] of steps.entries()) {
                await new Promise((resolve) => setTimeout(resolve, gaps[i]));
                step(h.tws.market);
              }
            })(),
          );
        });
        const events = await h.run(`property-${seed}`);
        await Promise.all(scripts);
        const final = events.at(-1)!.event;
        endings.add(final.case ?? "");
        const runId = events[0]!.runId;
        const orders = h.tws.market.orders;
        expect(orderStreamProblems(events), `seed ${seed}`).to.deep.equal([]);

        const sells = orders.filter((o) => o.action === "SELL");
        const buys = orders.filter((o) => o.action === "BUY");
        expect(sells.length, "the plan sells").to.be.greaterThan(0);
        if (sells.some((o) => o.status !== "Filled")) {
          expect(buys, "buys after a sell that did not fill").to.deep.equal([]);
          expect(final.case).to.equal("failed");
        }
        if (orders.every((o) => o.status === "Filled")) {
          expect(final.case, JSON.stringify(final.value)).to.equal("completed");
          if (final.case === "completed") expect(final.value.status).to.equal(RunStatus.COMPLETED);
        }
        const recorded = await h.recordOf(runId);
        const { record, server } = recordAndServer(recorded, h.tws.market);
        expect(record, `seed ${seed}`).to.deep.equal(server);
        // A stream follower (the console) ends on the same state of each order as the record.
        const told = new Map<string, string>();
        for (const { event } of events) {
          if (event.case === "orderSubmitted" || event.case === "orderUpdated") {
            const o = event.value.order!;
            told.set(o.orderId, `${o.orderId} ${o.status} ${o.filledQuantity}`);
          }
        }
        expect([...told.values()].sort()).to.deep.equal(
          recorded.orders.map((o) => `${o.orderId} ${o.status} ${o.filledQuantity}`).sort(),
        );
      } finally {
        await h.close();
      }
    });
  }
});
