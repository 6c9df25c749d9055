// Follows WatchRuns for a page: reconnecting with the last resume token whenever the stream
// drops, so the page misses no event and sees none twice.
import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchRunsResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { ViewContext } from "./view-context.js";

/** Where a followed watch stands, for the page to say. */
export type FollowState = "live" | "reconnecting";

/** What followRuns tells the page. */
export interface RunFollower {
  /** Each run event, in the order recorded. */
  onEvent(response: WatchRunsResponse): void;
  /** When the watch drops and when it is live again. */
  onState(state: FollowState): void;
}

/** The longest wait between two reconnections, in milliseconds. */
const maxRetryMs = 30_000;

/**
 * Watches the runs of `accountIds` until the page's signal aborts. Resolves once the watch is
 * open (its first response, where it starts, has arrived), so that what the page lists
 * afterwards cannot miss a run recorded in between; events then arrive through `follower`.
 */
export async function followRuns(
  context: ViewContext,
  accountIds: string[],
  follower: RunFollower,
): Promise<void> {
  const { client, withApiKey, signal } = context;
  let resumeToken = "";
  const open = () =>
    client.watchRuns({ accountIds, resumeToken }, { signal })[Symbol.asyncIterator]();
  let responses = open();
  const start = await withApiKey(() => {
    responses = open();
    return responses.next();
  });
  if (!start.done) resumeToken = start.value.resumeToken;
  follower.onState("live");

  void (async () => {
    let failures = 0;
    for (;;) {
      try {
        for (let next = await responses.next(); !next.done; next = await responses.next()) {
          // A reconnection's first response only says where it starts: the token already held.
          if (next.value.event === undefined) {
            if (failures > 0) follower.onState("live");
            failures = 0;
          } else follower.onEvent(next.value);
          resumeToken = next.value.resumeToken;
        }
      } catch (error) {
        // Dropped (network, a restart of the rebalancer): reconnect below. A token refused is
        // one from another journal (the rebalancer's database was replaced): start now.
        if (ConnectError.from(error).code === Code.InvalidArgument) resumeToken = "";
      }
      if (signal.aborted) return;
      failures++;
      follower.onState("reconnecting");
      // Waits longer after each failure in a row, so a rebalancer that is down is not hammered.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(maxRetryMs, 250 * 2 ** failures)),
      );
      if (signal.aborted) return;
      responses = open();
    }
  })();
}
