/**
 * The link to a run in the web console (served by the rebalancer at /console/, its pages in the
 * URL fragment: console/src/route.ts). `base` is the console's public address, with or without
 * a trailing /console/.
 */
export function consoleRunUrl(base: string, runId: string): string {
  const root = base.replace(/\/+$/, "").replace(/\/console$/, "");
  return `${root}/console/#/runs/${encodeURIComponent(runId)}`;
}
