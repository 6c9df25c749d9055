import { create } from "@bufbuild/protobuf";
import {
  ExecutionMode,
  WatchRunsResponseSchema,
  type RebalanceResponse,
  type RunStatus,
  type WatchRunsResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { JournalFeed } from "../runs/journal-feed.js";
import type { RecordedEvent } from "../runs/recorded-event.js";
import { RunNarrator } from "../runs/run-narrator.js";
import { runStatus } from "../runs/run-status.js";
import type { RunStore } from "../runs/run-store.js";
import { resumeToken, tokenPosition } from "./resume-token.js";

/** What a watch reads. */
export interface RunWatchSource {
  /** The journal of every run; no default. */
  store: RunStore;
  /** Wakes the watch when the journal grows; no default. */
  feed: JournalFeed;
  /**
   * After this long without an event to tell, the watch tells where it stands (a response with
   * only a resume token): idle connections stay open through proxies, and the token moves past
   * events the filters left out. No default.
   */
  heartbeatMs: number;
}

/** Which events a watch tells, and from where. */
export interface RunWatchRequest {
  /** Only runs of these accounts; empty for every account. */
  accountIds: readonly string[];
  /** Only events after which their run has one of these statuses; empty for every event. */
  statuses: readonly RunStatus[];
  /** Resume after the event this token was given with; empty to start now. */
  resumeToken: string;
}

/** Journal events read at once: a long replay is read a page at a time. */
const page = 200;
/** Runs whose state a watch keeps between their events; one met again is read back. */
const runsKept = 1000;

/**
 * WatchRuns: the events of every run after the watch's position, read from the journal in the
 * order they were recorded, then waiting for the journal to grow. The journal is the only source,
 * so a resumed watch gets each event it missed exactly once, and a watch that reads slowly only
 * falls behind in the journal: no run waits for it and nothing piles up for it in memory. Ends
 * when `signal` aborts (the caller left, or the service stops), with the signal's reason.
 */
export async function* watchRuns(
  source: RunWatchSource,
  request: RunWatchRequest,
  signal: AbortSignal,
): AsyncGenerator<WatchRunsResponse> {
  const { store, feed } = source;
  const accounts = new Set(request.accountIds);
  const statuses = new Set(request.statuses);
  // Events up to here were recorded before the watch started: replayed.
  const startedAt = await store.lastPosition();
  let position = request.resumeToken ? tokenPosition(request.resumeToken, startedAt) : startedAt;
  yield create(WatchRunsResponseSchema, { resumeToken: resumeToken(position) });

  /** What the watch knows of each run: its narrator, or that it is another account's. */
  const runs = new Map<string, RunNarrator | "not watched">();
  const watched = (accountId: string) => accounts.size === 0 || accounts.has(accountId);
  /** The run's narrator with every event before `recorded` told; none for another account's. */
  const narratorOf = async (recorded: RecordedEvent): Promise<RunNarrator | "not watched"> => {
    const known = runs.get(recorded.runId);
    if (known) return known;
    let narrator: RunNarrator | "not watched" = new RunNarrator();
    const { event } = recorded;
    if (event.kind === "accepted") {
      if (!watched(event.header.accountId)) narrator = "not watched";
    } else {
      // A run met after its acceptance (running when the watch started, or forgotten since).
      const journal = await store.events(recorded.runId);
      const first = journal[0]?.event;
      if (first?.kind === "accepted" && !watched(first.header.accountId)) {
        narrator = "not watched";
      } else {
        for (const earlier of journal) {
          if (earlier.sequence < recorded.sequence) narrator.tell(earlier);
        }
      }
    }
    runs.set(recorded.runId, narrator);
    if (runs.size > runsKept) runs.delete(runs.keys().next().value!);
    return narrator;
  };

  for (;;) {
    // Taken before the read: growth during the read wakes the wait below at once.
    const seen = feed.version;
    const entries = await store.eventsAfter(position, page);
    for (const { position: at, recorded } of entries) {
      position = at;
      let narrator: RunNarrator | "not watched";
      let event: RebalanceResponse | undefined;
      try {
        narrator = await narratorOf(recorded);
        if (narrator !== "not watched") event = narrator.tell(recorded);
      } catch {
        // A journal that cannot be told (none should: each starts with its acceptance) is
        // passed over, rather than stopping every watch at this position for good.
        runs.delete(recorded.runId);
        continue;
      }
      if (recorded.event.kind === "outcome") runs.delete(recorded.runId);
      if (narrator === "not watched" || !event) continue;
      const state = narrator.state!;
      const { accountId, live } = state.header;
      const status = runStatus(state.outcome);
      if (statuses.size > 0 && !statuses.has(status)) continue;
      event.replayed = at <= startedAt;
      yield create(WatchRunsResponseSchema, {
        runId: recorded.runId,
        accountId,
        mode: live ? ExecutionMode.LIVE : ExecutionMode.DRY_RUN,
        status,
        event,
        resumeToken: resumeToken(at),
      });
    }
    if (entries.length < page && !(await grownWithin(feed, seen, source.heartbeatMs, signal))) {
      yield create(WatchRunsResponseSchema, { resumeToken: resumeToken(position) });
    }
  }
}

/** True once the journal grew past `seen`; false when `ms` passed first. */
async function grownWithin(
  feed: JournalFeed,
  seen: number,
  ms: number,
  signal: AbortSignal,
): Promise<boolean> {
  // One controller for both ends of the wait, without AbortSignal.any: this runs once per event
  // per watch, and signals composed that way are kept alive by the watch's own signal.
  const wait = new AbortController();
  const left = () => wait.abort(signal.reason);
  signal.addEventListener("abort", left, { once: true });
  if (signal.aborted) left();
  const timer = setTimeout(() => wait.abort(), ms);
  try {
    await feed.grownPast(seen, wait.signal);
    return true;
  } catch (err) {
    if (signal.aborted) throw err;
    return false;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", left);
  }
}
