import type { RebalancerConfig } from "@mesh/rebalancer/config";

/** Addresses that mean "every interface": a client on this host reaches them on loopback. */
const wildcards = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Where a client on this host reaches the rebalancer: its scheme, host and port, with a wildcard
 * host (0.0.0.0, ::) replaced by loopback (`localhost` under TLS, the name certificates carry).
 */
export function rebalancerUrl(config: RebalancerConfig): string {
  const scheme = config.tls ? "https" : "http";
  let host = config.apiHost;
  if (wildcards.has(host)) host = config.tls ? "localhost" : "127.0.0.1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `${scheme}://${host}:${config.apiPort}`;
}

/**
 * Origins a browser shows the rebalancer's console from: its URL, and on loopback the same port
 * under the other loopback name (127.0.0.1 and localhost are different origins to a browser).
 */
export function consoleOrigins(config: RebalancerConfig): string[] {
  const url = new URL(rebalancerUrl(config));
  const other = { "127.0.0.1": "localhost", localhost: "127.0.0.1" }[url.hostname];
  if (other === undefined) return [url.origin];
  return [url.origin, `${url.protocol}//${other}:${url.port}`];
}

/**
 * The subscriber's environment when `npm start` runs it beside the rebalancer: it calls that
 * rebalancer (its host and port, unless REBALANCER_API_URL is set) and, when the rebalancer
 * requires keys, sends the first of REBALANCER_API_KEYS (unless REBALANCER_API_KEY or
 * REBALANCER_API_KEY_FILE names its own). Its own service takes the rebalancer's keys, so the
 * console's key works on both (unless SUBSCRIBER_API_KEYS names others), and lets the console's
 * origins call it (unless SUBSCRIBER_CORS_ORIGINS is set). Everything else is passed on unchanged.
 */
export function subscriberEnvironment(
  env: NodeJS.ProcessEnv,
  rebalancer: RebalancerConfig,
): NodeJS.ProcessEnv {
  const set = (name: string) => (env[name] ?? "").trim() !== "";
  return {
    ...env,
    ...(set("REBALANCER_API_URL") ? {} : { REBALANCER_API_URL: rebalancerUrl(rebalancer) }),
    ...(set("REBALANCER_API_KEY") || set("REBALANCER_API_KEY_FILE") || !rebalancer.apiKeys[0]
      ? {}
      : { REBALANCER_API_KEY: rebalancer.apiKeys[0] }),
    ...(set("SUBSCRIBER_API_KEYS") || set("SUBSCRIBER_API_KEYS_FILE") || !rebalancer.apiKeys[0]
      ? {}
      : { SUBSCRIBER_API_KEYS: rebalancer.apiKeys.join(",") }),
    ...(set("SUBSCRIBER_CORS_ORIGINS")
      ? {}
      : { SUBSCRIBER_CORS_ORIGINS: consoleOrigins(rebalancer).join(",") }),
  };
}
