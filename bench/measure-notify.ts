// Notifications: a live run's duration, from the request to its final event, with a receiver
// that answers only after 10 s, against the same run with no receiver configured. The run only
// records the notification in the outbox (one SQLite row) and never waits for the receiver, so
// the ratio should be about 1. Each sample is a fresh rebalancer (its own data folder and
// simulated broker, so every run trades), the two configurations interleaved.
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseNotifyTarget } from "@mesh/platform/notify/notify-target";
import { openSqliteNotificationOutbox } from "@mesh/platform/notify/sqlite-notification-outbox";
import {
  startNotificationReceiver,
  type NotificationReceiver,
} from "@mesh/platform/testing/notification-receiver";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { startRebalancer } from "@mesh/rebalancer/app";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import type { BenchOptions, BenchSection } from "./bench-section.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

const accountsFile = fileURLToPath(new URL("../accounts.yaml", import.meta.url));

/** How long the slow receiver takes to answer, ms. */
const receiverDelayMs = 10_000;

/** Ratio still within noise. */
const noiseLimit = 1.25;

export async function measureNotify(options: BenchOptions = {}): Promise<BenchSection> {
  const samples = options.quick ? 3 : 20;
  const receiver = await startNotificationReceiver();
  receiver.delayMs = receiverDelayMs;
  const withReceiver: number[] = [];
  const without: number[] = [];
  let recorded = 0;
  try {
    await timeRun(undefined); // warm-up: the JIT, the first SQLite files
    for (let i = 0; i < samples; i++) {
      without.push((await timeRun(undefined)).ms);
      const slow = await timeRun(receiver);
      withReceiver.push(slow.ms);
      recorded += slow.recorded;
    }
  } finally {
    await receiver.stop();
  }
  const slow = sampleStats(withReceiver);
  const bare = sampleStats(without);
  const ratio = slow.median / bare.median;
  return {
    id: "notify",
    title: "Notifications: a live run with a slow receiver",
    figures: [
      {
        name: `live run with a receiver answering after ${receiverDelayMs / 1000} s`,
        unit: "ms",
        median: round(slow.median, 1),
        p99: round(slow.p99, 1),
        samples: withReceiver.length,
        baseline: {
          name: "the same run with no receiver",
          median: round(bare.median, 1),
          p99: round(bare.p99, 1),
        },
        ratio: round(ratio, 2),
        ratioMeaning: "run duration / with no receiver's; 1 is not slowed",
        target: "within noise of no receiver",
        met: ratio <= noiseLimit,
        detail: {
          notifications_recorded: recorded,
          with_range_ms: `${round(Math.min(...withReceiver), 1)}-${round(Math.max(...withReceiver), 1)}`,
          without_range_ms: `${round(Math.min(...without), 1)}-${round(Math.max(...without), 1)}`,
        },
      },
    ],
    notes: [
      `${samples} live runs each (interleaved), account DU1000001 of accounts.yaml on the ` +
        "simulated broker (fills after 5 ms), each on a fresh rebalancer; a run is timed from " +
        "the request to its final event",
    ],
  };
}

/** One live run on a fresh rebalancer, notifying `receiver` if given. */
async function timeRun(
  receiver: NotificationReceiver | undefined,
): Promise<{ ms: number; recorded: number }> {
  const scratch = createScratchDir("notify");
  const app = await startRebalancer({
    accountsFile,
    dataDir: scratch.dir,
    broker: createSimBroker({ fillDelayMs: 5 }),
    ...(receiver ? { notify: { targets: [parseNotifyTarget(receiver.url)] } } : {}),
  });
  try {
    const client = createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url }));
    const started = performance.now();
    let final = "";
    for await (const event of client.rebalance({
      accountId: "DU1000001",
      mode: ExecutionMode.LIVE,
      idempotencyKey: "bench",
    })) {
      final = event.event.case ?? "";
    }
    const ms = performance.now() - started;
    if (!final.startsWith("completed")) throw new Error(`the run ended ${final}`);
    let recorded = 0;
    if (receiver) {
      // The run finished before its receiver answered: the notification waits in the outbox.
      const outbox = openSqliteNotificationOutbox(scratch.path("notifications.sqlite"));
      recorded = (await outbox.counts()).pending;
      await outbox.close();
    }
    return { ms, recorded };
  } finally {
    await app.close(1000);
    scratch.remove();
  }
}
