// WatchRuns across replicas: two rebalancers on one PostgreSQL database; a watch on one is told
// the runs the other records, in the journal's one order.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { parseDatabaseUrl } from "@mesh/platform/database-url";
import { startTestPostgres, type TestPostgres } from "@mesh/platform/testing/test-postgres";
import {
  ExecutionMode,
  RebalancerService,
  type RebalanceResponse,
  type WatchRunsResponse,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { startRebalancer, type RunningRebalancer } from "../src/app.js";
import { createSimBroker } from "../src/broker/sim/sim-broker.js";

const accountsFile = fileURLToPath(new URL("../../accounts.yaml", import.meta.url));

describe("WatchRuns across replicas on PostgreSQL", function () {
  this.timeout(60_000);
  let postgres: TestPostgres;
  const apps: RunningRebalancer[] = [];
  before(async () => {
    postgres = await startTestPostgres();
  });
  after(async () => {
    for (const app of apps) await app.close(1_000);
    await postgres.stop();
  });

  it("tells a watch on one replica the runs another records, every event once, in order", async () => {
    const databaseUrl = parseDatabaseUrl(await postgres.createDatabase());
    for (const replica of ["a", "b"]) {
      apps.push(
        await startRebalancer({
          accountsFile,
          dataDir: mkdtempSync(join(tmpdir(), `watch-replicas-${replica}-`)),
          databaseUrl,
          replica,
          broker: createSimBroker({ fillDelayMs: 5 }),
        }),
      );
    }
    const [a, b] = apps.map((app) =>
      createClient(RebalancerService, createGrpcTransport({ baseUrl: app.url })),
    );
    const abort = new AbortController();
    const watched = b!.watchRuns({}, { signal: abort.signal })[Symbol.asyncIterator]();

    const runs: RebalanceResponse[][] = [];
    for (const accountId of ["DU1000001", "DU1000002"]) {
      const events: RebalanceResponse[] = [];
      for await (const event of a!.rebalance({ accountId, mode: ExecutionMode.DRY_RUN })) {
        events.push(event);
      }
      runs.push(events);
    }
    const expected = runs.flat().map((e) => `${e.runId} ${e.sequence} ${e.event.case}`);
    const ended = Date.now();
    const read: WatchRunsResponse[] = [];
    while (read.length < expected.length) {
      const next = await watched.next();
      if (next.done) throw new Error("the watch ended");
      // The first response, and those after a quiet stretch, carry no event.
      if (next.value.event) read.push(next.value);
    }
    abort.abort();
    // Woken when the journal's last position moves (every half second), not by a quiet stretch.
    expect(Date.now() - ended, "told within a few seconds").to.be.lessThan(5_000);
    expect(
      read.map((r) => `${r.event!.runId} ${r.event!.sequence} ${r.event!.event.case}`),
    ).to.deep.equal(expected);
  });
});
