import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  RebalanceResponseSchema,
  type RebalanceResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunEvent } from "../execution/run-event.js";
import { isOrderEvent } from "./fold-order-events.js";
import type { RunStore } from "./run-store.js";

const finalCases = new Set(["completed", "failed", "postponed"]);

/** True for the event that ends a run's stream. */
function isFinal(event: RebalanceResponse): boolean {
  return finalCases.has(event.event.case ?? "");
}

/**
 * The progress events of one running run: numbered, recorded with the run before anyone sees
 * them, and fanned out to every stream following the run (the first caller and any repeat of its
 * idempotency key).
 */
export class RunFeed {
  private readonly history: RebalanceResponse[] = [];
  private readonly listeners = new Set<() => void>();
  private sequence = 0;
  private broken: ConnectError | undefined;
  /** The append in progress: appends are recorded one after another, in the order called. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly run: Run,
    private readonly store: RunStore,
    /** Called once the final event is recorded, before any stream sees it. */
    private readonly onFinished: () => void = () => undefined,
  ) {}

  /**
   * Records an event, then wakes the streams. This is the run's one sequencer: events are
   * numbered and recorded in the order `append` is called, even when called again before the
   * previous one is recorded; once one fails, every later one fails with it. An order event is
   * appended alone (O(1)); any other event also saves the run's record as it now stands (a
   * handful per run). The run is finished (finishedAt set, onFinished called) before a stream
   * can see the final event, so a caller that reacts to it finds the account free.
   */
  append(event: RunEvent): Promise<void> {
    const message = create(RebalanceResponseSchema, {
      runId: this.run.runId,
      sequence: ++this.sequence,
      time: timestampNow(),
      event,
    });
    this.tail = this.tail.then(() => this.record(message));
    return this.tail;
  }

  private async record(message: RebalanceResponse): Promise<void> {
    const final = isFinal(message);
    if (final) this.run.finishedAt = message.time;
    await this.store.appendEvent(message);
    if (!isOrderEvent(message)) await this.store.save(this.run, message.sequence);
    this.history.push(message);
    if (final) this.onFinished();
    for (const wake of this.listeners) wake();
  }

  /**
   * Ends the feed without a final event, when the run can no longer be recorded: streams fail
   * with the reason instead of waiting for an event that will never come.
   */
  abort(reason: string): void {
    this.broken = new ConnectError(`run ${this.run.runId} stopped: ${reason}`, Code.Internal);
    this.onFinished();
    for (const wake of this.listeners) wake();
  }

  /** Every event so far, then each new one until the final event (or the feed's abort). */
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
        }
        if (this.broken) throw this.broken;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
    }
  }
}
