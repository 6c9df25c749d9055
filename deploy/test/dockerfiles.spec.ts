import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTestCertificates } from "@mesh/platform/testing/test-certificates";
import { expect } from "chai";
import { configVariables } from "./support/config-variables.js";
import { dockerIgnore } from "./support/docker-ignore.js";
import {
  copiesOf,
  envOf,
  execForm,
  instructionsOf,
  parseDockerfile,
  type Dockerfile,
} from "./support/dockerfile.js";
import { nodeServices, readRepoFile, repoRoot, rootPackage } from "./support/repo.js";

const run = promisify(execFile);

/** Per service: the variable naming its port, and the route its health check must call. */
const healthEndpoints = {
  rebalancer: { portVariable: "API_PORT", port: 8000 },
  subscriber: { portVariable: "SUBSCRIBER_PORT", port: 8001 },
} as const;

for (const service of nodeServices) {
  describe(`${service}/Dockerfile`, () => {
    let dockerfile: Dockerfile;
    const final = () => dockerfile.stages.at(-1)!;
    const builders = () => dockerfile.stages.slice(0, -1);
    before(() => {
      dockerfile = parseDockerfile(`${service}/Dockerfile`);
    });

    it("builds in stages and runs on a slim Node.js LTS image the engines field allows", () => {
      expect(dockerfile.stages.length).to.be.at.least(2);
      for (const stage of dockerfile.stages) {
        const match = /^node:(\d+)(?:[.\d]*)-(?:[a-z]+-)?slim(?:@sha256:[0-9a-f]+)?$/.exec(
          stage.image,
        );
        expect(match, `${stage.image} is not node:<major>-slim`).to.not.equal(null);
        const major = Number(match![1]);
        expect(major % 2, "even majors are the LTS lines").to.equal(0);
        const [, minimum, below] = /^>=(\d+)\.\S*\s+<(\d+)$/.exec(rootPackage().engines.node)!;
        expect(major).to.be.within(Number(minimum), Number(below) - 1);
      }
    });

    it("installs production dependencies only, for its own workspaces, in a build stage", () => {
      const installsOf = (stage: (typeof dockerfile.stages)[number]) =>
        instructionsOf(stage, "RUN").filter(({ args }) => /\bnpm (ci|install|i)\b/.test(args));
      // Earlier stages may install dev dependencies to build assets: the image takes only
      // their output, never a node_modules.
      for (const stage of builders().slice(0, -1)) {
        const taken = copiesOf(final())
          .filter((c) => c.from === stage.name)
          .flatMap((c) => c.sources);
        for (const source of taken) {
          expect(source, `${stage.name} gives the image only built files`).to.match(/\/dist$/);
        }
      }
      const installs = installsOf(builders().at(-1)!);
      expect(installs, "one npm ci in the last build stage").to.have.length(1);
      const install = installs[0]!.args;
      expect(install).to.match(/\bnpm ci\b/);
      expect(install).to.include("--omit=dev");
      for (const workspace of ["proto", "platform", service]) {
        expect(install).to.match(new RegExp(`--workspace[ =]${workspace}\\b`));
      }
      const other = nodeServices.find((s) => s !== service)!;
      expect(install, "the other service's dependencies stay out").not.to.include(other);
      const runtimeRuns = instructionsOf(final(), "RUN").map(({ args }) => args);
      expect(runtimeRuns.join("\n"), "nothing installed in the runtime stage").not.to.match(
        /\b(npm|apt-get|yarn|pnpm)\b/,
      );
      // The whole install: npm nests a package inside a workspace's folder when versions clash.
      expect(copiesOf(final()).map((c) => `${c.from}:${c.sources.join(" ")}`)).to.include(
        `${builders().at(-1)!.name}:/app`,
      );
    });

    it("gives npm ci every workspace's package.json and the lockfile", () => {
      const copied = builders().flatMap((stage) => copiesOf(stage).flatMap((c) => c.sources));
      expect(copied).to.include.members(["package.json", "package-lock.json"]);
      for (const workspace of rootPackage().workspaces) {
        expect(copied).to.include(`${workspace}/package.json`);
      }
    });

    it("copies only what exists in the build context and .dockerignore lets through", () => {
      const ignored = dockerIgnore();
      for (const stage of dockerfile.stages) {
        for (const copy of copiesOf(stage).filter((c) => c.from === undefined)) {
          for (const source of copy.sources) {
            expect(existsSync(join(repoRoot, source)), `${source} exists`).to.equal(true);
            expect(ignored(source), `${source} is not ignored`).to.equal(false);
          }
        }
      }
    });

    it("runs as the unprivileged node user", () => {
      const users = instructionsOf(final(), "USER").map(({ args }) => args);
      expect(users.at(-1)).to.equal("node");
      const lines = final().instructions.map((i) => i.keyword);
      expect(lines.lastIndexOf("USER")).to.be.below(lines.lastIndexOf("CMD"));
    });

    it("sets NODE_ENV=production", () => {
      expect(envOf(final()).NODE_ENV).to.equal("production");
    });

    it("starts node directly, not npm or a shell, with the production start command", () => {
      expect(instructionsOf(final(), "ENTRYPOINT")).to.have.length(0);
      const cmd = instructionsOf(final(), "CMD").at(-1)!;
      expect(execForm(cmd.args)).to.deep.equal([
        "node",
        "--import",
        "tsx",
        `${service}/src/main.ts`,
      ]);
      expect(instructionsOf(final(), "STOPSIGNAL").at(-1)?.args ?? "SIGTERM").to.equal("SIGTERM");
    });

    it("checks health with node's fetch against the service's GET /health", () => {
      const healthcheck = instructionsOf(final(), "HEALTHCHECK").at(-1);
      expect(healthcheck, "HEALTHCHECK").to.not.equal(undefined);
      expect(execForm(healthcheck!.args)).to.deep.equal([
        "node",
        "deploy/healthcheck.mjs",
        service,
      ]);
      expect(copiesOf(final()).flatMap((c) => c.sources)).to.include("deploy/healthcheck.mjs");
      const script = readRepoFile("deploy/healthcheck.mjs");
      const { portVariable, port } = healthEndpoints[service];
      expect(script).to.match(
        new RegExp(`${service}: \\{[^}]*portVariable: "${portVariable}",[^}]*defaultPort: ${port}`),
      );
      expect(configVariables(service).all, `${service} reads ${portVariable}`).to.include(
        portVariable,
      );
      expect(script).to.include("/health`");
    });

    it("exposes the port it listens on", () => {
      const { portVariable } = healthEndpoints[service];
      const port = envOf(final())[portVariable] ?? String(healthEndpoints[service].port);
      expect(instructionsOf(final(), "EXPOSE").map(({ args }) => args)).to.include(port);
    });
  });
}

describe("the health routes the checks call", () => {
  it("exist in the services: the contract's GET /health and the subscriber's ingress", () => {
    expect(readRepoFile("proto/rebalancer/v1/rebalancer.proto")).to.match(
      /option \(google\.api\.http\) = \{get: "\/health"\}/,
    );
    expect(readRepoFile("subscriber/src/sources/http-ingress.ts")).to.match(
      /req\.method === "GET" && path === "\/health"/,
    );
  });
});

describe("deploy/healthcheck.mjs", () => {
  let server: Server;
  let status = 200;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === "/health" ? status : 404).end('{"status":"x"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const check = async (service: string, env: Record<string, string>) => {
    try {
      await run(process.execPath, [join(repoRoot, "deploy/healthcheck.mjs"), service], {
        env: { PATH: process.env.PATH, ...env },
        timeout: 10_000,
      });
      return 0;
    } catch (error) {
      return (error as { code: number }).code;
    }
  };

  it("is healthy when GET /health answers 200 on the service's port", async () => {
    status = 200;
    expect(await check("rebalancer", { API_PORT: String(port) })).to.equal(0);
    expect(await check("subscriber", { SUBSCRIBER_PORT: String(port) })).to.equal(0);
  });

  it("dials loopback when the service listens on every interface", async () => {
    status = 200;
    expect(await check("rebalancer", { API_PORT: String(port), API_HOST: "0.0.0.0" })).to.equal(0);
  });

  it("is unhealthy (exit 1, never Docker's reserved 2) on 503, on no answer, on bad usage", async () => {
    status = 503;
    expect(await check("rebalancer", { API_PORT: String(port) })).to.equal(1);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const unused = (closed.address() as AddressInfo).port;
    closed.close();
    expect(await check("subscriber", { SUBSCRIBER_PORT: String(unused) })).to.equal(1);
    expect(await check("nonsense", {})).to.equal(1);
  });

  it("checks over HTTPS with TLS_CERT_FILE, presenting that certificate when mTLS is on", async () => {
    const certs = makeTestCertificates();
    const secure = createHttpsServer(
      {
        cert: readFileSync(certs.rebalancerCertFile),
        key: readFileSync(certs.rebalancerKeyFile),
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => res.writeHead(req.url === "/health" ? 200 : 404).end("{}"),
    );
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    try {
      const securePort = String((secure.address() as AddressInfo).port);
      const tls = {
        TLS_CERT_FILE: certs.rebalancerCertFile,
        TLS_KEY_FILE: certs.rebalancerKeyFile,
      };
      expect(await check("rebalancer", { API_PORT: securePort, ...tls })).to.equal(0);
      // Cleartext against a TLS port is no answer: unhealthy.
      expect(await check("rebalancer", { API_PORT: securePort })).to.equal(1);
    } finally {
      secure.close();
    }
  });
});
