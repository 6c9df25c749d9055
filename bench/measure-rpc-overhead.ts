// RPC overhead: GetPositions of the rebalancer (on the simulated broker) over gRPC and over
// Connect JSON, at a fixed number of calls in flight, against a bare connect-node handler that
// returns the same response on the same kind of server (the one-port HTTP/1.1 + h2c server).
// Service and bare stretches alternate (ABBA) so that a change in machine load hits both.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { startRebalancer, type RunningRebalancer } from "@mesh/rebalancer/app";
import { createSimBroker } from "@mesh/rebalancer/broker/sim/sim-broker";
import { createOnePortServer, type OnePortServer } from "@mesh/platform/server/one-port-server";
import { RebalancerService } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { BenchFigure, BenchOptions, BenchSection } from "./bench-section.js";
import { driveLoad, type LoadResult } from "./private/drive-load.js";
import { scenarioAccounts, writeScenario } from "./private/scenario.js";
import { createScratchDir } from "./private/scratch-dir.js";
import { round, sampleStats } from "./sample-stats.js";

/** Calls in flight during every stretch. */
const concurrency = 16;
/** The target: the service keeps at least this share of the bare handler's throughput. */
const targetShare = 0.8;

type Protocol = "gRPC" | "Connect JSON";

export async function measureRpcOverhead(options: BenchOptions = {}): Promise<BenchSection> {
  const quick = options.quick ?? false;
  const stretchMs = quick ? 300 : 1500;
  const pairs = quick ? 3 : 5;
  const scratch = createScratchDir("rpc");
  const scenario = writeScenario(
    scratch.dir,
    scenarioAccounts(1, 1, () => "rpc"),
  );
  const accountId = scenario.simState.accounts[0]!.accountId;
  const sessions: Http2SessionManager[] = [];
  const clientOf = (protocol: Protocol, baseUrl: string): Client<typeof RebalancerService> => {
    let transport: Transport;
    if (protocol === "gRPC") {
      const sessionManager = new Http2SessionManager(baseUrl);
      sessions.push(sessionManager);
      transport = createGrpcTransport({ baseUrl, sessionManager });
    } else {
      transport = createConnectTransport({ baseUrl, httpVersion: "1.1" });
    }
    return createClient(RebalancerService, transport);
  };

  const figures: BenchFigure[] = [];
  let positions: number | undefined;
  let rebalancer: RunningRebalancer | undefined;
  let bare: OnePortServer | undefined;
  try {
    rebalancer = await startRebalancer({
      accountsFile: scenario.accountsFile,
      dataDir: scratch.dir,
      broker: createSimBroker({ state: scenario.simState }),
      host: "127.0.0.1",
      port: 0,
    });
    // The bare handler answers with exactly what the service answered.
    const payload = await clientOf("gRPC", rebalancer.url).getPositions({ accountId });
    positions = payload.positions.length;
    bare = createOnePortServer(
      connectNodeAdapter({
        routes: (router) => router.service(RebalancerService, { getPositions: () => payload }),
      }),
    );
    const bareUrl = (await bare.listen(0, "127.0.0.1")).url;

    for (const protocol of ["gRPC", "Connect JSON"] as const) {
      const service = clientOf(protocol, rebalancer.url);
      const reference = clientOf(protocol, bareUrl);
      const callService = () => service.getPositions({ accountId });
      const callBare = () => reference.getPositions({ accountId });
      // Warm-up: connections, JIT, the broker's first reads.
      await driveLoad(callService, { concurrency, durationMs: 300 });
      await driveLoad(callBare, { concurrency, durationMs: 300 });
      const measured: LoadResult[] = [];
      const baseline: LoadResult[] = [];
      for (let pair = 0; pair < pairs; pair++) {
        const order = pair % 2 === 0 ? [callService, callBare] : [callBare, callService];
        for (const call of order) {
          const result = await driveLoad(call, { concurrency, durationMs: stretchMs });
          if (result.failed > 0) {
            throw new Error(`${protocol} GetPositions failed ${result.failed} times`, {
              cause: result.firstError,
            });
          }
          (call === callService ? measured : baseline).push(result);
        }
      }
      figures.push(...protocolFigures(protocol, measured, baseline));
    }
  } finally {
    for (const session of sessions) session.abort();
    await bare?.close(100);
    await rebalancer?.close(100);
    scratch.remove();
  }
  return {
    id: "rpc-overhead",
    title: "RPC overhead: GetPositions vs a bare connect-node handler",
    figures,
    notes: [
      `${concurrency} calls in flight, ${pairs * 2} alternating stretches of ${stretchMs} ms per ` +
        "protocol; client and servers share the process; gRPC over h2c, Connect JSON over HTTP/1.1",
      `payload: ${positions} positions; the bare handler returns it unchanged`,
    ],
  };
}

function protocolFigures(
  protocol: Protocol,
  measured: LoadResult[],
  baseline: LoadResult[],
): BenchFigure[] {
  const rps = (r: LoadResult) => (r.completed / r.elapsedMs) * 1000;
  const serviceRps = sampleStats(measured.map(rps));
  const bareRps = sampleStats(baseline.map(rps));
  const serviceLatency = sampleStats(measured.flatMap((r) => r.latencies));
  const bareLatency = sampleStats(baseline.flatMap((r) => r.latencies));
  // Each stretch against its neighbour: the two saw about the same machine load.
  const pairRatios = measured.map((r, i) => rps(r) / rps(baseline[i]!));
  const share = sampleStats(pairRatios).median;
  return [
    {
      name: `GetPositions over ${protocol}: throughput`,
      unit: "req/s",
      median: round(serviceRps.median, 0),
      samples: measured.length,
      baseline: { name: "bare handler, same payload", median: round(bareRps.median, 0) },
      ratio: round(share, 2),
      ratioMeaning: "median over adjacent stretch pairs of service / bare throughput",
      target: `at least ${targetShare} of the bare handler`,
      met: share >= targetShare,
      detail: {
        pair_ratio_min: round(Math.min(...pairRatios), 2),
        pair_ratio_max: round(Math.max(...pairRatios), 2),
        calls: measured.reduce((n, r) => n + r.completed, 0),
        baseline_calls: baseline.reduce((n, r) => n + r.completed, 0),
      },
    },
    {
      name: `GetPositions over ${protocol}: latency`,
      unit: "ms",
      median: round(serviceLatency.median),
      p99: round(serviceLatency.p99),
      samples: serviceLatency.count,
      baseline: {
        name: "bare handler, same payload",
        median: round(bareLatency.median),
        p99: round(bareLatency.p99),
      },
      ratio: round(serviceLatency.median / bareLatency.median, 2),
      ratioMeaning: "service median / bare median; 1 is no overhead",
    },
  ];
}
