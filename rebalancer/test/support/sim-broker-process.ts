// Child process of sim-broker-crash.spec.ts: a simulated broker on a ledger file places one order,
// prints it once acknowledged, then prints every order event with the time it was reported,
// until it is killed.
//   node --import tsx rebalancer/test/support/sim-broker-process.ts <ledgerFile> <fillDelayMs>
import { createSimBroker } from "../../src/broker/sim/sim-broker.js";

const [ledgerFile, fillDelayMs] = process.argv.slice(2);
const broker = createSimBroker({ ledgerFile, fillDelayMs: Number(fillDelayMs) });
broker.onOrderEvent((event) =>
  process.stdout.write(
    `${JSON.stringify({ kind: event.kind, order: event.order, at: Date.now() })}\n`,
  ),
);
const placed = await broker.placeOrder({
  accountId: "DU1000001",
  symbol: "QQQ",
  side: "buy",
  quantity: 3,
  orderType: "market",
  timeInForce: "DAY",
  outsideRth: false,
  runId: "run-crash",
});
process.stdout.write(`${JSON.stringify({ kind: "placed", order: placed })}\n`);
// Keeps the process (and its timers) alive until the test kills it.
setInterval(() => undefined, 60_000);
