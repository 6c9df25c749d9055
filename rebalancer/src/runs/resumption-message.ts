import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Phase,
  ResumeCause,
  RunResumedSchema,
  RunSuspendedSchema,
  type RunResumed,
  type RunSuspended,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { ResumeCause as Cause, RunResumption } from "../execution/run-resumption.js";
import { orderMessage } from "./broker-messages.js";
import { phaseMessage } from "./phase-message.js";

const causes: Record<Cause, ResumeCause> = {
  process_stopped: ResumeCause.PROCESS_STOPPED,
  handed_over: ResumeCause.HANDED_OVER,
  broker_reconnected: ResumeCause.BROKER_RECONNECTED,
};

/** The contract's form of a resume: what was found, what comes next. */
export function resumptionMessage(resumption: RunResumption, time: Date): RunResumed {
  return create(RunResumedSchema, {
    cause: causes[resumption.cause],
    phase: resumption.phase ? phaseMessage(resumption.phase) : Phase.UNSPECIFIED,
    orders: resumption.orders.map(orderMessage),
    adoptedOrderIds: resumption.adoptedOrderIds,
    fillsRecovered: resumption.fillsRecovered,
    message: resumption.message,
    time: timestampFromDate(time),
  });
}

/** The contract's form of a handover: the run waits to be resumed. */
export function suspensionMessage(message: string, time: Date): RunSuspended {
  return create(RunSuspendedSchema, { message, time: timestampFromDate(time) });
}
