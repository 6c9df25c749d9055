import type { HealthConfig } from "../config.js";
import type { Gap } from "../inbox/gap-store.js";
import type { Inbox } from "../inbox/inbox.js";
import type { RealtimeStatus, RebalancerStatus } from "../status.js";
import type { ComponentState, HealthReport } from "./health-report.js";

/** Options of createSubscriberHealth. */
export interface SubscriberHealthOptions {
  /** Written to (inbox), read for the longest wait (backlog) and the gaps (continuity); required. */
  inbox: Inbox;
  /** Thresholds of the backlog and continuity checks (defaults in defaultHealthConfig); required. */
  thresholds: HealthConfig;
  /** The realtime connection's snapshot; `enabled: false` without a realtime key; required. */
  realtime(): RealtimeStatus;
  /** Asks the rebalancer now if it was not asked lately; required, no default. */
  probeRebalancer(): Promise<void>;
  /** What calls learnt about the rebalancer, read after the probe; required, no default. */
  rebalancer(): RebalancerStatus;
  /** The delivery circuit breaker's state: closed, open, half-open or isolated; required. */
  circuit(): string;
  /** After this long an open circuit lets one call through, ms, for the reason; required. */
  halfOpenAfterMs: number;
  /** Warnings that do not change the status (e.g. a failed key reload); default none. */
  warnings?(): string[];
}

/** Components whose problem means events cannot be taken in: the report is failing. */
const intakeComponents = new Set(["inbox", "realtime"]);

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.round(ms / 1000);

/**
 * The subscriber's health, computed when asked: the inbox writable, the realtime connection and
 * its channels, the rebalancer reachable and accepting the key, the delivery circuit, the entry
 * waiting longest, and the realtime gaps (open too long, failing repeatedly, unrecoverable and
 * not acknowledged). Each problem names its reason.
 */
export function createSubscriberHealth(options: SubscriberHealthOptions): {
  report(): Promise<HealthReport>;
} {
  const { inbox, thresholds } = options;

  const checkInbox = async (problems: string[]): Promise<ComponentState> => {
    try {
      await inbox.checkWritable();
      return "up";
    } catch (err) {
      problems.push(`inbox cannot record: ${(err as Error).message}`);
      return "down";
    }
  };

  const checkRealtime = (realtime: RealtimeStatus, problems: string[]): ComponentState => {
    if (!realtime.enabled) return "disabled";
    let state: ComponentState = "up";
    if (["failed", "suspended", "closed"].includes(realtime.state)) {
      state = "down";
      problems.push(
        `realtime connection ${realtime.state}: ${realtime.reason ?? "no reason given"}`,
      );
    }
    for (const [name, channel] of Object.entries(realtime.channels)) {
      if (channel.state === "failed" || channel.state === "suspended") {
        state = "down";
        problems.push(`channel ${name} ${channel.state}: ${channel.reason ?? "no reason given"}`);
      }
    }
    return state;
  };

  const checkRebalancer = async (problems: string[]): Promise<ComponentState> => {
    await options.probeRebalancer();
    const rebalancer = options.rebalancer();
    if (rebalancer.reachable === false) {
      problems.push(
        `rebalancer unreachable at ${rebalancer.url}: ${rebalancer.lastError ?? "no answer"}; events wait in the inbox`,
      );
      return "down";
    }
    if (rebalancer.authorized === false) {
      problems.push(
        `rebalancer refuses the subscriber's key (${rebalancer.lastError ?? "refused"}): set REBALANCER_API_KEY to one of the rebalancer's REBALANCER_API_KEYS; events wait in the inbox`,
      );
      return "down";
    }
    return "up";
  };

  const checkCircuit = (problems: string[]): ComponentState => {
    const circuit = options.circuit();
    if (circuit === "closed") return "up";
    problems.push(
      `delivery circuit ${circuit}: deliveries wait in the inbox` +
        (circuit === "open"
          ? `; one is tried ${seconds(options.halfOpenAfterMs)} s after it opened`
          : ""),
    );
    return "down";
  };

  const checkBacklog = async (now: number, problems: string[]): Promise<ComponentState> => {
    const oldest = await inbox.oldestWaiting(now).catch(() => undefined);
    if (!oldest || now - oldest.ageFrom <= thresholds.pendingMaxAgeMs) return "up";
    problems.push(
      `entry ${oldest.id} (${oldest.accountId}, event ${oldest.eventKey}) has waited ${seconds(now - oldest.ageFrom)} s for delivery, over HEALTH_PENDING_MAX_AGE=${seconds(thresholds.pendingMaxAgeMs)} s` +
        (oldest.reason ? `: ${oldest.reason}` : ""),
    );
    return "down";
  };

  const checkContinuity = async (
    now: number,
    realtime: RealtimeStatus,
    problems: string[],
  ): Promise<ComponentState> => {
    let open: Gap[];
    let lost: Gap[];
    try {
      [open, lost] = await Promise.all([inbox.gaps.listOpen(), inbox.gaps.unacknowledged()]);
    } catch (err) {
      problems.push(`cannot read the realtime gaps: ${(err as Error).message}`);
      return "down";
    }
    const before = problems.length;
    for (const gap of lost) {
      problems.push(
        `gap_unrecoverable ${gap.id} on ${gap.channel}, ${iso(gap.from)} to ${iso(gap.to)}: ${gap.reason}; once handled, acknowledge it on the console's Events page or with: npm run gaps -w subscriber -- ack ${gap.id}`,
      );
    }
    for (const gap of open) {
      const age = now - gap.openedAt;
      if (gap.failures >= thresholds.recoveryFailures) {
        problems.push(
          `history recovery of gap ${gap.id} on ${gap.channel} failed ${gap.failures} times in a row: ${gap.lastError}`,
        );
      } else if (age > thresholds.gapMaxAgeMs) {
        problems.push(
          `gap ${gap.id} on ${gap.channel} is open for ${seconds(age)} s, over HEALTH_GAP_MAX_AGE=${seconds(thresholds.gapMaxAgeMs)} s` +
            (gap.lastError ? `: ${gap.lastError}` : ""),
        );
      }
    }
    for (const [channel, count] of Object.entries(realtime.heldGaps ?? {})) {
      problems.push(`${count} gaps on ${channel} wait in memory: the inbox refuses to record them`);
    }
    if (problems.length > before) return "down";
    return realtime.enabled || open.length > 0 ? "up" : "disabled";
  };

  return {
    report: async () => {
      const now = Date.now();
      const problems: string[] = [];
      const realtime = options.realtime();
      const components: HealthReport["components"] = {};
      const failing: string[] = [];
      const check = async (name: string, run: (problems: string[]) => Promise<ComponentState>) => {
        const own: string[] = [];
        components[name] = await run(own);
        problems.push(...own);
        if (components[name] === "down" && intakeComponents.has(name)) failing.push(name);
      };
      await check("inbox", checkInbox);
      await check("realtime", async (p) => checkRealtime(realtime, p));
      await check("rebalancer", checkRebalancer);
      await check("circuit", async (p) => checkCircuit(p));
      await check("backlog", (p) => checkBacklog(now, p));
      await check("continuity", (p) => checkContinuity(now, realtime, p));
      const warnings = options.warnings?.() ?? [];
      return {
        status: failing.length > 0 ? "failing" : problems.length > 0 ? "degraded" : "ok",
        components,
        problems,
        ...(warnings.length ? { warnings } : {}),
      };
    },
  };
}
