import type { EnvReader } from "../env-reader.js";
import { parseNotifyTarget, type NotifyTarget } from "./notify-target.js";

/** Who hears about outcomes, as both services read it from the environment. */
export interface NotifyConfig {
  /** NOTIFY_URLS (or the file NOTIFY_URLS_FILE: secrets in URLs), comma- or line-separated; default none. */
  targets: NotifyTarget[];
  /** NOTIFY_DRY_RUNS=true: dry runs are notified too; default false (live runs only). */
  dryRuns: boolean;
  /**
   * CONSOLE_URL: where operators open the web console, e.g. https://rebalancer.example.com (the
   * links add /console/#/runs/<id>); default derived from the rebalancer's URL.
   */
  consoleUrl?: string;
  /** NOTIFY_MAX_RETRY_DELAY: longest wait between attempts at a receiver that is down; default 30 s: a receiver back after an outage hears within half a minute. */
  maxRetryDelayMs: number;
}

/** Reads the NOTIFY_* settings and CONSOLE_URL, adding a line to `read.problems` per bad one. */
export function readNotifyConfig(read: EnvReader): NotifyConfig {
  const targets: NotifyTarget[] = [];
  for (const url of read.secretList("NOTIFY_URLS")) {
    try {
      targets.push(parseNotifyTarget(url));
    } catch (err) {
      read.problems.push(`NOTIFY_URLS: ${(err as Error).message}`);
    }
  }
  const consoleUrl = read.text("CONSOLE_URL", "");
  if (consoleUrl !== "" && !/^https?:\/\/[^/]/.test(consoleUrl)) {
    read.problems.push(`CONSOLE_URL: must be an http(s) URL, got "${consoleUrl}"`);
  }
  return {
    targets,
    dryRuns: read.choice("NOTIFY_DRY_RUNS", ["true", "false"], "false") === "true",
    ...(consoleUrl ? { consoleUrl } : {}),
    maxRetryDelayMs: read.duration("NOTIFY_MAX_RETRY_DELAY", 30_000, 1000, 86_400_000),
  };
}
