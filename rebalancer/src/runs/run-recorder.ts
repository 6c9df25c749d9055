import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunEvent } from "../execution/run-event.js";
import { acceptedRunState, applyRunEvent, foldRun } from "./fold-run.js";
import { rebalanceResponse } from "./rebalance-response.js";
import { rebalanceResponses } from "./rebalance-responses.js";
import type { JournalEvent, RecordedEvent } from "./recorded-event.js";
import type { RunHeader } from "./run-header.js";
import { runMessage } from "./run-message.js";
import { RunRefusal } from "./run-refusal.js";
import type { RunState } from "./run-state.js";
import type { RunStore } from "./run-store.js";

/**
 * The one recorder of a run: numbers the run's events, appends each to its journal (one row,
 * whatever the run's size), folds it into the run's state, and turns it into the contract's
 * stream, fanned out to every stream following the run (the first caller and any repeat of its
 * idempotency key). Events are recorded in the order `record` is called, even when called again
 * before the previous one is recorded; once one fails, every later one fails with it. The final
 * record is stored and the run finished (onFinished called) before a stream can see the final
 * event, so a caller that reacts to it finds the account free.
 */
export class RunRecorder {
  private readonly history: RebalanceResponse[];
  private readonly listeners = new Set<() => void>();
  private broken: RunRefusal | undefined;
  /** True once this process handed the run over (`suspend`). */
  private handedOver = false;
  /** The record in progress: events are recorded one after another, in the order called. */
  private tail: Promise<void> = Promise.resolve();
  private sequence: number;

  private constructor(
    private readonly store: RunStore,
    /** Where the run stands: the fold of what is recorded. */
    readonly state: RunState,
    history: RebalanceResponse[],
    private readonly onFinished: () => void,
  ) {
    this.sequence = state.sequence;
    this.history = history;
  }

  /** A new run's recorder; nothing is recorded until `begin`. */
  static accept(
    store: RunStore,
    header: RunHeader,
    onFinished: () => void = () => undefined,
  ): RunRecorder {
    return new RunRecorder(store, acceptedRunState(header), [], onFinished);
  }

  /**
   * The recorder of a run recorded before (e.g. by a process that stopped), to go on with it:
   * its streams start with what the journal told.
   */
  static reopen(
    store: RunStore,
    journal: readonly RecordedEvent[],
    onFinished: () => void = () => undefined,
  ): RunRecorder {
    return new RunRecorder(store, foldRun(journal), rebalanceResponses(journal), onFinished);
  }

  get header(): RunHeader {
    return this.state.header;
  }

  /**
   * Records the run's acceptance, unless the store already has a run with its account and
   * idempotency key: then nothing is recorded and the existing run's id is returned.
   */
  async begin(): Promise<{ created: true } | { created: false; runId: string }> {
    const accepted = this.stamp({ kind: "accepted", header: this.header });
    const begun = await this.store.begin(accepted);
    if (!begun.created) return { created: false, runId: begun.run.runId };
    await this.fold(accepted);
    return { created: true };
  }

  /**
   * Records that this process hands the run over (it is stopping before the run could finish):
   * its streams end after this event, and the run waits in its journal to be resumed.
   */
  suspend(message: string): Promise<void> {
    this.handedOver = true;
    return this.append({ kind: "suspended", message });
  }

  /** Records an event of the run, then wakes the streams; see the class comment. */
  record(event: RunEvent): Promise<void> {
    return this.append(event);
  }

  private append(event: JournalEvent): Promise<void> {
    const recorded = this.stamp(event);
    this.tail = this.tail.then(async () => {
      await this.store.appendEvent(recorded);
      await this.fold(recorded);
    });
    return this.tail;
  }

  /**
   * Stops the run when its events can no longer be recorded: streams fail with the reason
   * instead of waiting for an event that will never come, and the record says why (as far as
   * the store still takes it).
   */
  async abort(reason: string): Promise<void> {
    this.broken = new RunRefusal("not_recorded", `run ${this.header.runId} stopped: ${reason}`);
    this.onFinished();
    this.wake();
    const failed = this.stamp({
      kind: "outcome",
      outcome: {
        status: "failed",
        reason: "internal",
        message: `internal error: the run could not be recorded: ${reason}`,
        recordNote: "",
      },
    });
    applyRunEvent(this.state, failed);
    await this.store.appendEvent(failed).catch(() => undefined);
    await this.store.finish(runMessage(this.state)).catch(() => undefined);
  }

  /**
   * Every event so far, then each new one until the final event, a `suspended` (the run was
   * handed over: the stream ends, to be followed again once resumed), or the recorder's abort.
   */
  async *follow(replayed: boolean): AsyncGenerator<RebalanceResponse> {
    let next = 0;
    let wake: () => void = () => undefined;
    const listener = () => wake();
    this.listeners.add(listener);
    try {
      for (;;) {
        while (next < this.history.length) {
          const event = this.history[next++]!;
          yield replayed ? { ...event, replayed } : event;
          if (isFinal(event)) return;
          // Handed over by this process: nothing more comes from here. A `suspended` of an
          // earlier process is history: the run was resumed since.
          if (event.event.case === "suspended" && this.handedOver) return;
        }
        if (this.broken) throw this.broken;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
    }
  }

  private stamp(event: JournalEvent): RecordedEvent {
    return { runId: this.header.runId, sequence: ++this.sequence, time: new Date(), event };
  }

  /** Folds a recorded event in; the final one also stores the final record and frees the run. */
  private async fold(recorded: RecordedEvent): Promise<void> {
    applyRunEvent(this.state, recorded);
    const response = rebalanceResponse(this.state, recorded, this.history.length + 1);
    const final = recorded.event.kind === "outcome";
    if (final) await this.store.finish(runMessage(this.state));
    if (response) this.history.push(response);
    if (final) this.onFinished();
    this.wake();
  }

  private wake(): void {
    for (const wake of this.listeners) wake();
  }
}

const finalCases = new Set(["completed", "failed", "postponed"]);

/** True for the event that ends a run's stream. */
function isFinal(event: RebalanceResponse): boolean {
  return finalCases.has(event.event.case ?? "");
}
