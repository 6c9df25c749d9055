import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ConfigError } from "@mesh/platform/config-error";
import { readConfig } from "./config.js";

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    readConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the configuration to be refused");
}

describe("the rebalancer's configuration", () => {
  it("runs on embedded defaults: paper, simulated broker, loopback without keys", () => {
    const config = readConfig({}, "/srv/mesh");
    expect(config).to.include({
      accountsFile: "/srv/mesh/accounts.yaml",
      dataDir: "/srv/mesh/data",
      tradingMode: "paper",
      apiHost: "127.0.0.1",
      apiPort: 8000,
      openReads: false,
      metricsPort: 9464,
    });
    expect(config.broker).to.deep.equal({
      kind: "sim",
      fillDelayMs: 50,
      fillParts: 1,
      rejectSymbols: [],
    });
    expect(config.apiKeys).to.deep.equal([]);
  });

  it("keeps runs in SQLite without DATABASE_URL, on PostgreSQL with it (or its file), never showing the password", () => {
    const plain = readConfig({});
    expect(plain.databaseUrl).to.equal(undefined);
    expect(plain.accountLeaseMs).to.equal(10_000);
    const url = "postgres://mesh:s3cret@db:5432/mesh";
    expect(readConfig({ DATABASE_URL: url }).databaseUrl).to.deep.equal({
      url,
      shown: "postgres://mesh:[redacted]@db:5432/mesh",
    });
    const dir = mkdtempSync(join(tmpdir(), "db-url-"));
    writeFileSync(join(dir, "url"), `${url}\n`);
    expect(readConfig({ DATABASE_URL_FILE: join(dir, "url") }).databaseUrl?.url).to.equal(url);
    const refused = problems({ DATABASE_URL: "mysql://mesh:s3cret@db/mesh" });
    expect(refused.join()).to.contain("DATABASE_URL").and.not.contain("s3cret");
  });

  it("names a replica by its ordinal (given, or a StatefulSet pod's) and takes its IB client id as given", () => {
    const config = readConfig({
      BROKER: "ibkr",
      IBKR_CLIENT_ID: "11",
      REPLICA_ORDINAL: "1",
      ACCOUNT_LEASE_SECONDS: "15",
    });
    expect(config.broker).to.include({ clientId: 11 });
    expect(config.replicaOrdinal).to.equal(1);
    expect(config.replica).to.match(/#1:\d+$/);
    expect(config.accountLeaseMs).to.equal(15_000);
    expect(problems({ ACCOUNT_LEASE_SECONDS: "1" }).join()).to.contain("ACCOUNT_LEASE_SECONDS");
  });

  it("reads the simulated broker's fill delay, partial fills and rejected symbols", () => {
    expect(
      readConfig({ SIM_FILL_DELAY_MS: "2500", SIM_FILL_PARTS: "3", SIM_REJECT_SYMBOLS: "QQQ, TLT" })
        .broker,
    ).to.deep.equal({
      kind: "sim",
      fillDelayMs: 2500,
      fillParts: 3,
      rejectSymbols: ["QQQ", "TLT"],
    });
  });

  it("refuses non-decimal, negative or zero-part simulated broker settings, naming each", () => {
    expect(
      problems({
        SIM_FILL_DELAY_MS: "-5",
        SIM_FILL_PARTS: "0",
        SIM_REJECT_SYMBOLS: "QQQ,tlt",
      }),
    ).to.deep.equal([
      'SIM_FILL_DELAY_MS: must be a whole number between 0 and 3600000, got "-5"',
      'SIM_FILL_PARTS: must be a whole number between 1 and 1000, got "0"',
      "SIM_REJECT_SYMBOLS: must be upper-case ticker symbols, got tlt",
    ]);
    for (const delay of ["1e3", "0x10", "2.5"]) {
      expect(problems({ SIM_FILL_DELAY_MS: delay })).to.deep.equal([
        `SIM_FILL_DELAY_MS: must be a whole number between 0 and 3600000, got "${delay}"`,
      ]);
    }
  });

  it("refuses simulated broker settings with the IBKR broker, where they would do nothing", () => {
    expect(problems({ IBKR_HOST: "gw", SIM_FILL_PARTS: "2" })).to.deep.equal([
      "SIM_FILL_PARTS: applies to the simulated broker only",
    ]);
  });

  it("takes relative paths from the folder npm was started in, not the package's folder", () => {
    const npm = { INIT_CWD: "/srv/mesh", npm_package_json: "/srv/mesh/rebalancer/package.json" };
    const config = readConfig(
      {
        ...npm,
        ACCOUNTS_FILE: "conf/accounts.yaml",
        TLS_CERT_FILE: "tls/c",
        TLS_KEY_FILE: "tls/k",
      },
      "/srv/mesh/rebalancer",
    );
    expect(config.accountsFile).to.equal("/srv/mesh/conf/accounts.yaml");
    // With ACCOUNTS_FILE set the run store still lands beside the caller, not in rebalancer/.
    expect(config.dataDir).to.equal("/srv/mesh/data");
    expect(config.tls).to.deep.equal({ certFile: "/srv/mesh/tls/c", keyFile: "/srv/mesh/tls/k" });
  });

  it("uses IBKR when IBKR_HOST is set, on the paper port by default", () => {
    expect(readConfig({ IBKR_HOST: "ib-gateway" }).broker).to.deep.equal({
      kind: "ibkr",
      host: "ib-gateway",
      port: 4002,
      clientId: 1,
      informationalCodes: [],
      heartbeatIntervalMs: 5_000,
      heartbeatTimeoutMs: 5_000,
    });
  });

  it("refuses other clients' open orders unless FOREIGN_OPEN_ORDERS says to ignore untraded symbols", () => {
    expect(readConfig({}).foreignOpenOrders).to.equal("refuse");
    expect(
      readConfig({ FOREIGN_OPEN_ORDERS: "ignore-untraded-symbols" }).foreignOpenOrders,
    ).to.equal("ignore_untraded_symbols");
    expect(() => readConfig({ FOREIGN_OPEN_ORDERS: "ignore" })).to.throw(/FOREIGN_OPEN_ORDERS/);
  });

  it("reads extra informational IB codes from IBKR_INFO_CODES and refuses a non-number", () => {
    const broker = readConfig({ IBKR_HOST: "gw", IBKR_INFO_CODES: "10349, 10233" }).broker;
    expect(broker)
      .to.include({ kind: "ibkr" })
      .and.have.deep.property("informationalCodes", [10349, 10233]);
    expect(() => readConfig({ IBKR_HOST: "gw", IBKR_INFO_CODES: "10349,abc" })).to.throw(
      /IBKR_INFO_CODES/,
    );
  });

  it("reads several API keys, from a file too, and then listens on every address", () => {
    const file = join(mkdtempSync(join(tmpdir(), "keys-")), "keys");
    writeFileSync(file, "old-key, new-key\n");
    const config = readConfig({ REBALANCER_API_KEYS_FILE: file, ALLOW_PLAINTEXT: "true" });
    expect(config.apiKeys).to.deep.equal(["old-key", "new-key"]);
    expect(config.apiHost).to.equal("0.0.0.0");
    expect(config.apiKeysFile).to.equal(file);
  });

  it("refuses API keys in clear text beyond loopback unless ALLOW_PLAINTEXT=true", () => {
    expect(problems({ REBALANCER_API_KEYS: "k1" })).to.deep.equal([
      "API_HOST: 0.0.0.0 is not loopback and API keys would travel in clear text; set TLS_CERT_FILE and TLS_KEY_FILE, or ALLOW_PLAINTEXT=true if something else encrypts the traffic",
    ]);
    expect(readConfig({ REBALANCER_API_KEYS: "k1", API_HOST: "127.0.0.1" }).tls).to.equal(
      undefined,
    );
    const tls = readConfig({
      REBALANCER_API_KEYS: "k1",
      TLS_CERT_FILE: "/tls/cert.pem",
      TLS_KEY_FILE: "/tls/key.pem",
      TLS_CLIENT_CA_FILE: "/tls/ca.pem",
    });
    expect(tls.tls).to.deep.equal({
      certFile: "/tls/cert.pem",
      keyFile: "/tls/key.pem",
      clientCaFile: "/tls/ca.pem",
    });
    expect(problems({ TLS_CERT_FILE: "/tls/cert.pem" })).to.deep.equal([
      "TLS_CERT_FILE and TLS_KEY_FILE: set both or neither",
    ]);
  });

  it("reads how old a stopped run may be to resume and how long a run waits for its broker link", () => {
    const defaults = readConfig({});
    expect(defaults.resumeMaxAgeMs).to.equal(30 * 60_000);
    expect(defaults.reconnectWindowMs).to.equal(120_000);
    const set = readConfig({ RUN_RESUME_MAX_AGE: "2h", BROKER_RECONNECT_WINDOW: "0" });
    expect(set.resumeMaxAgeMs).to.equal(7_200_000);
    expect(set.reconnectWindowMs).to.equal(0);
    expect(problems({ RUN_RESUME_MAX_AGE: "30 min", BROKER_RECONNECT_WINDOW: "2d" })).to.deep.equal(
      [
        'RUN_RESUME_MAX_AGE: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between 1m and 168h, got "30 min"',
        'BROKER_RECONNECT_WINDOW: must be a duration such as 90s, 30m or 2h (a plain number is seconds) between 0s and 1h, got "2d"',
      ],
    );
  });

  it("names every bad variable", () => {
    expect(
      problems({
        TRADING_MODE: "real",
        API_PORT: "80a",
        BROKER: "alpaca",
        REBALANCER_OPEN_READS: "yes",
      }),
    ).to.deep.equal([
      'TRADING_MODE: must be paper or live, got "real"',
      'BROKER: must be sim or ibkr, got "alpaca"',
      'REBALANCER_OPEN_READS: must be true or false, got "yes"',
      'API_PORT: must be a whole number between 0 and 65535, got "80a"',
    ]);
  });

  it("refuses live trading on the simulated broker", () => {
    expect(problems({ TRADING_MODE: "live" })).to.deep.equal([
      "TRADING_MODE=live needs BROKER=ibkr: the simulated broker trades no real money",
    ]);
  });

  it("refuses API keys that are set but empty instead of turning authentication off", () => {
    const file = join(mkdtempSync(join(tmpdir(), "keys-")), "keys");
    writeFileSync(file, "");
    for (const env of [{ REBALANCER_API_KEYS: " , ," }, { REBALANCER_API_KEYS_FILE: file }]) {
      expect(problems(env)).to.deep.equal([
        "REBALANCER_API_KEYS: is set but holds no value; unset it or give at least one",
      ]);
    }
  });

  for (const port of ["0x46AE", "1.807e4", "18071.5", "+8000"]) {
    it(`refuses API_PORT=${port}, naming it`, () => {
      expect(problems({ API_PORT: port })).to.deep.equal([
        `API_PORT: must be a whole number between 0 and 65535, got "${port}"`,
      ]);
    });
  }

  it("names LOG_LEVEL when it is no pino level", () => {
    expect(problems({ LOG_LEVEL: "verbose" })[0]).to.match(
      /^LOG_LEVEL: must be fatal, .* got "verbose"$/,
    );
  });

  it("refuses a metrics port equal to the API port", () => {
    expect(problems({ API_PORT: "9000", METRICS_PORT: "9000" })).to.deep.equal([
      "METRICS_PORT: 9000 is API_PORT too; give one of them another port",
    ]);
  });

  it("keeps the unauthenticated metrics on loopback unless METRICS_HOST says otherwise", () => {
    expect(readConfig({ REBALANCER_API_KEYS: "k", ALLOW_PLAINTEXT: "true" }).metricsHost).to.equal(
      "127.0.0.1",
    );
    expect(readConfig({ METRICS_HOST: "0.0.0.0" }).metricsHost).to.equal("0.0.0.0");
  });
  it("reads who is notified: NOTIFY_URLS (or a file of them), dry runs, the console's address", () => {
    const none = readConfig({}).notify;
    expect(none).to.deep.equal({ targets: [], dryRuns: false, maxRetryDelayMs: 30_000 });
    const dir = mkdtempSync(join(tmpdir(), "notify-config-"));
    writeFileSync(
      join(dir, "urls"),
      "ntfy://ntfy.sh/ops\nhttps://hooks.slack.com/services/T1/B2/secretpath\n",
    );
    const notify = readConfig({
      NOTIFY_URLS_FILE: join(dir, "urls"),
      NOTIFY_DRY_RUNS: "true",
      NOTIFY_MAX_RETRY_DELAY: "1m",
      CONSOLE_URL: "https://ops.example.com",
    }).notify;
    expect(notify.targets.map((t) => [t.format, t.shown])).to.deep.equal([
      ["ntfy", "ntfy://ntfy.sh/ops"],
      ["slack", "https://hooks.slack.com/[redacted]"],
    ]);
    expect(notify).to.include({
      dryRuns: true,
      maxRetryDelayMs: 60_000,
      consoleUrl: "https://ops.example.com",
    });
    expect(
      readConfig({ NOTIFY_URLS: "http://a.example/x, ntfy://b.example/t" }).notify.targets,
    ).to.have.length(2);
  });

  it("names a notification URL it cannot post to without quoting its credentials", () => {
    expect(
      problems({ NOTIFY_URLS: "ftp://u:hunter22@example.com/x", CONSOLE_URL: "ops.example.com" }),
    ).to.deep.equal([
      "NOTIFY_URLS: ftp://[redacted]@example.com/x: must be http(s)://, ntfy:// or ntfy+/slack+http(s)://",
      'CONSOLE_URL: must be an http(s) URL, got "ops.example.com"',
    ]);
  });
});
