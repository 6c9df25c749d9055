import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { readConfig, type RebalancerConfig } from "../../../rebalancer/src/config.js";
import { loadConfig, type SubscriberConfig } from "../../../subscriber/src/config.js";

/** Plausible secret file contents: what a user puts in deploy/secrets/. */
export const sampleSecrets: Record<string, string> = {
  tws_password: "paper-password\n",
  rebalancer_api_keys: "deploy-test-key\n",
  rebalancer_api_key: "deploy-test-key\n",
  allocations_api_key: "allocations-key\n",
  realtime_api_key: "appid.keyid:secret\n",
  postgres_password: "pg-password\n",
  database_url: "postgres://mesh:pg-password@postgres:5432/mesh\n",
};

/** What a service's own configuration code makes of a container environment. */
export interface ServiceConfigs {
  rebalancer(env: Record<string, string>): RebalancerConfig;
  subscriber(env: Record<string, string>): SubscriberConfig;
  /** Removes the secret files. */
  close(): void;
}

/**
 * Runs the services' real configuration functions on a container's environment. Secret paths
 * (`/run/secrets/NAME`) are pointed at files with sample contents, as Docker or Kubernetes
 * would mount them; nothing else is changed.
 */
export function serviceConfigs(): ServiceConfigs {
  const dir = mkdtempSync(join(tmpdir(), "deploy-secrets-"));
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(sampleSecrets)) {
    writeFileSync(join(dir, name), content);
  }
  const withSecretFiles = (env: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(env).map(([key, value]) =>
        key.endsWith("_FILE") && value.startsWith("/run/secrets/")
          ? [key, join(dir, basename(value))]
          : [key, value],
      ),
    );
  return {
    rebalancer: (env) => readConfig(withSecretFiles(env)),
    subscriber: (env) => loadConfig(withSecretFiles(env)),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** True for addresses that only the container itself can reach. */
export function isLoopback(host: string): boolean {
  return ["127.0.0.1", "::1", "localhost"].includes(host);
}
