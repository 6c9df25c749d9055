import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  ExecutionMode,
  FailureReason,
  OrderStatus,
  RunStatus,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { consoleRunUrl } from "@mesh/platform/notify/console-run-url";
import type { Notification, NotificationStatus } from "@mesh/platform/notify/notification";

const statuses: Partial<Record<RunStatus, NotificationStatus>> = {
  [RunStatus.COMPLETED]: "completed",
  [RunStatus.COMPLETED_WITH_ADJUSTMENTS]: "completed_with_adjustments",
  [RunStatus.FAILED]: "failed",
  [RunStatus.POSTPONED]: "postponed",
};

/**
 * The notification of a run that ended, from its final record; undefined for a run not ended.
 * Its id, `<runId>:<status>`, is the same however often the final record is stored.
 */
export function runNotification(run: Run, consoleBase: string): Notification | undefined {
  const status = statuses[run.status];
  if (!status) return undefined;
  const live = run.mode === ExecutionMode.LIVE;
  const reason =
    run.failureReason === FailureReason.UNSPECIFIED
      ? ""
      : FailureReason[run.failureReason].toLowerCase();
  const postponedUntil =
    status === "postponed" && run.nextAttemptAt
      ? ` until ${timestampDate(run.nextAttemptAt).toISOString()}`
      : "";
  const outcome = {
    completed: "completed",
    completed_with_adjustments: "completed with adjustments",
    failed: `failed${reason ? ` (${reason})` : ""}`,
    postponed: `postponed${postponedUntil}`,
    dead_lettered: "dead-lettered",
  }[status];
  return {
    id: `${run.runId}:${status}`,
    kind: "run",
    runId: run.runId,
    accountId: run.accountId,
    mode: live ? "live" : "dry_run",
    status,
    failureReason: reason,
    title: `${run.accountId}: ${live ? "live run" : "dry run"} ${outcome}`,
    message: run.message,
    ordersPlaced: run.orders.length,
    ordersFilled: run.orders.filter((o) => o.status === OrderStatus.FILLED).length,
    trigger: {
      source: run.trigger?.source ?? "unknown",
      eventId: run.trigger?.eventId ?? "",
      channel: run.trigger?.channel ?? "",
    },
    consoleUrl: consoleRunUrl(consoleBase, run.runId),
    occurredAt: (run.finishedAt ? timestampDate(run.finishedAt) : new Date()).toISOString(),
  };
}
