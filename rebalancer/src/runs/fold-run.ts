import { isNotBehind } from "../execution/order-tracker.js";
import type { BrokerOrder } from "../broker/broker.js";
import type { RecordedEvent } from "./recorded-event.js";
import type { RunHeader } from "./run-header.js";
import type { RunState } from "./run-state.js";

/** A run just accepted. */
export function acceptedRunState(header: RunHeader): RunState {
  return {
    header,
    sequence: 0,
    planChecked: false,
    orders: new Map(),
    fills: [],
    fillIds: new Set(),
    resumptions: [],
  };
}

/**
 * Where a run stands after its journal (which starts with its acceptance): the one definition of
 * a run's state, used by the live recorder and by anything that reads a run back. Pure: `events`
 * are not changed, and folding the same events gives the same state.
 */
export function foldRun(events: readonly RecordedEvent[]): RunState {
  const [first, ...rest] = events;
  if (first?.event.kind !== "accepted") {
    throw new Error(`run ${first?.runId ?? "(none)"}: a journal starts with its acceptance`);
  }
  const state = acceptedRunState(first.event.header);
  state.sequence = first.sequence;
  for (const event of rest) applyRunEvent(state, event);
  return state;
}

/**
 * Folds one more event into `state`, in place, at a cost that does not grow with the run.
 * Idempotent for orders and fills: an order never moves back, a fill counts once.
 */
export function applyRunEvent(state: RunState, recorded: RecordedEvent): RunState {
  state.sequence = recorded.sequence;
  const { event } = recorded;
  switch (event.kind) {
    case "accepted":
      state.header = event.header;
      break;
    case "phaseStarted":
      state.phase = event.phase;
      if (event.phase !== "resuming") state.stoodIn = event.phase;
      break;
    case "allocationsFetched":
      state.allocations = {
        strategy: event.strategy,
        targets: event.targets,
        asOf: event.asOf,
        ...(event.published ? { published: event.published } : {}),
      };
      break;
    case "accountRead":
      // The record keeps what the run started from; the re-read after the sells adds its cash.
      if (event.moment === "after sells") {
        state.cashAfterSells = event.cash;
      } else {
        state.account = {
          holdings: event.holdings,
          netLiquidation: event.netLiquidation,
          cash: event.cash,
        };
      }
      break;
    case "cashAfterRun":
      state.cashAfterRun = event.cash;
      break;
    case "planMade": {
      const { sells, buys, weights, projectedCash, reservedCash, warnings } = event.plan;
      // A copy: later warnings must not change the event.
      state.plan = { sells, buys, weights, projectedCash, reservedCash, warnings: [...warnings] };
      break;
    }
    case "warning":
      state.plan?.warnings.push(event.message);
      break;
    case "planChecked":
      state.planChecked = true;
      if (state.plan) {
        if (event.preflight) state.plan.preflight = event.preflight;
        if (event.buys) state.plan.buys = event.buys;
      }
      break;
    case "orderPlaced":
    case "orderChanged":
      upsertOrder(state, event.order);
      break;
    case "fill":
      upsertOrder(state, event.order);
      if (!state.fillIds.has(event.fill.executionId)) {
        state.fillIds.add(event.fill.executionId);
        state.fills.push(event.fill);
      }
      break;
    case "resumed":
      state.resumptions.push({ ...event.resumption, time: recorded.time });
      state.suspended = undefined;
      break;
    case "suspended":
      state.suspended = { message: event.message, time: recorded.time };
      break;
    case "outcome":
      state.outcome = event.outcome;
      state.finishedAt = recorded.time;
      break;
  }
  return state;
}

function upsertOrder(state: RunState, order: BrokerOrder): void {
  const known = state.orders.get(order.orderId);
  if (!known || isNotBehind(known, order)) state.orders.set(order.orderId, order);
}
