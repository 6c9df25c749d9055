import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { GapSchema, GapState, type Gap as GapMessage } from "@mesh/proto/subscriber/v1/subscriber";
import type { Gap, GapState as StoredState } from "../inbox/gap-store.js";

/** The contract's name of each gap state. */
const gapStateMessages: Record<StoredState, GapState> = {
  open: GapState.OPEN,
  covered: GapState.COVERED,
  unrecoverable: GapState.UNRECOVERABLE,
};

/** The stored state a contract state names; undefined for UNSPECIFIED (any state). */
export function storedGapState(state: GapState): StoredState | undefined {
  const found = Object.entries(gapStateMessages).find(([, message]) => message === state);
  return found?.[0] as StoredState | undefined;
}

/** A recorded gap as the contract shows it. */
export function gapMessage(gap: Gap): GapMessage {
  const time = (ms: number | undefined) => (ms === undefined ? undefined : timestampFromMs(ms));
  return create(GapSchema, {
    id: BigInt(gap.id),
    channel: gap.channel,
    state: gapStateMessages[gap.state],
    cause: gap.cause,
    from: time(gap.from),
    to: time(gap.to),
    openedAt: time(gap.openedAt),
    closedAt: time(gap.closedAt),
    failures: gap.failures,
    lastError: gap.lastError,
    recovered: gap.recovered,
    reason: gap.reason,
    acknowledgedAt: time(gap.acknowledgedAt),
    acknowledgedBy: gap.acknowledgedBy ?? "",
  });
}
