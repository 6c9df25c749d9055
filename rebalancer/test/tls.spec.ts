// The rebalancer process over TLS: every protocol on the one port, mTLS refusing clients without
// a certificate, and keys and certificates replaced on disk taking effect without a restart.
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  makeTestCertificates,
  type TestCertificates,
} from "@mesh/platform/testing/test-certificates";
import {
  ExecutionMode,
  ListAccountsRequestSchema,
  ListAccountsResponseSchema,
  RebalancerService,
  TriggerSchema,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { freePort } from "@mesh/platform/testing/free-port";
import { until } from "@mesh/platform/testing/until";

const root = fileURLToPath(new URL("../..", import.meta.url));
const bufLauncher = createRequire(import.meta.url).resolve("@bufbuild/buf/bin/buf");
// Debian's python3-grpcio, installed by scripts/ensure-grpcio.js before this suite runs.
const pythonWithGrpcio = "/usr/bin/python3";
const grpcioCall = fileURLToPath(new URL("./support/grpcio-call.py", import.meta.url));
const oldKey = "tls-old-key-5b1c";
const newKey = "tls-new-key-8e2d";

interface RebalancerProcess {
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** GET over https with node:https; resolves with the status and body. */
function httpsGet(
  url: string,
  options: https.RequestOptions,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { servername: "localhost", ...options }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

async function startRebalancer(env: NodeJS.ProcessEnv): Promise<RebalancerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: "info",
      METRICS_PORT: "0",
      API_HOST: "127.0.0.1",
      API_PORT: String(port),
      DATA_DIR: mkdtempSync(join(tmpdir(), "tls-data-")),
      ...env,
    },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = once(child, "exit");
  await until(
    () => output.includes('"msg":"serving"') || child.exitCode !== null,
    30_000,
    "serving",
  );
  if (child.exitCode !== null) throw new Error(`rebalancer exited:\n${output}`);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Writes a secret the way Kubernetes updates a mounted Secret: a new folder, a symlink swap. */
function mountedSecret(dir: string, name: string) {
  let version = 0;
  const write = (content: string) => {
    version += 1;
    const data = join(dir, `..v${version}`);
    mkdirSync(data);
    writeFileSync(join(data, name), content);
    symlinkSync(`..v${version}`, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  return {
    file: join(dir, name),
    write,
    init(content: string) {
      write(content);
      symlinkSync(join("..data", name), join(dir, name));
    },
  };
}

function grpcJsListAccounts(
  client: grpc.Client,
  key: string,
): Promise<{ error: grpc.ServiceError | null; count: number }> {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${key}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/rebalancer.v1.RebalancerService/ListAccounts",
      (m: object) => Buffer.from(toBinary(ListAccountsRequestSchema, m as never)),
      (b: Buffer) => fromBinary(ListAccountsResponseSchema, b),
      create(ListAccountsRequestSchema),
      metadata,
      (error, response) => resolve({ error, count: response?.accounts.length ?? 0 }),
    );
  });
}

function bufCurl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bufLauncher, "curl", ...args],
      { timeout: 15_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(stderr || error.message)) : resolve(stdout),
    );
  });
}

/** The transports a Connect client can use, each over TLS with the given options. */
function transports(
  url: string,
  nodeOptions: tls.ConnectionOptions,
): Record<string, () => Transport> {
  return {
    "gRPC (connect-node, h2)": () =>
      createGrpcTransport({ baseUrl: url, nodeOptions: nodeOptions as never }),
    "Connect over HTTP/2": () =>
      createConnectTransport({ baseUrl: url, httpVersion: "2", nodeOptions: nodeOptions as never }),
    "Connect over HTTP/1.1": () =>
      createConnectTransport({
        baseUrl: url,
        httpVersion: "1.1",
        nodeOptions: nodeOptions as never,
      }),
    "gRPC-Web over HTTP/1.1": () =>
      createGrpcWebTransport({
        baseUrl: url,
        httpVersion: "1.1",
        nodeOptions: nodeOptions as never,
      }),
  };
}

describe("the rebalancer over TLS", function () {
  this.timeout(60_000);
  let certs: TestCertificates;
  before(() => {
    certs = makeTestCertificates();
  });

  describe("with a certificate and API keys from a mounted secret", () => {
    let rebalancer: RebalancerProcess;
    let keys: ReturnType<typeof mountedSecret>;
    let metricsPort: number;
    before(async () => {
      metricsPort = await freePort();
      const secretDir = mkdtempSync(join(tmpdir(), "tls-keys-"));
      keys = mountedSecret(secretDir, "api-keys");
      keys.init(`${oldKey}\n`);
      rebalancer = await startRebalancer({
        TLS_CERT_FILE: certs.rebalancerCertFile,
        TLS_KEY_FILE: certs.rebalancerKeyFile,
        REBALANCER_API_KEYS_FILE: keys.file,
        METRICS_PORT: String(metricsPort),
      });
    });
    after(() => rebalancer.stop());

    it("serves gRPC, Connect (h2 and HTTP/1.1) and gRPC-Web on the one port", async () => {
      for (const [name, make] of Object.entries(transports(rebalancer.url, { ca: certs.ca }))) {
        const client = createClient(RebalancerService, make());
        const response = await client.listAccounts(
          {},
          { headers: { authorization: `Bearer ${oldKey}` } },
        );
        expect(response.accounts.length, name).to.be.greaterThan(0);
      }
    });

    it("serves @grpc/grpc-js with the private CA", async () => {
      const client = new grpc.Client(
        `127.0.0.1:${rebalancer.port}`,
        grpc.credentials.createSsl(certs.ca),
      );
      try {
        const { error, count } = await grpcJsListAccounts(client, oldKey);
        expect(error).to.equal(null);
        expect(count).to.be.greaterThan(0);
      } finally {
        client.close();
      }
    });

    it("serves REST over https", async () => {
      const health = await httpsGet(`${rebalancer.url}/health`, { ca: certs.ca });
      expect(health.status).to.equal(200);
      expect(JSON.parse(health.body)).to.have.property("status", "HEALTH_STATUS_SERVING");
      const accounts = await httpsGet(`${rebalancer.url}/accounts`, {
        ca: certs.ca,
        headers: { authorization: `Bearer ${oldKey}` },
      });
      expect(accounts.status).to.equal(200);
      expect(JSON.parse(accounts.body)).to.have.property("accounts");
    });

    it("serves the Prometheus metrics over https too", async () => {
      const metrics = await httpsGet(`https://127.0.0.1:${metricsPort}/metrics`, { ca: certs.ca });
      expect(metrics.status).to.equal(200);
      expect(metrics.body).to.match(/^# (HELP|TYPE) /m);
    });

    it("answers buf curl over gRPC (h2 by ALPN), with reflection", async () => {
      const methods = await bufCurl([
        "--protocol",
        "grpc",
        "--cacert",
        certs.caFile,
        "--list-methods",
        rebalancer.url,
      ]);
      expect(methods).to.contain("rebalancer.v1.RebalancerService/ListAccounts");
      const answer = await bufCurl([
        "--protocol",
        "grpc",
        "--cacert",
        certs.caFile,
        "-H",
        `authorization: Bearer ${oldKey}`,
        `${rebalancer.url}/rebalancer.v1.RebalancerService/ListAccounts`,
      ]);
      expect(JSON.parse(answer)).to.have.property("accounts");
    });

    it("answers Python's grpcio, with and without the key", async () => {
      const call = (key?: string) =>
        new Promise<string>((resolve, reject) =>
          execFile(
            pythonWithGrpcio,
            [
              grpcioCall,
              rebalancer.url.replace("https://", ""),
              certs.caFile,
              "/rebalancer.v1.RebalancerService/ListAccounts",
              Buffer.from(
                toBinary(ListAccountsRequestSchema, create(ListAccountsRequestSchema)),
              ).toString("hex"),
              ...(key ? [key] : []),
            ],
            { timeout: 20_000 },
            (error, stdout, stderr) =>
              error && !stdout
                ? reject(new Error(stderr || error.message))
                : resolve(stdout.trim()),
          ),
        );
      const answer = fromBinary(ListAccountsResponseSchema, Buffer.from(await call(oldKey), "hex"));
      expect(answer.accounts.length).to.be.greaterThan(0);
      expect(await call()).to.match(/^error UNAUTHENTICATED/);
    });

    it("answers curl over HTTP/2 and HTTP/1.1, as ALPN chose", async () => {
      for (const [flag, version] of [
        ["--http2", "2"],
        ["--http1.1", "1.1"],
      ] as const) {
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            "curl",
            [
              "-sS",
              flag,
              "--cacert",
              certs.caFile,
              "-w",
              "\\n%{http_version}",
              `${rebalancer.url}/health`,
            ],
            { timeout: 15_000 },
            (error, stdout, stderr) =>
              error ? reject(new Error(stderr || error.message)) : resolve(stdout),
          ),
        );
        const [body, negotiated] = out.split("\n");
        expect(JSON.parse(body!), flag).to.have.property("status", "HEALTH_STATUS_SERVING");
        expect(negotiated, flag).to.equal(version);
      }
    });

    it("refuses a client that does not trust the CA", async () => {
      const error = await httpsGet(`${rebalancer.url}/health`, {}).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/self.signed|unable to (get|verify)/i);
    });

    it("takes a key file replaced on disk within seconds, failing no request during the swap", async () => {
      const client = createClient(
        RebalancerService,
        createGrpcTransport({ baseUrl: rebalancer.url, nodeOptions: { ca: certs.ca } }),
      );
      const call = (key: string) =>
        client.listAccounts({}, { headers: { authorization: `Bearer ${key}` } });
      // Clients on the old key keep calling throughout the rotation.
      let calls = 0;
      const failures: unknown[] = [];
      let swapping = true;
      const traffic = (async () => {
        while (swapping) {
          await call(oldKey).then(
            () => (calls += 1),
            (error: unknown) => failures.push(error),
          );
        }
      })();
      await until(() => calls > 5, 10_000, "traffic on the old key");
      expect(
        await call(newKey).then(
          () => "accepted",
          () => "refused",
        ),
      ).to.equal("refused");
      // The operator replaces the key: the old one stays accepted for the overlap.
      keys.write(`${newKey}\n`);
      await until(
        () =>
          call(newKey).then(
            () => true,
            () => false,
          ),
        10_000,
        "the new key accepted",
      );
      const during = calls;
      await until(() => calls > during + 5, 10_000, "traffic after the swap");
      swapping = false;
      await traffic;
      expect(failures).to.deep.equal([]);
      expect(rebalancer.output()).to.contain("API keys reloaded");
    });

    it("keeps the keys in use when the new file is unusable, and says so in health", async () => {
      keys.write("\n");
      await until(
        () => rebalancer.output().includes("reloading the API keys failed"),
        10_000,
        "the failed reload logged",
      );
      const client = createClient(
        RebalancerService,
        createConnectTransport({
          baseUrl: rebalancer.url,
          httpVersion: "1.1",
          nodeOptions: { ca: certs.ca },
        }),
      );
      const accounts = await client.listAccounts(
        {},
        { headers: { authorization: `Bearer ${newKey}` } },
      );
      expect(accounts.accounts.length).to.be.greaterThan(0);
      // Health details are for key holders only.
      const health = await client.getHealth({}, { headers: { authorization: `Bearer ${newKey}` } });
      const component = health.components.find((c) => c.name === "api-keys");
      expect(component?.detail).to.match(/reload failed/);
    });

    it("serves a certificate replaced on disk to new connections", async () => {
      const serial = () =>
        new Promise<string>((resolve, reject) => {
          const socket = tls.connect(
            { host: "127.0.0.1", port: rebalancer.port, ca: certs.ca, servername: "localhost" },
            () => {
              const value = socket.getPeerCertificate().serialNumber;
              socket.end();
              resolve(value);
            },
          );
          socket.on("error", reject);
        });
      const before = await serial();
      certs.reissue();
      await until(async () => (await serial()) !== before, 15_000, "the new certificate served");
      expect(rebalancer.output()).to.contain("TLS certificate reloaded");
    });
  });

  describe("requiring client certificates (mTLS)", () => {
    let rebalancer: RebalancerProcess;
    before(async () => {
      rebalancer = await startRebalancer({
        TLS_CERT_FILE: certs.rebalancerCertFile,
        TLS_KEY_FILE: certs.rebalancerKeyFile,
        TLS_CLIENT_CA_FILE: certs.caFile,
      });
    });
    after(() => rebalancer.stop());

    it("refuses a client without a certificate on every protocol", async () => {
      for (const [name, make] of Object.entries(transports(rebalancer.url, { ca: certs.ca }))) {
        const client = createClient(RebalancerService, make());
        const error = await client.listAccounts({}).then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        expect(error, name).to.be.instanceOf(ConnectError);
        // The handshake fails on the client's side: how the reset surfaces (an abort while
        // writing, an unavailable peer) depends on timing, never an answer from the service.
        expect(error?.code, `${name}: ${error?.message}`).to.be.oneOf([
          Code.Unavailable,
          Code.Unknown,
          Code.Internal,
          Code.Aborted,
        ]);
      }
      const grpcClient = new grpc.Client(
        `127.0.0.1:${rebalancer.port}`,
        grpc.credentials.createSsl(certs.ca),
      );
      const { error } = await grpcJsListAccounts(grpcClient, "");
      grpcClient.close();
      expect(error?.code).to.equal(grpc.status.UNAVAILABLE);
      const rest = await httpsGet(`${rebalancer.url}/health`, { ca: certs.ca }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(rest, "REST without a certificate").to.be.instanceOf(Error);
      const listed = await bufCurl([
        "--protocol",
        "grpc",
        "--cacert",
        certs.caFile,
        "--list-methods",
        rebalancer.url,
      ]).then(
        () => "listed",
        () => "refused",
      );
      expect(listed, "buf curl without a certificate").to.equal("refused");
    });

    it("serves a client with a certificate and records its subject as the run's caller", async () => {
      const identity = { ca: certs.ca, cert: certs.subscriberCert, key: certs.subscriberKey };
      for (const [name, make] of Object.entries(transports(rebalancer.url, identity))) {
        const client = createClient(RebalancerService, make());
        const response = await client.listAccounts({});
        expect(response.accounts.length, name).to.be.greaterThan(0);
      }
      const client = createClient(
        RebalancerService,
        createGrpcTransport({ baseUrl: rebalancer.url, nodeOptions: identity }),
      );
      const { accounts } = await client.listAccounts({});
      let runId = "";
      for await (const event of client.rebalance({
        accountId: accounts[0]!.accountId,
        mode: ExecutionMode.DRY_RUN,
        idempotencyKey: `tls-${Date.now()}`,
        // A caller claimed in the request is replaced by the verified one.
        trigger: create(TriggerSchema, { source: "tls-test", caller: "CN=someone-else" }),
      })) {
        runId ||= event.runId;
      }
      const { run } = await client.getRun({ runId });
      expect(run?.trigger?.source).to.equal("tls-test");
      expect(run?.trigger?.caller).to.contain("CN=subscriber");
      const rest = await httpsGet(`${rebalancer.url}/health`, identity);
      expect(rest.status).to.equal(200);
    });

    it("records the certificate's subject for a run started over REST too", async () => {
      const identity = { ca: certs.ca, cert: certs.subscriberCert, key: certs.subscriberKey };
      const client = createClient(
        RebalancerService,
        createConnectTransport({
          baseUrl: rebalancer.url,
          httpVersion: "2",
          nodeOptions: identity,
        }),
      );
      const accountId = (await client.listAccounts({})).accounts[0]!.accountId;
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          `${rebalancer.url}/rebalance/${accountId}/dry-run`,
          {
            method: "POST",
            servername: "localhost",
            ...identity,
            headers: { "content-type": "application/json" },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        // A caller claimed in the body is replaced by the verified one.
        req.end(JSON.stringify({ trigger: { source: "rest-tls", caller: "CN=someone-else" } }));
      });
      expect(status).to.equal(200);
      const { runs } = await client.listRuns({ accountId });
      const run = runs.find((r) => r.trigger?.source === "rest-tls");
      expect(run?.trigger?.caller).to.contain("CN=subscriber");
      expect(run?.trigger?.caller).to.not.contain("someone-else");
    });
  });
});
