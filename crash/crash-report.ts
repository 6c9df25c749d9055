// The crash test's accounting: from what was sent, the runs' records, the broker's ledger and the
// subscriber's inbox, the counts that must all be zero (killed runs are resumed).
import { OrderStatus, RunStatus, type Run } from "@mesh/proto/rebalancer/v1/rebalancer";
import type { BrokerOrder } from "@mesh/rebalancer/broker/broker";
import type { KillMoment, PlannedKill } from "./private/kill-schedule.js";

/** What must be zero. */
export interface CrashCounts {
  /** Events the ingress accepted (202) for which no run was ever made. */
  eventsLost: number;
  /**
   * Broker orders beyond one per decision: an order id in more than one run's record, orders of
   * a second run for the same event, or a run trading the same symbol and side twice.
   */
  duplicatedOrders: number;
  /** Live runs left running or failed (a kill not resumed, or a resume gone wrong). */
  runsInterrupted: number;
  /** Inbox entries dead-lettered by the subscriber. */
  deadLettered: number;
  /** Accounts for which a dry run afterwards plans any order (beyond the drift band). */
  accountsUnbalanced: number;
  /**
   * Orders on which a run's record and the broker's ledger disagree: missing from the record,
   * recorded with another status or filled quantity, recorded but unknown to the broker, or
   * carrying an orderRef that names no run.
   */
  ordersMismatched: number;
}

/** A kill as it happened. */
export interface CrashKill {
  service: PlannedKill["service"];
  /** The moment waited for; "any" also when the wanted one did not come in time. */
  moment: KillMoment;
  /** Events sent by then. */
  afterEvents: number;
  /** The live run with the working order the kill was waiting for, if any. */
  runId?: string;
}

/** What the test did and found. */
export interface CrashReport {
  seed: number;
  eventsSent: number;
  /** Events the ingress answered 202 for. */
  eventsAccepted: number;
  kills: CrashKill[];
  counts: CrashCounts;
  /** One line per counted problem, and notes (e.g. a settle timeout). */
  details: string[];
  durationMs: number;
  /** The folder with logs, ledger, run store and inbox, when kept. */
  folder?: string;
}

/** What the accounting reads. */
export interface CrashObservations {
  /** Accepted events, per account on their channel. */
  accepted: { eventId: string; accountId: string }[];
  /** Every live run of every account, in full. */
  runs: Run[];
  /** Every order in the simulated broker's ledger. */
  ledger: BrokerOrder[];
  /** Dead-lettered entries: account, event and reason. */
  deadLetters: string[];
  /** Per account, the orders a dry run plans now. */
  dryRuns: Map<string, string[]>;
}

/** Counts and explains what went wrong. */
export function tallyCrash(seen: CrashObservations): { counts: CrashCounts; details: string[] } {
  const details: string[] = [];
  const counts: CrashCounts = {
    eventsLost: 0,
    duplicatedOrders: 0,
    runsInterrupted: 0,
    deadLettered: seen.deadLetters.length,
    accountsUnbalanced: 0,
    ordersMismatched: 0,
  };
  for (const line of seen.deadLetters) details.push(`dead-lettered: ${line}`);

  const runsOfEvent = new Map<string, Run[]>();
  for (const run of seen.runs) {
    const key = `${run.accountId} ${run.trigger?.eventId ?? ""}`;
    runsOfEvent.set(key, [...(runsOfEvent.get(key) ?? []), run]);
    if (run.status === RunStatus.RUNNING || run.status === RunStatus.FAILED) {
      counts.runsInterrupted++;
      details.push(
        `run ${run.runId} (${run.accountId}) left ${RunStatus[run.status]}: ${run.message}`,
      );
    }
  }
  for (const { eventId, accountId } of seen.accepted) {
    if (!runsOfEvent.has(`${accountId} ${eventId}`)) {
      counts.eventsLost++;
      details.push(`event ${eventId} for ${accountId}: accepted, never run`);
    }
  }

  const ledgerById = new Map(seen.ledger.map((o) => [o.orderId, o]));
  const runIds = new Set(seen.runs.map((r) => r.runId));
  const recordedBy = new Map<string, string[]>();
  for (const run of seen.runs) {
    for (const recorded of run.orders) {
      recordedBy.set(recorded.orderId, [...(recordedBy.get(recorded.orderId) ?? []), run.runId]);
      const at = ledgerById.get(recorded.orderId);
      if (!at || at.runId !== run.runId) {
        counts.ordersMismatched++;
        details.push(
          `run ${run.runId} records order ${recorded.orderId}, which the broker does not have for it`,
        );
      } else if (
        OrderStatus[recorded.status].toLowerCase() !== at.status ||
        recorded.filledQuantity !== at.filledQuantity
      ) {
        counts.ordersMismatched++;
        details.push(
          `order ${at.orderId} of run ${run.runId}: recorded ${OrderStatus[recorded.status].toLowerCase()} ${recorded.filledQuantity}/${recorded.quantity}, broker ${at.status} ${at.filledQuantity}/${at.quantity}`,
        );
      }
    }
  }
  for (const order of seen.ledger) {
    const holders = recordedBy.get(order.orderId) ?? [];
    if (holders.length > 1) {
      counts.duplicatedOrders += holders.length - 1;
      details.push(
        `order ${order.orderId} is recorded by ${holders.length} runs: ${holders.join(", ")}`,
      );
    }
    if (!runIds.has(order.runId)) {
      counts.ordersMismatched++;
      details.push(
        `order ${order.orderId} (${describe(order)}) has orderRef "${order.runId}", no run's id`,
      );
    } else if (holders.length === 0) {
      counts.ordersMismatched++;
      details.push(
        `order ${order.orderId} (${describe(order)}) of run ${order.runId} is missing from its record`,
      );
    }
  }

  // One event, one run; one run, one order per symbol and side that trades.
  for (const runs of runsOfEvent.values()) {
    for (const extra of runs.slice(0, -1)) {
      const orders = seen.ledger.filter((o) => o.runId === extra.runId);
      counts.duplicatedOrders += orders.length;
      if (orders.length > 0) {
        details.push(
          `run ${extra.runId} repeats event ${extra.trigger?.eventId}: ${orders.length} more orders`,
        );
      }
    }
  }
  const lines = new Map<string, BrokerOrder[]>();
  for (const order of seen.ledger) {
    if (order.filledQuantity === 0 && ["cancelled", "rejected"].includes(order.status)) continue;
    const key = `${order.runId} ${order.side} ${order.symbol}`;
    lines.set(key, [...(lines.get(key) ?? []), order]);
  }
  for (const [key, orders] of lines) {
    if (orders.length < 2) continue;
    counts.duplicatedOrders += orders.length - 1;
    details.push(
      `run ${key.split(" ")[0]} traded ${key.split(" ").slice(1).join(" ")} in ${orders.length} orders: ${orders.map((o) => o.orderId).join(", ")}`,
    );
  }

  for (const [accountId, planned] of seen.dryRuns) {
    if (planned.length === 0) continue;
    counts.accountsUnbalanced++;
    details.push(`account ${accountId} is not balanced: a dry run plans ${planned.join(", ")}`);
  }
  return { counts, details };
}

function describe(order: BrokerOrder): string {
  return `${order.side} ${order.quantity} ${order.symbol}, ${order.status}`;
}

/** True when every count is zero. */
export function isClean(counts: CrashCounts): boolean {
  return Object.values(counts).every((n) => n === 0);
}

const labels: Record<keyof CrashCounts, string> = {
  eventsLost: "events lost",
  duplicatedOrders: "duplicated orders",
  runsInterrupted: "runs left interrupted",
  deadLettered: "dead-lettered",
  accountsUnbalanced: "accounts not balanced",
  ordersMismatched: "orders record != broker",
};

/** The report for humans: a summary line, one line per count, then the details. */
export function formatCrashReport(report: CrashReport): string {
  const byService = (service: CrashKill["service"]) =>
    report.kills.filter((k) => k.service === service);
  const moments = byService("rebalancer")
    .map((k) => k.moment)
    .reduce((all, m) => ({ ...all, [m]: (all[m] ?? 0) + 1 }), {} as Record<string, number>);
  const lines = [
    `crash test: seed ${report.seed}, ${report.eventsSent} events sent (${report.eventsAccepted} accepted), ` +
      `SIGKILLs: rebalancer ${byService("rebalancer").length} (${Object.entries(moments)
        .map(([m, n]) => `${m} ${n}`)
        .join(", ")}), subscriber ${byService("subscriber").length}; ` +
      `${(report.durationMs / 1000).toFixed(1)} s`,
    ...Object.entries(labels).map(
      ([key, label]) => `  ${`${label}:`.padEnd(26)}${report.counts[key as keyof CrashCounts]}`,
    ),
    ...report.details.map((d) => `  - ${d}`),
  ];
  if (report.folder) lines.push(`  files kept in ${report.folder}`);
  return lines.join("\n");
}
