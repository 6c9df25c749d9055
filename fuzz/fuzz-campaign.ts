// The fuzz campaign: starts the real rebalancer (simulated broker, one live-capable paper
// account) and the real subscriber as processes on free loopback ports, sends generated bad
// requests to every protocol, and reports what must never happen: orders or live runs caused by
// invalid input, server errors, resets, hangs, and memory growth.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { ExecutionMode, RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import { writeScenario } from "../bench/private/scenario.js";
import { createScratchDir } from "../bench/private/scratch-dir.js";
import { spawnService, type ServiceProcess } from "../bench/private/spawn-service.js";
import { until } from "@mesh/platform/testing/until";
import {
  Http2Connections,
  isServerError,
  sendFuzzRequest,
  type FuzzOutcome,
  type FuzzRequest,
} from "./fuzz-request.js";
import { fuzzScenarios } from "./fuzz-scenarios.js";
import { rebalancerCase } from "./rebalancer-cases.js";
import { subscriberCase } from "./subscriber-cases.js";

/** Options of runFuzzCampaign. */
export interface FuzzOptions {
  /** Seed of the generation; the same seed and count send the same requests. */
  seed: number;
  /** Requests to send; about 10,000 for the full form, a few hundred for the quick one. */
  count: number;
  /** Requests in flight at once; default 8. */
  concurrency?: number;
  /** An answer later than this is a hang, ms; default 5000. */
  hangMs?: number;
  /** Growth of either service's resident memory allowed after warm-up, bytes; default 128 MiB. */
  rssGrowthLimit?: number;
  /** Called every 500 requests. */
  progress?(sent: number): void;
}

/** One finding, enough to send the same request again. */
export interface FuzzFinding {
  index: number;
  request: string;
  outcome: string;
}

/** What the campaign saw. */
export interface FuzzReport {
  seed: number;
  /** Generated requests sent. */
  sent: number;
  /** Requests of the fixed scenarios (see fuzz-scenarios.ts) sent besides. */
  scenarioRequests: number;
  byProtocol: Record<string, number>;
  /** Orders placed at the simulated broker while only invalid or dry-run input was sent. */
  ordersPlaced: number;
  /** Live runs in the run store: every one came from invalid input. */
  liveRuns: number;
  /** The requests that carried the live runs' idempotency keys, when known. */
  liveRunRequests: string[];
  serverErrors: FuzzFinding[];
  resets: FuzzFinding[];
  hangs: FuzzFinding[];
  /** Resident memory after warm-up and at the end, per service, bytes. */
  rss: Record<"rebalancer" | "subscriber", { warm: number; end: number }>;
  rssGrowthLimit: number;
  /** Whether every count is zero and memory stayed within the limit. */
  clean: boolean;
}

const channel = "fuzz";
const accountId = "DU7000000";
const chunk = 500;

export async function runFuzzCampaign(options: FuzzOptions): Promise<FuzzReport> {
  const concurrency = options.concurrency ?? 8;
  const hangMs = options.hangMs ?? 5000;
  const rssGrowthLimit = options.rssGrowthLimit ?? 128 * 1024 * 1024;
  const scratch = createScratchDir("fuzz");
  const scenario = writeScenario(scratch.dir, [{ accountId, strategy: channel }]);
  const started: ServiceProcess[] = [];
  const http2 = new Http2Connections();
  try {
    const rebalancer = await spawnService("rebalancer", {
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("rebalancer"),
      simStateFile: scenario.simStateFile,
    });
    started.push(rebalancer);
    const subscriber = await spawnService("subscriber", {
      accountsFile: scenario.accountsFile,
      dataDir: scratch.path("subscriber"),
      rebalancerUrl: rebalancer.url,
    });
    started.push(subscriber);
    const urls = { rebalancer: rebalancer.url, subscriber: subscriber.url };

    const report: FuzzReport = {
      seed: options.seed,
      sent: 0,
      scenarioRequests: 0,
      byProtocol: {},
      ordersPlaced: 0,
      liveRuns: 0,
      liveRunRequests: [],
      serverErrors: [],
      resets: [],
      hangs: [],
      rss: {
        rebalancer: { warm: 0, end: 0 },
        subscriber: { warm: 0, end: 0 },
      },
      rssGrowthLimit,
      clean: false,
    };
    /** Requests by the idempotency keys they carry, to name the source of a live run. */
    const byKey = new Map<string, string>();
    const record = (index: number, req: FuzzRequest, outcome: FuzzOutcome, scenario = false) => {
      if (scenario) report.scenarioRequests++;
      else report.sent++;
      const key = /fuzz-\d+-\d+/.exec(req.body?.toString("latin1") ?? "")?.[0];
      if (key) byKey.set(key, `#${index}: ${describeRequest(req)} -> ${describeOutcome(outcome)}`);
      report.byProtocol[req.protocol] = (report.byProtocol[req.protocol] ?? 0) + 1;
      const finding = () => ({
        index,
        request: describeRequest(req),
        outcome: describeOutcome(outcome),
      });
      if (outcome.kind === "reset") report.resets.push(finding());
      else if (outcome.kind === "hang") report.hangs.push(finding());
      else if (isServerError(outcome)) report.serverErrors.push(finding());
    };

    // ListRuns shows the newest 500: read after every chunk, which makes fewer runs than that.
    const client = createClient(
      RebalancerService,
      createConnectTransport({ baseUrl: rebalancer.url, httpVersion: "1.1" }),
    );
    const liveRuns = new Set<string>();
    const collectLiveRuns = async () => {
      const { runs } = await client.listRuns({ accountId, limit: 500 });
      for (const run of runs) {
        if (run.mode !== ExecutionMode.LIVE || liveRuns.has(run.runId)) continue;
        liveRuns.add(run.runId);
        // The subscriber's keys are <event>/<account>.
        const key = /^fuzz-\d+-\d+/.exec(run.idempotencyKey)?.[0] ?? "";
        const source = byKey.get(key) ?? `key ${JSON.stringify(run.idempotencyKey)}`;
        const trigger = run.trigger?.source ?? "no trigger";
        report.liveRunRequests.push(
          `run ${run.runId} (${run.orders.length} orders, trigger ${trigger}) from ${source}`,
        );
      }
    };

    for (let start = 0; start < options.count; start += chunk) {
      const size = Math.min(chunk, options.count - start);
      // Each case has its own seed, derived from the campaign's and its index: case #i of a seed
      // is the same request whatever the count, and chunks are generated as they are sent.
      const cases = Array.from({ length: size }, (_, i) => generateCase(options.seed, start + i));
      let next = 0;
      const worker = async () => {
        while (next < cases.length) {
          const i = next++;
          const req = cases[i]!;
          record(start + i, req, await sendFuzzRequest(urls[req.service], req, http2, hangMs));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      if (start === 0) {
        report.rss.rebalancer.warm = (await rebalancer.memory()).rss;
        report.rss.subscriber.warm = (await subscriber.memory()).rss;
      }
      for (const scenario of fuzzScenarios(accountId, channel, options.seed, start / chunk)) {
        for (const step of scenario) {
          await Promise.all(
            step.map(async (req) =>
              record(-1, req, await sendFuzzRequest(urls[req.service], req, http2, hangMs), true),
            ),
          );
        }
      }
      await collectLiveRuns();
      options.progress?.(report.sent);
    }

    // What the subscriber accepted (dry runs) is delivered before the run store is read.
    await until(
      async () => {
        const res = await fetch(`${subscriber.url}/status`);
        const status = (await res.json()) as { inbox: { pending: number; in_flight: number } };
        return status.inbox.pending + status.inbox.in_flight === 0;
      },
      60_000,
      "the subscriber's inbox to drain",
      100,
    );
    report.rss.rebalancer.end = (await rebalancer.memory()).rss;
    report.rss.subscriber.end = (await subscriber.memory()).rss;
    report.ordersPlaced = await rebalancer.ordersPlaced();
    await collectLiveRuns();
    report.liveRuns = liveRuns.size;
    const grew = Object.values(report.rss).some((r) => r.end - r.warm > rssGrowthLimit);
    report.clean =
      report.ordersPlaced === 0 &&
      report.liveRuns === 0 &&
      report.serverErrors.length === 0 &&
      report.resets.length === 0 &&
      report.hangs.length === 0 &&
      !grew;
    return report;
  } finally {
    http2.close();
    for (const service of started.reverse()) await service.stop();
    scratch.remove();
  }
}

/** Case #index of a campaign seeded with `seed`. */
export function generateCase(seed: number, index: number): FuzzRequest {
  const tag = `${seed >>> 0}-${index}`;
  const arbitrary = fc.oneof(
    { weight: 7, arbitrary: rebalancerCase(accountId, tag) },
    { weight: 3, arbitrary: subscriberCase(channel, tag) },
  );
  return fc.sample(arbitrary, { seed: (seed + Math.imul(index, 0x9e3779b1)) | 0, numRuns: 1 })[0]!;
}

function describeRequest(req: FuzzRequest): string {
  const body = req.body ?? Buffer.alloc(0);
  const shown =
    body.length > 120
      ? `${body.subarray(0, 120).toString("latin1")}… (${body.length} bytes)`
      : body.toString("latin1");
  const path = req.path.length > 120 ? `${req.path.slice(0, 120)}… (${req.path.length})` : req.path;
  return `${req.service} ${req.protocol}${req.http2 ? " h2" : ""} ${req.method} ${path} [${req.mutation}] ${JSON.stringify(req.headers).slice(0, 200)} ${JSON.stringify(shown)}`;
}

function describeOutcome(outcome: FuzzOutcome): string {
  if (outcome.kind === "reset") return `reset: ${outcome.error}`;
  if (outcome.kind === "hang") return "no answer";
  const message = outcome.message ? ` (${outcome.message})` : "";
  return `${outcome.status}${outcome.code ? ` code ${outcome.code}` : ""}${message} ${JSON.stringify(outcome.body.subarray(0, 200).toString("latin1"))}`;
}

/** The report as lines for a terminal. */
export function formatFuzzReport(report: FuzzReport): string {
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  const lines = [
    `fuzz: seed ${report.seed}, ${report.sent} generated requests and ${report.scenarioRequests} of scenarios (${Object.entries(
      report.byProtocol,
    )
      .sort()
      .map(([p, n]) => `${p} ${n}`)
      .join(", ")})`,
    `  orders placed from invalid input: ${report.ordersPlaced}`,
    `  live runs from invalid input:     ${report.liveRuns}`,
    `  server errors (5xx, internal):    ${report.serverErrors.length}`,
    `  resets (no answer, closed):       ${report.resets.length}`,
    `  hangs (no answer within 5 s):     ${report.hangs.length}`,
    ...Object.entries(report.rss).map(
      ([service, r]) =>
        `  ${service} RSS: ${mib(r.warm)} MiB after warm-up, ${mib(r.end)} MiB at the end (growth ${mib(r.end - r.warm)} MiB, limit ${mib(report.rssGrowthLimit)})`,
    ),
  ];
  for (const source of report.liveRunRequests.slice(0, 10)) lines.push(`  live ${source}`);
  for (const [name, findings] of [
    ["server error", report.serverErrors],
    ["reset", report.resets],
    ["hang", report.hangs],
  ] as const) {
    for (const f of findings.slice(0, 10))
      lines.push(`  ${name} #${f.index}: ${f.request}\n    -> ${f.outcome}`);
    if (findings.length > 10) lines.push(`  … ${findings.length - 10} more ${name}s`);
  }
  lines.push(
    report.clean ? "fuzz: clean" : "fuzz: FINDINGS (reproduce with FUZZ_SEED and FUZZ_COUNT)",
  );
  return lines.join("\n");
}
