import { create } from "@bufbuild/protobuf";
import {
  PlanSchema,
  PlannedOrderSchema,
  PreflightResultSchema,
  PreflightSchema,
  ProjectedWeightSchema,
  type Plan as PlanMessage,
  type Preflight,
  type PreflightResult as PreflightResultMessage,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { PreflightReport, PreflightResult } from "../execution/preflight-report.js";
import type { PlannedOrder } from "../planning/index.js";
import { sideMessage } from "./broker-messages.js";
import type { RunPlan } from "./run-state.js";

/** The contract's form of a run's plan: sells then buys, weights, cash, warnings, preflight. */
export function planMessage(plan: RunPlan): PlanMessage {
  const order = (o: PlannedOrder) =>
    create(PlannedOrderSchema, {
      symbol: o.symbol,
      side: sideMessage(o.side),
      quantity: o.quantity,
      price: o.price,
      marketValue: o.value,
      reason: o.reason,
    });
  return create(PlanSchema, {
    orders: [...plan.sells.map(order), ...plan.buys.map(order)],
    weights: plan.weights.map((w) =>
      create(ProjectedWeightSchema, {
        symbol: w.symbol,
        currentWeight: w.current,
        targetWeight: w.target,
        projectedWeight: w.projected,
      }),
    ),
    projectedCash: plan.projectedCash,
    reservedCash: plan.reservedCash,
    warnings: [...plan.warnings],
    preflight: plan.preflight && preflightMessage(plan.preflight),
  });
}

function preflightMessage(report: PreflightReport): Preflight {
  return create(PreflightSchema, { ...report, results: report.results.map(resultMessage) });
}

function resultMessage(result: PreflightResult): PreflightResultMessage {
  return create(PreflightResultSchema, {
    symbol: result.symbol,
    side: sideMessage(result.side),
    quantity: result.quantity,
    accepted: result.accepted,
    reason: result.reason,
    brokerCode: result.brokerCode,
    initialMarginChange: result.initialMarginChange,
    maintenanceMarginChange: result.maintenanceMarginChange,
    equityWithLoanChange: result.equityWithLoanChange,
    commission: result.commission,
    commissionCurrency: result.commissionCurrency,
    warnings: [...result.warnings],
  });
}
