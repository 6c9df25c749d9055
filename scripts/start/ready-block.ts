import type { RebalancerConfig } from "@mesh/rebalancer/config";
import type { SubscriberConfig } from "../../subscriber/src/config.js";
import { rebalancerUrl } from "./subscriber-environment.js";

/** What the ready block says, as the two services' configurations decide it. */
export interface MeshFacts {
  rebalancer: RebalancerConfig;
  subscriber: SubscriberConfig;
  /** The metrics URLs that answered; the others are reported as not served. */
  metricsServed: ReadonlySet<string>;
}

/** The rebalancer's and the subscriber's scrape URLs, when they have one. */
export function metricsUrls(facts: Omit<MeshFacts, "metricsServed">): string[] {
  const scheme = (tls: unknown) => (tls ? "https" : "http");
  const urls: string[] = [];
  const { rebalancer, subscriber } = facts;
  if (rebalancer.metricsPort !== undefined) {
    urls.push(
      `${scheme(rebalancer.tls)}://${local(rebalancer.metricsHost)}:${rebalancer.metricsPort}/metrics`,
    );
  }
  if (subscriber.metricsPort !== undefined) {
    urls.push(
      `${scheme(subscriber.tls)}://${local(subscriber.metricsHost)}:${subscriber.metricsPort}/metrics`,
    );
  }
  return urls;
}

/** Where the subscriber's ingress answers on this host. */
export function ingressUrl(subscriber: SubscriberConfig): string {
  return `${subscriber.tls ? "https" : "http"}://${local(subscriber.host)}:${subscriber.port}`;
}

/**
 * The short block `npm start` prints once both services are healthy: where everything is, the
 * mode, whether keys are required, and one command to try. Never prints a key.
 */
export function readyBlock(facts: MeshFacts): string {
  const { rebalancer, subscriber } = facts;
  const api = rebalancerUrl(rebalancer);
  const metrics = metricsUrls(facts).map((url) =>
    facts.metricsServed.has(url) ? url : `${url} (not served: see the warning above)`,
  );
  const broker =
    rebalancer.broker.kind === "ibkr"
      ? `IBKR at ${rebalancer.broker.host}:${rebalancer.broker.port} as client ${rebalancer.broker.clientId} (ibkr)`
      : "the simulated broker (sim)";
  const keys = rebalancer.apiKeys.length;
  const auth =
    keys === 0
      ? "off: no key needed (set REBALANCER_API_KEYS to require one)"
      : `on: a bearer key from REBALANCER_API_KEYS (${keys} configured)` +
        (subscriber.rebalancer.apiKey !== undefined || subscriber.rebalancer.apiKeyFile
          ? "; the subscriber has its key"
          : "; the subscriber has NO key (REBALANCER_API_KEY)");
  const bearer = keys === 0 ? "" : `-H "Authorization: Bearer $KEY" `;
  const lines = [
    ["API", `${api}  (gRPC, Connect, gRPC-Web, REST)`],
    ["console", `${api}/console/`],
    ["ingress", `${ingressUrl(subscriber)}/events/{strategy}`],
    [
      "events",
      `${api}/console/#/events  (subscriber.v1.SubscriberService at ${ingressUrl(subscriber)})`,
    ],
    ["metrics", metrics.length === 0 ? "off (METRICS_PORT=0)" : metrics.join("  ")],
    ["mode", `${rebalancer.tradingMode} trading on ${broker}`],
    ["auth", auth],
    [
      "try",
      `curl -s ${bearer}${api}/accounts${keys === 0 ? "" : "   # KEY: one of REBALANCER_API_KEYS"}`,
    ],
  ];
  const width = Math.max(...lines.map(([label]) => label!.length));
  return [
    "",
    "The rebalancer mesh is up and healthy.",
    ...lines.map(([label, text]) => `  ${label!.padEnd(width)}  ${text}`),
    "",
  ].join("\n");
}

/** A bind address as a client on this host calls it. */
function local(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "[::]") return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
