// Footprint: resident memory of each service in a process of its own, idle and after a number
// of events, against a bare Node.js process started the same way (tsx, no service) and, after
// the events, against the same service idle. Events go one at a time: webhook, delivery, run,
// fills, done. Before each event the strategy's targets switch between two sets, as when a
// strategy publishes new targets, so that every run trades.
import { performance } from "node:perf_hooks";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import {
  scenarioAccounts,
  scenarioTargets,
  scenarioTargetsShifted,
  writeScenario,
  writeTargets,
} from "./private/scenario.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { spawnService, type ServiceProcess } from "./private/spawn-service.js";
import { until } from "@mesh/platform/testing/until";
import { round, sampleStats } from "./sample-stats.js";

const MiB = 1024 * 1024;
/** Readings per figure, spaced out, so one allocation burst does not make the figure. */
const readings = 5;
const channel = "footprint";

export async function measureFootprint(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const events = quick ? 200 : 1_000;
  const scratch = createScratchDir("footprint");
  const scenario = writeScenario(
    scratch.dir,
    scenarioAccounts(1, 5, () => channel),
  );
  const started: ServiceProcess[] = [];
  const spawn = async (...args: Parameters<typeof spawnService>) => {
    const service = await spawnService(...args);
    started.push(service);
    return service;
  };
  try {
    const bare = await spawn("bare");
    const rebalancer = await spawn("rebalancer", {
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("rebalancer"),
      simStateFile: scenario.simStateFile,
    });
    const subscriber = await spawn("subscriber", {
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("subscriber"),
      rebalancerUrl: rebalancer.url,
    });
    await settle(1_000);
    const bareRss = await rssOf(bare);
    const idle = { rebalancer: await rssOf(rebalancer), subscriber: await rssOf(subscriber) };
    // After the RSS readings: a forced collection would change what they see.
    const idleHeap = {
      rebalancer: await rebalancer.retainedHeap(),
      subscriber: await subscriber.retainedHeap(),
    };

    const start = performance.now();
    for (let i = 1; i <= events; i++) {
      writeTargets(scratch.dir, channel, i % 2 === 1 ? scenarioTargetsShifted : scenarioTargets);
      const res = await fetch(`${subscriber.url}/events/${channel}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ exec: "rebalance", eventId: `footprint-${i}` }),
      });
      await res.body?.cancel();
      if (res.status !== 202) throw new Error(`the subscriber answered ${res.status}`);
      await until(
        async () => (await inboxDone(subscriber.url)) >= i,
        10_000,
        `event ${i}`,
        5,
      ).catch(async (err: unknown) => {
        const status = await (await fetch(`${subscriber.url}/status`)).text();
        throw new Error(`${(err as Error).message}; subscriber status ${status}`);
      });
    }
    const eventsSeconds = (performance.now() - start) / 1000;
    // Every run must have traded, or the events measured less than they claim.
    const ordersPlaced = await rebalancer.ordersPlaced();
    if (ordersPlaced < events) {
      throw new Error(`${events} events placed only ${ordersPlaced} orders`);
    }
    await settle(1_000);
    const after = { rebalancer: await rssOf(rebalancer), subscriber: await rssOf(subscriber) };
    const afterHeap = {
      rebalancer: await rebalancer.retainedHeap(),
      subscriber: await subscriber.retainedHeap(),
    };

    const bareBaseline = { name: "bare Node.js + tsx process", ...mib(bareRss) };
    const figures: BenchFigure[] = [];
    for (const service of ["rebalancer", "subscriber"] as const) {
      figures.push(
        {
          name: `${service} idle`,
          unit: "MiB",
          ...mib(idle[service]),
          samples: readings,
          baseline: bareBaseline,
          ratio: round(idle[service].median / bareRss.median, 2),
          ratioMeaning: "RSS / bare process RSS",
          detail: { heap_after_gc_mib: round(idleHeap[service] / MiB, 1) },
        },
        {
          name: `${service} after ${events.toLocaleString("en-US")} events`,
          unit: "MiB",
          ...mib(after[service]),
          samples: readings,
          baseline: { name: `${service} idle`, ...mib(idle[service]) },
          ratio: round(after[service].median / idle[service].median, 2),
          ratioMeaning: "RSS after the events / RSS idle",
          detail: {
            heap_after_gc_mib: round(afterHeap[service] / MiB, 1),
            heap_after_gc_growth_mib: round((afterHeap[service] - idleHeap[service]) / MiB, 1),
            ...(service === "rebalancer" ? { orders_placed: ordersPlaced } : {}),
          },
        },
      );
    }
    return {
      id: "footprint",
      title: "Footprint: resident memory per service process",
      figures,
      notes: [
        `${events.toLocaleString("en-US")} events one at a time${quick ? " (quick set; the full set has 1,000)" : ""}, ` +
          `each a paper run with orders on the simulated broker (targets switched before each); ${round(eventsSeconds, 1)} s in all`,
        `${readings} RSS readings per figure, 1 s after start and after the last event, no forced ` +
          "GC; then the heap in use after a forced full GC (the detail heap_after_gc_mib); " +
          "services started as by their main.ts but without the telemetry exporters",
      ],
    };
  } finally {
    for (const service of started.reverse()) await service.stop();
    scratch.remove();
  }
}

async function rssOf(service: ServiceProcess): Promise<{ median: number; p99: number }> {
  const values: number[] = [];
  for (let i = 0; i < readings; i++) {
    if (i > 0) await settle(100);
    values.push((await service.memory()).rss);
  }
  const stats = sampleStats(values);
  return { median: stats.median, p99: stats.p99 };
}

function mib(bytes: { median: number; p99: number }): { median: number; p99: number } {
  return { median: round(bytes.median / MiB, 1), p99: round(bytes.p99 / MiB, 1) };
}

async function inboxDone(subscriberUrl: string): Promise<number> {
  const res = await fetch(`${subscriberUrl}/status`);
  const status = (await res.json()) as { inbox?: { done?: number; dead?: number } };
  return (status.inbox?.done ?? 0) + (status.inbox?.dead ?? 0);
}

function settle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
