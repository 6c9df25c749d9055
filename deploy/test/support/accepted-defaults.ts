import type { NodeService } from "./repo.js";

/**
 * Variables a service reads that a deployment (docker-compose.yml, the Kubernetes manifests)
 * may leave to the service's own default, each with the reason. Any other variable the
 * configuration code reads must be set by the deployment: a new variable makes the wiring
 * tests fail until someone sets it or adds it here.
 */
export const acceptedDefaults: Record<NodeService, Record<string, string>> = {
  rebalancer: {
    API_HOST: "0.0.0.0 with API keys, the container's loopback without: fails closed",
    CORS_ORIGINS: "no browser origins unless the operator names some",
    IBKR_INFO_CODES: "only the built-in informational IB codes until an operator adds some",
    FOREIGN_OPEN_ORDERS: "a live run refuses while another client's order is open: fails closed",
    IBKR_HEARTBEAT_SECONDS: "a 5 s heartbeat on the IB link",
    IBKR_HEARTBEAT_TIMEOUT_SECONDS: "5 s of silence after a heartbeat declares the IB link lost",
    SIM_FILL_DELAY_MS: "simulated broker only (refused with IBKR): fills 50 ms after acceptance",
    SIM_FILL_PARTS: "simulated broker only (refused with IBKR): one fill per order",
    SIM_REJECT_SYMBOLS: "simulated broker only (refused with IBKR): rejects nothing",
    LOG_FORMAT: "JSON lines: a container's stdout is no terminal",
    RUN_RESUME_MAX_AGE:
      "a stopped run is resumed within 30 minutes of its start, else ends RESUME_EXPIRED placing nothing more",
    BROKER_RECONNECT_WINDOW:
      "a run waits 2 minutes for a lost IB link, then resumes (reconciled) or fails placing nothing more",
    NOTIFY_URLS:
      "nobody is notified until an operator names receivers (NOTIFY_URLS_FILE for tokens)",
    NOTIFY_URLS_FILE: "nobody is notified until an operator names receivers",
    NOTIFY_DRY_RUNS: "only live runs and dead letters are notified",
    NOTIFY_MAX_RETRY_DELAY: "a receiver that is down is asked again at most every 30 s",
    CONSOLE_URL: "links in notifications point to the rebalancer's own URL",
    DATABASE_URL:
      "the run store in SQLite on the data volume: one replica (replicas: deploy/compose/postgres.yml, deploy/k8s)",
    REPLICA_ORDINAL: "0, the only replica; each replica on PostgreSQL is given its own",
    ACCOUNT_LEASE_SECONDS: "a dead replica's accounts are free for another after 10 s",
    CONSOLE_SUBSCRIBER_URL:
      "the console's Events and Dead letters pages say where to set it: the subscriber's port is not published",
  },
  subscriber: {
    SUBSCRIBER_HOST: "loopback, or 0.0.0.0 with a realtime key (signed webhooks only)",
    ABLY_ENDPOINT: "Ably's own endpoint; other values are for tests and proxies",
    ABLY_PORT: "the SDK's default for TLS",
    ABLY_TLS: "TLS on",
    REALTIME_RECOVERY_WINDOW: "10 minutes of channel history after a gap",
    DELIVERY_MAX_AGE: "6 hours of retries before dead-lettering",
    DELIVERY_CONCURRENCY: "4 deliveries at once, one per account",
    LOG_FORMAT: "JSON lines: a container's stdout is no terminal",
    REALTIME_API_KEY: "no Ably connection until a key is configured (local events only)",
    HEALTH_PENDING_MAX_AGE: "degraded once an entry waited 10 minutes for delivery",
    HEALTH_GAP_MAX_AGE: "degraded once a realtime gap stayed open 2 minutes",
    HEALTH_RECOVERY_FAILURES: "degraded once a gap's history recovery failed 3 times in a row",
    DATABASE_URL: "the inbox in SQLite on the data volume: one replica",
    DELIVERY_CLAIM_TIMEOUT:
      "with PostgreSQL, a dead replica's deliveries are taken over after 15 s",
    NOTIFY_URLS:
      "nobody is notified until an operator names receivers (NOTIFY_URLS_FILE for tokens)",
    NOTIFY_URLS_FILE: "nobody is notified until an operator names receivers",
    NOTIFY_DRY_RUNS: "only live runs and dead letters are notified",
    NOTIFY_MAX_RETRY_DELAY: "a receiver that is down is asked again at most every 30 s",
    CONSOLE_URL: "links in notifications point to the rebalancer's own URL",
    SUBSCRIBER_API_KEYS:
      "its own service takes the key it sends the rebalancer (REBALANCER_API_KEY_FILE's)",
    SUBSCRIBER_CORS_ORIGINS: "no browser calls it: its port is not published",
    SUBSCRIBER_API_KEYS_FILE:
      "its own service takes, and re-reads, the key it sends the rebalancer (REBALANCER_API_KEY_FILE)",
    API_KEY_OVERLAP_SECONDS: "a key removed from its file is still accepted for 30 s",
  },
};
