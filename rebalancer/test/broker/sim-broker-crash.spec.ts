// The simulated broker's ledger against a real SIGKILL: what it acknowledged or booked before the
// kill is there after the restart, and working orders carry on on their schedule.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";
import { expect } from "chai";
import type { BrokerOrder, OrderEvent } from "../../src/broker/broker.js";
import { createSimBroker, type SimBroker } from "../../src/broker/sim/sim-broker.js";

const child = fileURLToPath(new URL("../support/sim-broker-process.ts", import.meta.url));

interface Line {
  kind: "placed" | OrderEvent["kind"];
  order: BrokerOrder;
  /** When the child reported it, ms since the epoch (events only). */
  at?: number;
}

/** Runs the child until `killAt` matches a line it printed, SIGKILLs it, and returns that line. */
async function killWhen(ledgerFile: string, fillDelayMs: number, killAt: (line: Line) => boolean) {
  const sim = spawn(process.execPath, ["--import", "tsx", child, ledgerFile, `${fillDelayMs}`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(sim, "exit");
  try {
    for await (const text of createInterface({ input: sim.stdout })) {
      const line = JSON.parse(text) as Line;
      if (killAt(line)) {
        sim.kill("SIGKILL");
        return { line };
      }
    }
    throw new Error("the child ended before the moment to kill it");
  } finally {
    sim.kill("SIGKILL");
    await exited;
  }
}

describe("the simulated broker's ledger across a SIGKILL", function () {
  this.timeout(30_000);
  let broker: SimBroker | undefined;
  afterEach(() => broker?.close());

  const ledgerFile = () => join(mkdtempSync(join(tmpdir(), "sim-crash-")), "sim-ledger.sqlite");

  function restart(file: string, fillDelayMs: number) {
    broker = createSimBroker({ ledgerFile: file, fillDelayMs });
    const events: OrderEvent[] = [];
    broker.onOrderEvent((e) => events.push(e));
    return { broker, events };
  }

  it("keeps an order acknowledged right before the kill, and fills it after the restart", async () => {
    const file = ledgerFile();
    // Killed as soon as placeOrder answered: the order may or may not have been submitted yet.
    const { line } = await killWhen(file, 2000, (l) => l.kind === "placed");
    const { broker, events } = restart(file, 50);
    expect((await broker.openOrders("DU1000001")).map((o) => o.orderId)).to.deep.equal([
      line.order.orderId,
    ]);
    const filled = await until(
      () => events.find((e) => e.kind === "status" && e.order.status === "filled"),
      5000,
      "the order filled after the restart",
    );
    expect(filled.order.orderId).to.equal(line.order.orderId);
    const activity = await broker.runActivity("DU1000001", "run-crash", new Date(0));
    expect(activity.orders.map((o) => [o.orderId, o.status])).to.deep.equal([
      [line.order.orderId, "filled"],
    ]);
    expect(activity.fills.map((f) => f.executionId)).to.deep.equal([`${line.order.orderId}.1`]);
  });

  it("fills an order submitted before the kill on the schedule it had", async () => {
    const file = ledgerFile();
    const { line } = await killWhen(file, 1500, (l) => l.order.status === "submitted");
    const { broker, events } = restart(file, 60_000);
    expect((await broker.openOrders("DU1000001")).map((o) => o.orderId)).to.deep.equal([
      line.order.orderId,
    ]);
    await until(() => events.some((e) => e.kind === "fill"), 10_000, "the fill after the restart");
    // Due 1500 ms after its submission (not at once, not after the new 60 s delay).
    expect(Date.now()).to.be.at.least(line.at! + 1500 - 20);
  });

  it("keeps a fill booked before the kill: shares, cash and the execution", async () => {
    const file = ledgerFile();
    const cash = 25_000;
    await killWhen(file, 10, (l) => l.kind === "status" && l.order.status === "filled");
    const { broker } = restart(file, 50);
    const qqq = (await broker.holdings("DU1000001")).find((h) => h.symbol === "QQQ");
    expect(qqq?.quantity).to.equal(33);
    expect((await broker.accountValues("DU1000001")).cash).to.be.below(cash);
    const activity = await broker.runActivity("DU1000001", "run-crash", new Date(0));
    expect(activity.fills.map((f) => f.quantity)).to.deep.equal([3]);
    expect(await broker.openOrders("DU1000001")).to.deep.equal([]);
  });
});
