import type { Meter } from "@opentelemetry/api";
import type { Broker, BrokerOrder } from "./broker/broker.js";

/** What the rebalancer counts: runs by mode and outcome, orders by side and outcome. */
export interface RunMetrics {
  runFinished(mode: "dry_run" | "live", status: string): void;
  orderFinished(order: BrokerOrder): void;
}

/** Registers the rebalancer's instruments, including the broker connection gauge. */
export function createRunMetrics(meter: Meter, broker: Broker): RunMetrics {
  const runs = meter.createCounter("rebalancer.runs", { description: "Runs by mode and outcome" });
  const orders = meter.createCounter("rebalancer.orders", {
    description: "Orders by side and final status",
  });
  meter
    .createObservableGauge("rebalancer.broker.connected", {
      description: "1 while the broker connection is up",
    })
    .addCallback((result) =>
      result.observe(broker.health().connected ? 1 : 0, { "broker.name": broker.name }),
    );
  return {
    runFinished: (mode, status) => runs.add(1, { "run.mode": mode, "run.status": status }),
    orderFinished: (order) =>
      orders.add(1, { "order.side": order.side, "order.status": order.status }),
  };
}
