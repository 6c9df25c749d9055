import { Code, ConnectError } from "@connectrpc/connect";
import {
  RunView,
  type ListRunsRequest,
  type ListRunsResponse,
  type Run,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RunStore } from "../runs/run-store.js";
import { runCounts } from "./run-counts.js";
import { runSummary } from "./run-summary.js";

/** Runs per page when the request says 0. */
const defaultLimit = 50;
/** The most runs one page may hold. */
const maxLimit = 500;

/**
 * One page of an account's runs, newest first: summaries unless RUN_VIEW_FULL is asked for. The
 * page token names the last run of the previous page (opaque to callers), so pages stay stable
 * while new runs are recorded.
 */
export async function listRuns(
  store: RunStore,
  accountId: string,
  request: Pick<ListRunsRequest, "limit" | "view" | "pageToken">,
): Promise<Omit<ListRunsResponse, "$typeName">> {
  if (request.limit > maxLimit) {
    throw new ConnectError(`limit must be at most ${maxLimit}`, Code.InvalidArgument);
  }
  const limit = request.limit || defaultLimit;
  const before = request.pageToken
    ? await pageStart(store, accountId, request.pageToken)
    : undefined;
  // One more than the page, to know whether another page follows.
  const found = await store.list(accountId, limit + 1, before);
  const page = found.slice(0, limit);
  const full = request.view === RunView.FULL;
  return {
    runs: page.map((run) => (full ? withCounts(run) : runSummary(run))),
    nextPageToken: found.length > limit ? encode(page.at(-1)!.runId) : "",
  };
}

function withCounts(run: Run): Run {
  run.counts = runCounts(run);
  return run;
}

function encode(runId: string): string {
  return Buffer.from(runId, "utf8").toString("base64url");
}

/** The run a page token names, checked to be one of this account's runs. */
async function pageStart(store: RunStore, accountId: string, token: string): Promise<string> {
  const runId = Buffer.from(token, "base64url").toString("utf8");
  const run = /^[\w-]{1,200}$/.test(runId) ? await store.get(runId) : undefined;
  if (run === undefined || run.accountId !== accountId) {
    throw new ConnectError(
      "page_token: not a token from a ListRuns page of this account; start without one",
      Code.InvalidArgument,
    );
  }
  return runId;
}
