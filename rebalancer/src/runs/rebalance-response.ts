import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AllocationsFetchedSchema,
  ExecutionMode,
  OrderFilledSchema,
  OrderSubmittedSchema,
  OrderUpdatedSchema,
  PhaseChangedSchema,
  PlanReadySchema,
  RebalanceResponseSchema,
  RunAcceptedSchema,
  RunCompletedSchema,
  RunFailedSchema,
  RunPostponedSchema,
  TargetSchema,
  type RebalanceResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { fillMessage, orderMessage } from "./broker-messages.js";
import { failureReason } from "./failure-reason.js";
import { phaseMessage } from "./phase-message.js";
import { planMessage } from "./plan-message.js";
import type { RecordedEvent } from "./recorded-event.js";
import { resumptionMessage, suspensionMessage } from "./resumption-message.js";
import { ordersMessage } from "./run-message.js";
import type { RunState } from "./run-state.js";
import { runStatus } from "./run-status.js";

/**
 * What the Rebalance stream tells of a recorded event, numbered `sequence`; undefined for the
 * events only the record keeps (the account read, the plan before its checks, warnings).
 * `state` is the run with the event folded in.
 */
export function rebalanceResponse(
  state: RunState,
  recorded: RecordedEvent,
  sequence: number,
): RebalanceResponse | undefined {
  const event = eventMessage(state, recorded);
  if (!event) return undefined;
  return create(RebalanceResponseSchema, {
    runId: recorded.runId,
    sequence,
    time: timestampFromDate(recorded.time),
    event,
  });
}

function eventMessage(
  state: RunState,
  { event, time }: RecordedEvent,
): RebalanceResponse["event"] | undefined {
  switch (event.kind) {
    case "accepted": {
      const { accountId, live, idempotencyKey } = event.header;
      const mode = live ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN;
      return {
        case: "accepted",
        value: create(RunAcceptedSchema, { accountId, mode, idempotencyKey }),
      };
    }
    case "phaseStarted":
      return {
        case: "phase",
        value: create(PhaseChangedSchema, { phase: phaseMessage(event.phase) }),
      };
    case "allocationsFetched":
      return {
        case: "allocations",
        value: create(AllocationsFetchedSchema, {
          strategy: event.strategy,
          targets: event.targets.map((t) => create(TargetSchema, t)),
          asOf: event.asOf,
        }),
      };
    case "accountRead":
    case "cashAfterRun":
    case "planMade":
    case "warning":
      return undefined;
    case "planChecked":
      return {
        case: "plan",
        value: create(PlanReadySchema, {
          plan: state.plan && planMessage(state.plan),
          netLiquidation: state.account?.netLiquidation ?? 0,
          cash: state.account?.cash ?? 0,
        }),
      };
    case "orderPlaced":
      return {
        case: "orderSubmitted",
        value: create(OrderSubmittedSchema, { order: orderMessage(event.order) }),
      };
    case "orderChanged":
      return {
        case: "orderUpdated",
        value: create(OrderUpdatedSchema, { order: orderMessage(event.order) }),
      };
    case "fill":
      return {
        case: "orderFilled",
        value: create(OrderFilledSchema, { fill: fillMessage(event.fill) }),
      };
    case "resumed":
      return { case: "resumed", value: resumptionMessage(event.resumption, time) };
    case "suspended":
      return { case: "suspended", value: suspensionMessage(event.message, time) };
    case "outcome": {
      const { outcome } = event;
      switch (outcome.status) {
        case "completed":
        case "completed_with_adjustments":
          return {
            case: "completed",
            value: create(RunCompletedSchema, {
              status: runStatus(outcome),
              message: outcome.message,
              orders: ordersMessage(state),
            }),
          };
        case "failed":
          return {
            case: "failed",
            value: create(RunFailedSchema, {
              reason: failureReason(outcome.reason),
              message: outcome.message,
              orders: ordersMessage(state),
            }),
          };
        case "postponed":
          return {
            case: "postponed",
            value: create(RunPostponedSchema, {
              nextAttemptAt: outcome.nextAttemptAt && timestampFromDate(outcome.nextAttemptAt),
              message: outcome.message,
            }),
          };
      }
    }
  }
}
