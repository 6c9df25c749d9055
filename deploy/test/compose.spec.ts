import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { acceptedDefaults } from "./support/accepted-defaults.js";
import {
  durationSeconds,
  environmentOf,
  loadComposeFile,
  mergeComposeFiles,
  networksOf,
  parsePort,
  readComposeFile,
  readEnvFile,
  referencedVariables,
  type ComposeFile,
  type ComposeService,
  type Variables,
} from "./support/compose-file.js";
import { configVariables } from "./support/config-variables.js";
import { dockerIgnore } from "./support/docker-ignore.js";
import { execForm, instructionsOf, parseDockerfile } from "./support/dockerfile.js";
import { nodeServices, readRepoFile, repoRoot } from "./support/repo.js";
import {
  isLoopback,
  sampleSecrets,
  serviceConfigs,
  type ServiceConfigs,
} from "./support/service-config.js";

/** What a new user has after `cp .env.example .env` and filling in the username. */
const firstRun: Variables = { ...readEnvFile(".env.example"), TWS_USERID: "paper-user" };
/** Nothing but the one required value: the defaults written in docker-compose.yml. */
const bare: Variables = { TWS_USERID: "paper-user" };

/** The gateway's own API port behind each socat port the other containers use. */
const gatewayApiPortBehind: Record<number, number> = { 4004: 4002, 4003: 4001 };

/** Environment variable names that hold secrets: never a value in a compose file. */
const secretName = /(KEY|KEYS|PASSWORD|SECRET|TOKEN)$/;

/** Whether a variable of a compose service is a secret, by name or by the service's code. */
function isSecret(service: string, variable: string): boolean {
  const secrets = (nodeServices as readonly string[]).includes(service)
    ? configVariables(service as (typeof nodeServices)[number]).secrets
    : new Set<string>();
  return secretName.test(variable) || secrets.has(variable);
}

describe("docker-compose.yml", () => {
  let compose: ComposeFile;
  let configs: ServiceConfigs;
  const service = (name: string) => compose.services[name]!;
  const env = (name: string) => environmentOf(service(name));
  before(() => {
    compose = loadComposeFile("docker-compose.yml", firstRun);
    configs = serviceConfigs();
  });
  after(() => configs.close());

  it("runs ib-gateway, jaeger, the rebalancer and the subscriber", () => {
    expect(Object.keys(compose.services)).to.have.members([
      "ib-gateway",
      "jaeger",
      "rebalancer",
      "subscriber",
    ]);
  });

  it("trades on paper unless .env says otherwise", () => {
    for (const variables of [bare, firstRun]) {
      const file = loadComposeFile("docker-compose.yml", variables);
      for (const name of ["ib-gateway", "rebalancer", "subscriber"]) {
        expect(environmentOf(file.services[name]!).TRADING_MODE, name).to.equal("paper");
      }
      expect(environmentOf(file.services.rebalancer!).IBKR_PORT).to.equal("4004");
    }
  });

  it("refuses to start without the IBKR username instead of logging in with none", () => {
    expect(() => loadComposeFile("docker-compose.yml", {})).to.throw(/TWS_USERID/);
    expect(() => loadComposeFile("docker-compose.yml", { TWS_USERID: "" })).to.throw(/TWS_USERID/);
  });

  for (const name of nodeServices) {
    it(`sets every variable the ${name}'s configuration reads, or leaves it to a listed default`, () => {
      const { all, secrets } = configVariables(name);
      const given = env(name);
      const missing = [...all].filter(
        (variable) =>
          !(variable in given) &&
          !(secrets.has(variable) && `${variable}_FILE` in given) &&
          !(variable in acceptedDefaults[name]),
      );
      expect(
        missing,
        `set these in docker-compose.yml, or list them in deploy/test/support/accepted-defaults.ts`,
      ).to.deep.equal([]);
    });

    it(`gives the ${name} a configuration its own code accepts, defaults and .env.example alike`, () => {
      for (const variables of [bare, firstRun]) {
        const file = loadComposeFile("docker-compose.yml", variables);
        expect(() => configs[name](environmentOf(file.services[name]!))).not.to.throw();
      }
    });
  }

  it("connects the rebalancer to the gateway's paper API, which the gateway's check probes", () => {
    const { broker } = configs.rebalancer(env("rebalancer"));
    expect(broker).to.include({ kind: "ibkr", host: "ib-gateway", port: 4004 });
    const port = broker.kind === "ibkr" ? broker.port : 0;
    const check = service("ib-gateway").healthcheck!.test.join(" ");
    expect(check).to.include(`port=${gatewayApiPortBehind[port]}`);
    expect(check).to.include("/dev/tcp/127.0.0.1/$port");
    // The handshake must get an answer, not just a connection: the gateway is logged in.
    expect(check).to.match(/printf 'API\\000.*v100\.\.\d+'/);
    expect(check).to.include("head -c 4");
  });

  it("lets the subscriber reach the rebalancer's API with a key, and the rebalancer listen for it", () => {
    const rebalancer = configs.rebalancer(env("rebalancer"));
    const subscriber = configs.subscriber(env("subscriber"));
    expect(rebalancer.apiKeys.length, "the rebalancer requires keys").to.be.above(0);
    expect(isLoopback(rebalancer.apiHost), "listens beyond its own loopback").to.equal(false);
    const url = new URL(subscriber.rebalancer.url);
    expect(url.hostname).to.equal("rebalancer");
    expect(Number(url.port)).to.equal(rebalancer.apiPort);
    expect(subscriber.rebalancer.apiKey).to.be.a("string").and.not.equal("");
  });

  it("encrypts the API and the subscriber's calls with certificates from secret files", () => {
    const rebalancer = configs.rebalancer(env("rebalancer"));
    const subscriber = configs.subscriber(env("subscriber"));
    expect(rebalancer.tls, "TLS on the rebalancer").to.not.equal(undefined);
    expect(rebalancer.allowPlaintext).to.equal(false);
    expect(subscriber.rebalancer.url).to.match(/^https:\/\//);
    expect(subscriber.tls, "TLS on the subscriber's ingress").to.not.equal(undefined);
    // As written in the compose file (the configuration sees them moved to a scratch folder).
    const files = [
      ["rebalancer", "TLS_CERT_FILE"],
      ["rebalancer", "TLS_KEY_FILE"],
      ["subscriber", "REBALANCER_CA_FILE"],
      ["subscriber", "REBALANCER_CLIENT_CERT_FILE"],
      ["subscriber", "REBALANCER_CLIENT_KEY_FILE"],
      ["subscriber", "TLS_CERT_FILE"],
      ["subscriber", "TLS_KEY_FILE"],
    ].map(([name, variable]) => [name!, env(name!)[variable!]] as const);
    for (const [name, path] of files) {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(path ?? "")?.[1];
      expect(secret, `${name}: ${path} is a Docker secret`).to.not.equal(undefined);
      expect(service(name).secrets ?? [], `${name} mounts ${secret}`).to.include(secret);
      // deploy/make-certs.sh writes these names into deploy/secrets/.
      expect(compose.secrets?.[secret!]?.file).to.match(
        /^\.\/deploy\/secrets\/(ca|rebalancer|subscriber)\.(crt|key)$/,
      );
    }
    // mTLS is one .env line away, with the CA both sides already have.
    const mtls = loadComposeFile("docker-compose.yml", {
      ...firstRun,
      REBALANCER_TLS_CLIENT_CA_FILE: "/run/secrets/tls_ca",
    });
    expect(environmentOf(mtls.services.rebalancer!).TLS_CLIENT_CA_FILE).to.equal(
      env("subscriber").REBALANCER_CA_FILE,
    );
    expect(configs.rebalancer(environmentOf(mtls.services.rebalancer!)).tls?.clientCaFile).to.be.a(
      "string",
    );
  });

  it("fails closed when no API key is configured: the API stays on the container's loopback", () => {
    const config = configs.rebalancer({ ...env("rebalancer"), REBALANCER_API_KEYS_FILE: "" });
    expect(isLoopback(config.apiHost)).to.equal(true);
  });

  it("reads keys and passwords only from Docker secret files", () => {
    const declared = compose.secrets ?? {};
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(definition))) {
        expect(secretName.test(key) && value !== "", `${name}: ${key} holds a value`).to.equal(
          false,
        );
        const secret = key.replace(/_FILE$/, "");
        if (key === secret || value === "" || !isSecret(name, secret)) continue;
        const match = /^\/run\/secrets\/([\w.-]+)$/.exec(value);
        expect(match, `${name}: ${key}=${value} is a Docker secret`).to.not.equal(null);
        expect(definition.secrets ?? [], `${name} mounts ${match![1]}`).to.include(match![1]);
      }
    }
    for (const name of nodeServices) {
      for (const secret of configVariables(name).secrets) {
        expect(env(name), `${name}: ${secret} is given as a file`).to.not.have.property(secret);
      }
    }
    for (const [name, { file }] of Object.entries(declared)) {
      expect(file, `secret ${name}`).to.match(/^\.\/deploy\/secrets\/[\w.-]+$/);
    }
    // The optional Ably key turns on only when .env names its file.
    expect(loadComposeFile("docker-compose.yml", bare).services.subscriber!.environment)
      .to.have.property("REALTIME_API_KEY_FILE")
      .that.equals("");
    const withAbly = loadComposeFile("docker-compose.yml", {
      ...bare,
      REALTIME_API_KEY_FILE: "/run/secrets/realtime_api_key",
    });
    expect(configs.subscriber(environmentOf(withAbly.services.subscriber!)).realtime).to.include({
      key: "appid.keyid:secret",
    });
  });

  it("keeps the secret files out of git and out of images", () => {
    const ignored = dockerIgnore();
    for (const { file } of Object.values(compose.secrets ?? {})) {
      const path = file.replace(/^\.\//, "");
      expect(ignored(path), `${path} in .dockerignore`).to.equal(true);
      // git check-ignore exits 1 when git would track the file.
      const check = () =>
        execFileSync("git", ["check-ignore", "--no-index", "-q", path], {
          cwd: repoRoot,
          stdio: "ignore",
        });
      expect(check, `${path} git-ignored`).not.to.throw();
    }
    expect(ignored(".env")).to.equal(true);
    expect(ignored(".env.example")).to.equal(false);
  });

  it("publishes only the rebalancer's API and Jaeger's UI, on the host's loopback", () => {
    const published = Object.entries(compose.services).flatMap(([name, definition]) => {
      expect(definition.network_mode, name).to.equal(undefined);
      expect(definition.expose, name).to.equal(undefined);
      return (definition.ports ?? []).map((spec) => ({ name, ...parsePort(spec) }));
    });
    const apiPort = configs.rebalancer(env("rebalancer")).apiPort;
    expect(published).to.deep.equal([
      { name: "jaeger", hostIp: "127.0.0.1", hostPort: 16686, containerPort: 16686 },
      { name: "rebalancer", hostIp: "127.0.0.1", hostPort: 8000, containerPort: apiPort },
    ]);
  });

  it("checks the node services' health the way their images do, on their real ports", () => {
    for (const name of nodeServices) {
      const image = parseDockerfile(`${name}/Dockerfile`).stages.at(-1)!;
      const dockerfileCheck = execForm(instructionsOf(image, "HEALTHCHECK").at(-1)!.args);
      const composeCheck = service(name).healthcheck!.test;
      expect(composeCheck).to.deep.equal(["CMD", ...dockerfileCheck]);
    }
    // The script reads the port variables the compose file sets.
    expect(env("rebalancer").API_PORT).to.equal("8000");
    expect(env("subscriber").SUBSCRIBER_PORT).to.equal("8001");
  });

  it("starts each service only once what it needs is healthy", () => {
    expect(service("rebalancer").depends_on).to.deep.equal({
      "ib-gateway": { condition: "service_healthy" },
    });
    expect(service("subscriber").depends_on).to.deep.equal({
      rebalancer: { condition: "service_healthy" },
    });
    for (const definition of Object.values(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(definition.depends_on ?? {})) {
        expect(condition).to.equal("service_healthy");
        expect(service(dependency).healthcheck, `${dependency} has a healthcheck`).to.not.equal(
          undefined,
        );
      }
    }
  });

  it("keeps the run store and the inbox on their own named volumes", () => {
    const volumes = new Set<string>();
    for (const name of nodeServices) {
      const dataDir = env(name).DATA_DIR;
      const mounts = (service(name).volumes ?? []).map((spec) => spec.split(":"));
      const data = mounts.find(([, target]) => target === dataDir);
      expect(data, `${name}: a volume at DATA_DIR`).to.not.equal(undefined);
      expect(compose.volumes, `volume ${data![0]} declared`).to.have.property(data![0]!);
      volumes.add(data![0]!);
    }
    expect(volumes.size).to.equal(nodeServices.length);
    // No bind mounts: the host's files come in only as secrets and configs.
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const spec of definition.volumes ?? []) {
        expect(spec, name).to.not.match(/^[./~]/);
      }
    }
  });

  it("mounts accounts.yaml where the services look for it", () => {
    for (const name of nodeServices) {
      const accounts = (service(name).configs ?? []).find((c) => c.source === "accounts");
      expect(accounts?.target).to.equal(env(name).ACCOUNTS_FILE);
    }
    expect(existsSync(join(repoRoot, compose.configs!.accounts!.file))).to.equal(true);
  });

  it("restarts every service after a crash or a reboot", () => {
    for (const [name, definition] of Object.entries(compose.services)) {
      expect(["unless-stopped", "always"], name).to.include(definition.restart);
    }
  });

  it("waits longer for the rebalancer to stop than it waits for running rebalances", () => {
    for (const variables of [bare, firstRun]) {
      const file = loadComposeFile("docker-compose.yml", variables);
      const rebalancer = file.services.rebalancer!;
      const grace = Number(environmentOf(rebalancer).SHUTDOWN_GRACE_SECONDS);
      expect(durationSeconds(rebalancer.stop_grace_period!)).to.be.at.least(grace + 10);
    }
  });

  it("runs the node services under an init, read-only, without capabilities", () => {
    for (const name of nodeServices) {
      const definition = service(name);
      expect(definition.init, name).to.equal(true);
      expect(definition.read_only, name).to.equal(true);
      expect(definition.tmpfs, `${name}: tsx's cache`).to.include("/tmp");
      expect(definition.cap_drop, name).to.deep.equal(["ALL"]);
      expect(definition.security_opt, name).to.include("no-new-privileges:true");
    }
  });

  it("sends traces to Jaeger's OTLP/HTTP endpoint inside the network", () => {
    for (const name of nodeServices) {
      expect(env(name).OTEL_EXPORTER_OTLP_ENDPOINT).to.equal("http://jaeger:4318");
      expect(env(name).OTEL_SERVICE_NAME).to.equal(name);
    }
  });

  it("documents every setting in .env.example, and nothing else", () => {
    const example = Object.keys(readEnvFile(".env.example"));
    // The PostgreSQL override's settings are documented there too, as are its defaults.
    const used = new Set([
      ...referencedVariables("docker-compose.yml"),
      ...referencedVariables("deploy/compose/postgres.yml"),
    ]);
    expect([...used].filter((name) => !example.includes(name))).to.deep.equal([]);
    expect(example.filter((name) => !used.has(name))).to.deep.equal([]);
  });
});

describe("deploy/compose/green.yml (blue-green)", () => {
  let base: ComposeFile;
  let green: ComposeFile;
  let blue: ComposeService;
  let candidate: ComposeService;
  before(() => {
    base = loadComposeFile("docker-compose.yml", {
      ...readEnvFile(".env.example"),
      TWS_USERID: "u",
    });
    green = loadComposeFile("deploy/compose/green.yml", readEnvFile(".env.example"));
    blue = base.services.rebalancer!;
    candidate = green.services["rebalancer-green"]!;
  });

  it("adds only the green rebalancer, behind the green profile", () => {
    expect(Object.keys(green.services)).to.deep.equal(["rebalancer-green"]);
    expect(candidate.profiles).to.deep.equal(["green"]);
    expect(candidate.restart).to.equal("no");
    expect(green.name ?? base.name).to.equal(base.name);
  });

  it("is the rebalancer, built and configured the same way", () => {
    expect(candidate.build).to.deep.equal(blue.build);
    expect(candidate.healthcheck).to.deep.equal(blue.healthcheck);
    expect(candidate.depends_on).to.deep.equal(blue.depends_on);
    expect(candidate.secrets).to.deep.equal(blue.secrets);
    expect(candidate.configs).to.deep.equal(blue.configs);
    const differs = ["IBKR_CLIENT_ID", "OTEL_SERVICE_NAME"];
    const without = (e: Record<string, string>) =>
      Object.fromEntries(Object.entries(e).filter(([key]) => !differs.includes(key)));
    expect(without(environmentOf(candidate))).to.deep.equal(without(environmentOf(blue)));
    for (const key of ["init", "read_only", "tmpfs", "cap_drop", "security_opt"] as const) {
      expect(candidate[key], key).to.deep.equal(blue[key]);
    }
  });

  it("never shares the run store, the gateway client id or the published port with blue", () => {
    const dataOf = (s: ComposeService) =>
      s.volumes!.map((v) => v.split(":")).find(([, t]) => t === "/app/data")!;
    expect(dataOf(candidate)[0]).to.not.equal(dataOf(blue)[0]);
    expect(green.volumes).to.have.property(dataOf(candidate)[0]!);
    expect(environmentOf(candidate).IBKR_CLIENT_ID).to.not.equal(
      environmentOf(blue).IBKR_CLIENT_ID,
    );
    const [port] = candidate.ports!.map(parsePort);
    expect(port).to.deep.include({ hostIp: "127.0.0.1", containerPort: 8000 });
    expect(port!.hostPort).to.not.equal(parsePort(blue.ports![0]!).hostPort);
  });

  it("uses only settings .env.example documents, plus its own GREEN_ ones", () => {
    const example = Object.keys(readEnvFile(".env.example"));
    const unknown = [...referencedVariables("deploy/compose/green.yml")].filter(
      (name) => !example.includes(name) && !name.startsWith("GREEN_"),
    );
    expect(unknown).to.deep.equal([]);
  });
});

describe("deploy/compose/postgres.yml (scale-out on PostgreSQL)", () => {
  const overrideFile = "deploy/compose/postgres.yml";
  /** `docker compose -f docker-compose.yml -f deploy/compose/postgres.yml` with these variables. */
  const scaledOut = (variables: Variables) =>
    mergeComposeFiles(
      loadComposeFile("docker-compose.yml", variables),
      loadComposeFile(overrideFile, variables),
    );
  const replicas = {
    rebalancer: ["rebalancer", "rebalancer-1"],
    subscriber: ["subscriber", "subscriber-1"],
  };
  let compose: ComposeFile;
  let override: ComposeFile;
  let configs: ServiceConfigs;
  const service = (name: string) => {
    expect(compose.services, `service ${name}`).to.have.property(name);
    return compose.services[name]!;
  };
  const env = (name: string) => environmentOf(service(name));
  before(() => {
    compose = scaledOut(firstRun);
    override = loadComposeFile(overrideFile, firstRun);
    configs = serviceConfigs();
  });
  after(() => configs.close());

  it("adds a PostgreSQL server and a second replica of each service, nothing else", () => {
    expect(Object.keys(compose.services)).to.have.members([
      "ib-gateway",
      "jaeger",
      "postgres",
      "rebalancer",
      "rebalancer-1",
      "subscriber",
      "subscriber-1",
    ]);
    expect(override.name).to.equal(readComposeFile("docker-compose.yml").name);
    // An override, not a profile: nothing in it waits for a --profile to switch it on.
    for (const [name, definition] of Object.entries(override.services)) {
      expect(definition.profiles, name).to.equal(undefined);
    }
  });

  it("runs a version-pinned postgres, healthy only once it answers over TCP, on a named volume", () => {
    for (const variables of [bare, firstRun]) {
      const postgres = scaledOut(variables).services.postgres!;
      expect(postgres.image).to.match(/^postgres:\d+\.\d+(-[a-z]+)?$/);
    }
    const postgres = service("postgres");
    const check = postgres.healthcheck!.test;
    expect(check.slice(0, 2)).to.deep.equal(["CMD", "pg_isready"]);
    expect(check).to.include("--host=127.0.0.1");
    expect(check).to.include(`--username=${env("postgres").POSTGRES_USER}`);
    expect(check).to.include(`--dbname=${env("postgres").POSTGRES_DB}`);
    expect(postgres.healthcheck!.start_period, "time for the first start's initdb").to.not.equal(
      undefined,
    );
    const [volume, target] = postgres.volumes![0]!.split(":");
    expect(target).to.equal("/var/lib/postgresql/data");
    expect(compose.volumes).to.have.property(volume!);
    expect(postgres.ports, "reached only inside the network").to.equal(undefined);
    expect(networksOf(postgres)).to.have.keys("mesh");
    expect(postgres.restart).to.equal("unless-stopped");
  });

  it("gives postgres its password, and every replica the URL, only as secret files", () => {
    const postgres = env("postgres");
    expect(postgres).to.not.have.property("POSTGRES_PASSWORD");
    expect(postgres.POSTGRES_PASSWORD_FILE).to.equal("/run/secrets/postgres_password");
    expect(service("postgres").secrets).to.deep.equal(["postgres_password"]);
    for (const name of [...replicas.rebalancer, ...replicas.subscriber]) {
      expect(env(name), name).to.not.have.property("DATABASE_URL");
      expect(env(name).DATABASE_URL_FILE, name).to.equal("/run/secrets/database_url");
      expect(service(name).secrets, name).to.include("database_url");
    }
    for (const secret of ["postgres_password", "database_url"]) {
      expect(compose.secrets?.[secret]?.file).to.equal(`./deploy/secrets/${secret}`);
    }
    // The whole project, as for docker-compose.yml alone: no value of a secret anywhere.
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(definition))) {
        expect(secretName.test(key) && value !== "", `${name}: ${key} holds a value`).to.equal(
          false,
        );
        const variable = key.replace(/_FILE$/, "");
        if (key === variable || value === "" || !isSecret(name, variable)) continue;
        const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(value)?.[1];
        expect(secret, `${name}: ${key}=${value} is a Docker secret`).to.not.equal(undefined);
        expect(definition.secrets ?? [], `${name} mounts ${secret}`).to.include(secret);
        expect(compose.secrets, `secret ${secret} declared`).to.have.property(secret!);
      }
    }
    const ignored = dockerIgnore();
    for (const secret of ["postgres_password", "database_url"]) {
      const path = compose.secrets![secret]!.file.replace(/^\.\//, "");
      expect(ignored(path), `${path} in .dockerignore`).to.equal(true);
      const check = () =>
        execFileSync("git", ["check-ignore", "--no-index", "-q", path], {
          cwd: repoRoot,
          stdio: "ignore",
        });
      expect(check, `${path} git-ignored`).not.to.throw();
    }
  });

  it("puts every replica on PostgreSQL, none left on SQLite, each starting after postgres is healthy", () => {
    const built = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    expect(built.map(([name]) => name)).to.have.members([
      ...replicas.rebalancer,
      ...replicas.subscriber,
    ]);
    for (const [name, definition] of built) {
      expect(environmentOf(definition).DATABASE_URL_FILE, `${name} on PostgreSQL`).to.not.equal(
        undefined,
      );
      expect(definition.depends_on?.postgres, name).to.deep.equal({
        condition: "service_healthy",
      });
    }
    for (const name of replicas.subscriber) {
      expect(configs.subscriber(env(name)).database?.shown, name).to.equal(
        "postgres://mesh:[redacted]@postgres:5432/mesh",
      );
    }
    // The URL's user and database are the ones postgres creates.
    const url = new URL(sampleSecrets.database_url!.trim());
    expect(url.hostname).to.equal("postgres");
    expect(url.username).to.equal(env("postgres").POSTGRES_USER);
    expect(url.pathname).to.equal(`/${env("postgres").POSTGRES_DB}`);
  });

  it("gives each rebalancer replica its own ordinal and IB client id, replica 0 keeping today's", () => {
    const cases: Variables[] = [bare, firstRun, { ...firstRun, IBKR_CLIENT_ID: "7" }];
    for (const variables of cases) {
      const file = scaledOut(variables);
      const ids = replicas.rebalancer.map((name) => {
        const config = configs.rebalancer(environmentOf(file.services[name]!));
        return config.broker.kind === "ibkr" ? config.broker.clientId : -1;
      });
      const single = loadComposeFile("docker-compose.yml", variables).services.rebalancer!;
      const singleConfig = configs.rebalancer(environmentOf(single));
      const expected = Number(variables.IBKR_CLIENT_ID ?? 1);
      expect(singleConfig.broker).to.include({ clientId: expected });
      expect(ids).to.deep.equal([expected, Number(`${expected}1`)]);
      // Never the blue-green candidate's default id either.
      const green = loadComposeFile("deploy/compose/green.yml", variables).services[
        "rebalancer-green"
      ]!;
      expect(ids).to.not.include(Number(environmentOf(green).IBKR_CLIENT_ID));
      // The gateway's Master API client ID is replica 0's.
      expect(environmentOf(file.services["ib-gateway"]!).TWS_MASTER_CLIENT_ID).to.equal(
        String(expected),
      );
    }
    expect(replicas.rebalancer.map((name) => env(name).REPLICA_ORDINAL)).to.deep.equal(["0", "1"]);
  });

  for (const [kind, [first, second]] of Object.entries(replicas)) {
    it(`makes ${second} the ${kind} of docker-compose.yml but for what a replica must not share`, () => {
      const a = service(first!);
      const b = service(second!);
      expect(b.build).to.deep.equal(a.build);
      expect(b.healthcheck).to.deep.equal(a.healthcheck);
      expect(b.depends_on).to.deep.equal(a.depends_on);
      expect(b.configs).to.deep.equal(a.configs);
      expect([...b.secrets!].sort()).to.deep.equal([...a.secrets!].sort());
      const differs = ["IBKR_CLIENT_ID", "REPLICA_ORDINAL"];
      const without = (e: Record<string, string>) =>
        Object.fromEntries(Object.entries(e).filter(([key]) => !differs.includes(key)));
      expect(without(environmentOf(b))).to.deep.equal(without(environmentOf(a)));
      for (const key of [
        "init",
        "read_only",
        "tmpfs",
        "cap_drop",
        "security_opt",
        "restart",
        "stop_grace_period",
      ] as const) {
        expect(b[key], key).to.deep.equal(a[key]);
      }
      // The rebalancer's replica keeps its DATA_DIR files (the notification outbox) on a volume
      // of its own; the subscriber keeps everything in PostgreSQL.
      const dataOf = (s: ComposeService) =>
        (s.volumes ?? []).map((v) => v.split(":")).find(([, target]) => target === "/app/data");
      if (kind === "rebalancer") {
        expect(dataOf(b)?.[0], `${second}'s own volume`).to.not.equal(dataOf(a)?.[0]);
        expect(compose.volumes).to.have.property(dataOf(b)![0]!);
      } else {
        expect(b.volumes, `${second} has no volume`).to.equal(undefined);
      }
      expect(b.ports, `${second} is not published`).to.equal(undefined);
    });
  }

  it("lets the subscribers reach both rebalancers under the name their URL and certificate use", () => {
    for (const name of replicas.subscriber) {
      const host = new URL(configs.subscriber(env(name)).rebalancer.url).hostname;
      expect(host).to.equal("rebalancer");
      expect(networksOf(service("rebalancer-1")).mesh?.aliases).to.include(host);
    }
    // deploy/make-certs.sh issues the rebalancer's certificate for that name.
    expect(readRepoFile("deploy/make-certs.sh")).to.include(
      'issue rebalancer serverAuth,clientAuth "DNS:rebalancer,',
    );
  });

  it("publishes nothing more than docker-compose.yml does", () => {
    const published = (file: ComposeFile) =>
      Object.values(file.services).flatMap((s) => (s.ports ?? []).map(parsePort));
    expect(published(compose)).to.deep.equal(
      published(loadComposeFile("docker-compose.yml", firstRun)),
    );
  });

  it("uses only settings .env.example documents", () => {
    const example = Object.keys(readEnvFile(".env.example"));
    const unknown = [...referencedVariables(overrideFile)].filter(
      (name) => !example.includes(name),
    );
    expect(unknown).to.deep.equal([]);
    expect(readEnvFile(".env.example").POSTGRES_IMAGE).to.equal(service("postgres").image);
  });

  it("leaves docker-compose.yml alone on SQLite: no database, no URL, data on the volumes", () => {
    for (const variables of [bare, firstRun]) {
      const single = loadComposeFile("docker-compose.yml", variables);
      expect(single.services).to.not.have.property("postgres");
      expect(single.secrets ?? {}).to.not.have.property("database_url");
      for (const name of nodeServices) {
        const environment = environmentOf(single.services[name]!);
        expect(environment, name).to.not.have.property("DATABASE_URL");
        expect(environment, name).to.not.have.property("DATABASE_URL_FILE");
      }
      const subscriber = configs.subscriber(environmentOf(single.services.subscriber!));
      expect(subscriber.database, "the subscriber's inbox in SQLite").to.equal(undefined);
      expect(subscriber.inboxFile).to.equal("/app/data/subscriber-inbox.sqlite");
    }
  });
});

describe("Compose files in CI", () => {
  it("lints every Compose file with dclint in npm run test:deploy", () => {
    const script = (JSON.parse(readRepoFile("package.json")) as { scripts: Record<string, string> })
      .scripts["test:deploy"]!;
    const files = [
      "docker-compose.yml",
      ...readdirSync(join(repoRoot, "deploy/compose"))
        .filter((file) => file.endsWith(".yml"))
        .map((file) => `deploy/compose/${file}`),
    ];
    const linted = /dclint (?:-c \S+ )?--max-warnings 0 ((?:\S+\.yml ?)+)/.exec(script)?.[1];
    expect(linted?.trim().split(" ")).to.have.members(files);
  });
});
