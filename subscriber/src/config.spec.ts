import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ConfigError } from "@mesh/platform/config-error";
import { loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("runs on the embedded defaults: webhook ingress only, on loopback", () => {
    const config = loadConfig({}, "/srv/mesh");
    expect(config).to.deep.include({
      accountsFile: "/srv/mesh/accounts.yaml",
      dataDir: "/srv/mesh/data",
      tradingMode: "paper",
      host: "127.0.0.1",
      port: 8001,
      rebalancer: { url: "http://127.0.0.1:8000", protocol: "grpc" },
      metricsPort: 9465,
    });
    expect(config.realtime).to.equal(undefined);
    expect(config.delivery.attemptTimeoutMs).to.equal(300_000);
  });

  it("takes relative paths from the folder npm was started in, as the rebalancer does", () => {
    const npm = { INIT_CWD: "/srv/mesh", npm_package_json: "/srv/mesh/subscriber/package.json" };
    const config = loadConfig({ ...npm, ACCOUNTS_FILE: "conf/a.yaml" }, "/srv/mesh/subscriber");
    expect(config.accountsFile).to.equal("/srv/mesh/conf/a.yaml");
    expect(config.dataDir).to.equal("/srv/mesh/data");
  });

  it("takes the realtime key from a file and the endpoint settings from the environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-"));
    try {
      writeFileSync(join(dir, "key"), "app.key:secret\n");
      const config = loadConfig({
        REALTIME_API_KEY_FILE: join(dir, "key"),
        ABLY_ENDPOINT: "127.0.0.1",
        ABLY_PORT: "8080",
        ABLY_TLS: "false",
        REBALANCER_API_KEY: "k",
        REBALANCER_API_TIMEOUT: "30",
      });
      expect(config.realtime).to.deep.include({
        key: "app.key:secret",
        endpoint: "127.0.0.1",
        port: 8080,
        tls: false,
      });
      expect(config.webhookKey).to.equal("app.key:secret");
      expect(config.rebalancer.apiKey).to.equal("k");
      expect(config.delivery.attemptTimeoutMs).to.equal(30_000);
      expect(config.host).to.equal("0.0.0.0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("re-reads the operators' keys from SUBSCRIBER_API_KEYS_FILE, else from the rebalancer key's file", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-"));
    try {
      writeFileSync(join(dir, "keys"), "op-1,op-2\n");
      writeFileSync(join(dir, "key"), "rebalancer-key\n");
      const own = loadConfig({
        SUBSCRIBER_API_KEYS_FILE: join(dir, "keys"),
        REBALANCER_API_KEY_FILE: join(dir, "key"),
        API_KEY_OVERLAP_SECONDS: "5",
      });
      expect(own.apiKeys).to.deep.equal(["op-1", "op-2"]);
      expect(own.apiKeysFile).to.equal(join(dir, "keys"));
      expect(own.apiKeyOverlapMs).to.equal(5000);
      const borrowed = loadConfig({ REBALANCER_API_KEY_FILE: join(dir, "key") });
      expect(borrowed.apiKeys).to.deep.equal(["rebalancer-key"]);
      expect(borrowed.apiKeysFile).to.equal(join(dir, "key"));
      expect(borrowed.apiKeyOverlapMs).to.equal(30_000);
      expect(loadConfig({ SUBSCRIBER_API_KEYS: "op-1" }).apiKeysFile).to.equal(undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the inbox in PostgreSQL with DATABASE_URL (or its file), shown without the password", () => {
    expect(loadConfig({}).database, "SQLite by default").to.equal(undefined);
    const config = loadConfig({
      DATABASE_URL: "postgres://mesh:pa55word@db:5432/mesh",
      DELIVERY_CLAIM_TIMEOUT: "5",
    });
    expect(config.database).to.deep.equal({
      url: "postgres://mesh:pa55word@db:5432/mesh",
      shown: "postgres://mesh:[redacted]@db:5432/mesh",
    });
    expect(config.delivery.claimTimeoutMs).to.equal(5000);
    expect(loadConfig({}).delivery.claimTimeoutMs).to.equal(15_000);
    const dir = mkdtempSync(join(tmpdir(), "config-"));
    try {
      writeFileSync(join(dir, "url"), "postgresql://mesh:pa55word@db/mesh\n");
      expect(loadConfig({ DATABASE_URL_FILE: join(dir, "url") }).database?.url).to.equal(
        "postgresql://mesh:pa55word@db/mesh",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names DATABASE_URL when it is not a PostgreSQL URL, without quoting the password", () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return "";
      } catch (err) {
        return (err as ConfigError).message;
      }
    };
    const wrong = problems({ DATABASE_URL: "mysql://root:pa55word@db/mesh" });
    expect(wrong).to.include(
      "DATABASE_URL (or DATABASE_URL_FILE): must be a postgres:// or postgresql:// URL",
    );
    expect(wrong).to.not.include("pa55word");
    expect(problems({ DATABASE_URL: "postgres:///mesh?password=pa55word" })).to.include(
      'names no server host, got "postgres:///mesh?password=[redacted]"',
    );
    expect(problems({ DATABASE_URL_FILE: "/nonexistent/url" })).to.include(
      "DATABASE_URL_FILE: cannot read /nonexistent/url",
    );
    expect(problems({ DELIVERY_CLAIM_TIMEOUT: "0" })).to.include("DELIVERY_CLAIM_TIMEOUT");
  });

  it("speaks Connect to the rebalancer when asked and serves no metrics with METRICS_PORT=0", () => {
    const config = loadConfig({ REBALANCER_API_PROTOCOL: "connect", METRICS_PORT: "0" });
    expect(config.rebalancer.protocol).to.equal("connect");
    expect(config.metricsPort).to.equal(undefined);
  });

  it("names every bad variable at once", () => {
    let error: unknown;
    try {
      loadConfig({
        TRADING_MODE: "demo",
        SUBSCRIBER_PORT: "eighty",
        REALTIME_API_KEY: "no-secret",
        ABLY_ENDPOINT: "host:80",
        ABLY_TLS: "maybe",
        REBALANCER_API_URL: "grpc://x",
        REBALANCER_API_PROTOCOL: "grpc-web",
        METRICS_PORT: "-1",
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(":")[0])).to.deep.equal([
      "TRADING_MODE",
      "SUBSCRIBER_PORT",
      "REBALANCER_API_URL",
      "REBALANCER_API_PROTOCOL",
      "METRICS_PORT",
      "REALTIME_API_KEY",
      "ABLY_ENDPOINT",
      "ABLY_TLS",
    ]);
  });

  it("refuses what it cannot honour: fractions, port clashes, a data dir under a file, log levels", () => {
    const dir = mkdtempSync(join(tmpdir(), "subscriber-config-"));
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as ConfigError).problems;
      }
    };
    try {
      expect(problems({ DELIVERY_CONCURRENCY: "1.5" })[0]).to.match(
        /^DELIVERY_CONCURRENCY: .*whole/,
      );
      expect(problems({ SUBSCRIBER_PORT: "18071.5" })[0]).to.match(/^SUBSCRIBER_PORT: /);
      expect(problems({ SUBSCRIBER_PORT: "18071", METRICS_PORT: "18071" })).to.deep.equal([
        "METRICS_PORT: must differ from SUBSCRIBER_PORT (both 18071)",
      ]);
      expect(problems({ DATA_DIR: join(file, "data") })).to.deep.equal([
        `DATA_DIR: ${file} is a file, so ${join(file, "data")} cannot be a directory`,
      ]);
      expect(problems({ LOG_LEVEL: "verbose" })[0]).to.match(/^LOG_LEVEL: .*got "verbose"/);
      expect(loadConfig({}).metricsHost).to.equal("127.0.0.1");
      expect(loadConfig({ METRICS_HOST: "0.0.0.0" }).metricsHost).to.equal("0.0.0.0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the health thresholds and the recovery window, refusing values it cannot honour", () => {
    const defaults = loadConfig({});
    expect(defaults.health).to.deep.equal({
      pendingMaxAgeMs: 600_000,
      gapMaxAgeMs: 120_000,
      recoveryFailures: 3,
    });
    const set = loadConfig({
      HEALTH_PENDING_MAX_AGE: "900",
      HEALTH_GAP_MAX_AGE: "60",
      HEALTH_RECOVERY_FAILURES: "5",
      REALTIME_API_KEY: "app.key:secret",
      REALTIME_RECOVERY_WINDOW: "3600",
    });
    expect(set.health).to.deep.equal({
      pendingMaxAgeMs: 900_000,
      gapMaxAgeMs: 60_000,
      recoveryFailures: 5,
    });
    expect(set.realtime).to.deep.include({
      recoveryWindowMs: 3_600_000,
      continuityMarginMs: 30_000,
      checkpointIntervalMs: 5000,
    });
    let error: unknown;
    try {
      loadConfig({
        HEALTH_PENDING_MAX_AGE: "0",
        HEALTH_GAP_MAX_AGE: "2m",
        HEALTH_RECOVERY_FAILURES: "1.5",
        REALTIME_RECOVERY_WINDOW: "0",
      });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.deep.equal([
      'REALTIME_RECOVERY_WINDOW: must be a whole number between 60 and 604800, got "0"',
      'HEALTH_PENDING_MAX_AGE: must be a whole number between 1 and 2592000, got "0"',
      'HEALTH_GAP_MAX_AGE: must be a whole number between 1 and 604800, got "2m"',
      'HEALTH_RECOVERY_FAILURES: must be a whole number between 1 and 1000, got "1.5"',
    ]);
  });
  it("notifies dead letters to NOTIFY_URLS, and nobody without them", () => {
    expect(loadConfig({}).notify).to.equal(undefined);
    const notify = loadConfig({
      NOTIFY_URLS: "ntfy://ntfy.sh/ops,https://user:pw-secret@hooks.example.com/in",
      CONSOLE_URL: "https://ops.example.com",
    }).notify!;
    expect(notify.targets.map((t) => t.shown)).to.deep.equal([
      "ntfy://ntfy.sh/ops",
      "https://[redacted]@hooks.example.com/in",
    ]);
    expect(notify).to.include({ dryRuns: false, consoleUrl: "https://ops.example.com" });
  });
});
