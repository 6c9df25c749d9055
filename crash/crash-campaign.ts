// The crash test: the real rebalancer (simulated broker, paper, live runs allowed for the bundled
// paper accounts) and the real subscriber as child processes on loopback, each with its own data
// directory; live events through the subscriber's ingress while the rebalancer is SIGKILLed at
// seeded moments (mid-sell, mid-buy, any) and the subscriber now and then, each started again.
// Then, once the mesh is quiet: what was lost, duplicated, left interrupted or unbalanced.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stays, until } from "@mesh/platform/testing/until";
import { openSimStore } from "@mesh/rebalancer/broker/sim/sim-store";
import { openSqliteInbox } from "../subscriber/src/inbox/sqlite-inbox.js";
import { freePort } from "@mesh/platform/testing/free-port";
import {
  formatCrashReport,
  isClean,
  tallyCrash,
  type CrashKill,
  type CrashReport,
} from "./crash-report.js";
import { writeCrashScenario } from "./private/crash-scenario.js";
import { planKills, type PlannedKill } from "./private/kill-schedule.js";
import { createMeshReads } from "./private/mesh-reads.js";
import { createServiceProcess, type ServiceProcess } from "./private/service-process.js";

/** Options of runCrashTest. */
export interface CrashOptions {
  /** Seed of the kill schedule; the same seed and counts plan the same kills. */
  seed: number;
  /** Live events sent, round-robin over the bundled accounts; default 40. */
  events?: number;
  /** SIGKILLs of the rebalancer; default 8. */
  rebalancerKills?: number;
  /** SIGKILLs of the subscriber; default 3. */
  subscriberKills?: number;
  /** The rebalancer's SIM_FILL_DELAY_MS: long enough to kill a run mid-sell; default 400. */
  fillDelayMs?: number;
  /** The rebalancer's SIM_FILL_PARTS; default 2. */
  fillParts?: number;
  /** Sending and killing stop after this long, ms; default 10 min. */
  timeLimitMs?: number;
  /** How long the mesh may take to finish its work afterwards, ms; default 120 s. */
  settleMs?: number;
  /** Keep the folder (logs, ledger, run store, inbox); default false: removed. */
  keepFiles?: boolean;
  /** Receives progress lines; default none. */
  progress?(line: string): void;
}

/** The quick form: a few events, a kill mid-sell, one mid-buy and one of the subscriber. */
export const quickCrashOptions = {
  events: 6,
  rebalancerKills: 2,
  subscriberKills: 1,
  fillDelayMs: 300,
  // Room for both kills on a loaded machine (tsx compiles on every start); it ends sooner.
  timeLimitMs: 90_000,
  settleMs: 30_000,
} satisfies Omit<CrashOptions, "seed">;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runCrashTest(options: CrashOptions): Promise<CrashReport> {
  const started = Date.now();
  const events = options.events ?? 40;
  const progress = options.progress ?? (() => undefined);
  const deadline = started + (options.timeLimitMs ?? 600_000);
  const folder = mkdtempSync(join(tmpdir(), "crash-"));
  const scenario = writeCrashScenario(folder);
  const accountIds = scenario.accounts.map((a) => a.accountId);
  const [rebalancerPort, subscriberPort] = [await freePort(), await freePort()];
  const rebalancerUrl = `http://127.0.0.1:${rebalancerPort}`;
  const subscriberUrl = `http://127.0.0.1:${subscriberPort}`;
  const common = { ACCOUNTS_FILE: scenario.accountsFile, TRADING_MODE: "paper", METRICS_PORT: "0" };
  const rebalancer = createServiceProcess({
    name: "rebalancer",
    entry: "rebalancer/src/main.ts",
    env: {
      ...common,
      DATA_DIR: join(folder, "rebalancer"),
      API_HOST: "127.0.0.1",
      API_PORT: String(rebalancerPort),
      SIM_FILL_DELAY_MS: String(options.fillDelayMs ?? 400),
      SIM_FILL_PARTS: String(options.fillParts ?? 2),
      SHUTDOWN_GRACE_SECONDS: "5",
    },
    healthUrl: `${rebalancerUrl}/health`,
    logFile: join(folder, "rebalancer.log"),
  });
  const subscriber = createServiceProcess({
    name: "subscriber",
    entry: "crash/private/subscriber-main.ts",
    env: {
      ...common,
      DATA_DIR: join(folder, "subscriber"),
      SUBSCRIBER_HOST: "127.0.0.1",
      SUBSCRIBER_PORT: String(subscriberPort),
      REBALANCER_API_URL: rebalancerUrl,
    },
    healthUrl: `${subscriberUrl}/health`,
    logFile: join(folder, "subscriber.log"),
  });
  const reads = createMeshReads(rebalancerUrl, subscriberUrl);
  const accepted: { eventId: string; accountId: string }[] = [];
  const kills: CrashKill[] = [];
  const notes: string[] = [];
  let sent = 0;
  try {
    await Promise.all([rebalancer.start(), subscriber.start()]);
    progress(`rebalancer ${rebalancerUrl}, subscriber ${subscriberUrl}; logs in ${folder}`);

    // One sender per account, each waiting for an event's run before the next, so that each run
    // trades from where the previous one left the account (the targets alternate).
    const send = async (account: (typeof scenario.accounts)[number], index: number) => {
      const eventId = `crash-${options.seed}-${index}`;
      const round = Math.floor(index / accountIds.length);
      scenario.setTargets(account.strategy, round % 2 === 0 ? 0 : 1);
      const posted = await until(
        () =>
          fetch(`${subscriberUrl}/events/${account.strategy}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ exec: "rebalance", eventId }),
            signal: AbortSignal.timeout(5000),
          }).then(
            (res) => res.status === 202,
            () => false, // the subscriber is down: send again, as a publisher would
          ),
        30_000,
        `event ${eventId} accepted`,
      ).catch((err: Error) => void notes.push(err.message));
      sent++;
      if (!posted) return;
      accepted.push({ eventId, accountId: account.accountId });
      await until(
        () => reads.hasRun(account.accountId, eventId).catch(() => false),
        60_000,
        `a run for ${eventId}`,
        100,
      ).catch(() => undefined); // counted as lost at the end if it never comes
    };
    const senders = scenario.accounts.map(async (account, a) => {
      for (let i = a; i < events && Date.now() < deadline; i += accountIds.length) {
        await send(account, i);
      }
    });

    const kill = async (planned: PlannedKill) => {
      await until(
        () => sent >= planned.afterEvents || Date.now() > deadline,
        600_000,
        `${planned.afterEvents} events sent`,
        50,
      );
      if (Date.now() > deadline) return;
      await sleep(planned.delayMs);
      const service: ServiceProcess = planned.service === "rebalancer" ? rebalancer : subscriber;
      let moment = planned.moment;
      let runId: string | undefined;
      if (moment !== "any") {
        const side = moment === "mid-sell" ? "sell" : "buy";
        const run = await until(
          () => reads.workingRun(accountIds, side).catch(() => undefined),
          20_000,
          `a working ${side}`,
          50,
        ).catch(() => undefined);
        if (run) runId = run.runId;
        else moment = "any";
      }
      await service.kill();
      kills.push({
        service: planned.service,
        moment,
        afterEvents: sent,
        ...(runId ? { runId } : {}),
      });
      progress(
        `SIGKILL ${planned.service} ${moment}${runId ? ` (run ${runId})` : ""} after ${sent} events`,
      );
      await sleep(planned.downMs);
      await service.start();
    };
    const chaos = (async () => {
      for (const planned of planKills({
        seed: options.seed,
        events,
        rebalancerKills: options.rebalancerKills ?? 8,
        subscriberKills: options.subscriberKills ?? 3,
      })) {
        await kill(planned);
      }
    })();
    await Promise.all([...senders, chaos]);

    // Quiet: nothing left in the inbox, no run in progress, nothing working at the broker.
    progress("waiting for the mesh to settle");
    const quiet = async () => {
      const inbox = await reads.inbox();
      if (inbox.pending! > 0 || inbox.in_flight! > 0) return false;
      if (await reads.anyRunning(accountIds)) return false;
      const open = await Promise.all(accountIds.map((id) => reads.openOrders(id)));
      return open.every((n) => n === 0);
    };
    await until(
      () => quiet().catch(() => false),
      options.settleMs ?? 120_000,
      "the mesh settled",
      250,
    )
      .then(() => stays(() => quiet().catch(() => false), 1000, "the mesh quiet"))
      .catch((err: Error) => void notes.push(err.message));

    const dryRuns = new Map<string, string[]>();
    for (const id of accountIds) dryRuns.set(id, await reads.dryRun(id));
    const runs = (await Promise.all(accountIds.map((id) => reads.liveRuns(id)))).flat();

    await Promise.all([rebalancer.stop(), subscriber.stop()]);
    // Read once both are stopped; the file names are those main.ts and the subscriber choose.
    const sim = openSimStore(join(folder, "rebalancer", "sim-ledger.sqlite"));
    const ledger = sim.orders().map((o) => o.order);
    sim.close();
    const inbox = openSqliteInbox(join(folder, "subscriber", "subscriber-inbox.sqlite"));
    const deadLetters = (await inbox.list({ state: "dead", limit: 1000 })).map(
      (e) => `${e.accountId} ${e.eventId}: ${e.reason}`,
    );
    await inbox.close();

    const { counts, details } = tallyCrash({ accepted, runs, ledger, deadLetters, dryRuns });
    const keep = options.keepFiles ?? false;
    return {
      seed: options.seed,
      eventsSent: sent,
      eventsAccepted: accepted.length,
      kills,
      counts,
      details: [...notes.map((n) => `note: ${n}`), ...details],
      durationMs: Date.now() - started,
      ...(keep ? { folder } : {}),
    };
  } finally {
    await Promise.all([rebalancer.kill(), subscriber.kill()]);
    if (!options.keepFiles) rmSync(folder, { recursive: true, force: true });
  }
}

export { formatCrashReport, isClean };
