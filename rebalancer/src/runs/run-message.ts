import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ExecutionMode,
  FailureReason,
  RunSchema,
  TargetSchema,
  TriggerSchema,
  type Order,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunOutcome } from "../execution/run-outcome.js";
import { fillMessage, orderMessage, positionMessage } from "./broker-messages.js";
import { failureReason } from "./failure-reason.js";
import { planMessage } from "./plan-message.js";
import { resumptionMessage, suspensionMessage } from "./resumption-message.js";
import type { RunState } from "./run-state.js";
import { runStatus } from "./run-status.js";

/** The contract's record of a run (what GetRun and ListRuns answer) as it stands in `state`. */
export function runMessage(state: RunState): Run {
  const { header, outcome, account } = state;
  return create(RunSchema, {
    runId: header.runId,
    accountId: header.accountId,
    mode: header.live ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN,
    trigger: create(TriggerSchema, header.trigger),
    idempotencyKey: header.idempotencyKey,
    status: runStatus(outcome),
    failureReason:
      outcome?.status === "failed" ? failureReason(outcome.reason) : FailureReason.UNSPECIFIED,
    message: outcome ? recordMessage(outcome) : "",
    createdAt: timestampFromDate(header.createdAt),
    finishedAt: state.finishedAt && timestampFromDate(state.finishedAt),
    targets: state.allocations?.targets.map((t) => create(TargetSchema, t)) ?? [],
    holdings: account?.holdings.map(positionMessage) ?? [],
    netLiquidation: account?.netLiquidation ?? 0,
    cash: account?.cash ?? 0,
    cashAfterSells: state.cashAfterSells,
    cashAfterRun: state.cashAfterRun,
    plan: state.plan && planMessage(state.plan),
    orders: ordersMessage(state),
    fills: state.fills.map(fillMessage),
    nextAttemptAt:
      outcome?.status === "postponed" && outcome.nextAttemptAt
        ? timestampFromDate(outcome.nextAttemptAt)
        : undefined,
    resumptions: state.resumptions.map((r) => resumptionMessage(r, r.time)),
    suspended: state.suspended && suspensionMessage(state.suspended.message, state.suspended.time),
  });
}

/** What the record says of how a run ended: a failure's message with what the record adds. */
export function recordMessage(outcome: RunOutcome): string {
  return outcome.status === "failed" ? outcome.message + outcome.recordNote : outcome.message;
}

/** The run's orders at their latest state, in placement order. */
export function ordersMessage(state: RunState): Order[] {
  return [...state.orders.values()].map(orderMessage);
}
