import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { acceptedDefaults } from "./support/accepted-defaults.js";
import { readEnvFile } from "./support/compose-file.js";
import { configVariables } from "./support/config-variables.js";
import { HealthStatus } from "@mesh/proto/rebalancer/v1/rebalancer";
import { healthReport } from "../../rebalancer/src/server/health-report.js";
import { defaultHealthConfig } from "../../subscriber/src/config.js";
import { createSubscriberHealth } from "../../subscriber/src/health/subscriber-health.js";
import type { Inbox } from "../../subscriber/src/inbox/inbox.js";
import {
  nodeServices,
  readRepoFile,
  readYaml,
  readYamlDocuments,
  repoRoot,
} from "./support/repo.js";
import {
  isLoopback,
  sampleSecrets,
  serviceConfigs,
  type ServiceConfigs,
} from "./support/service-config.js";

// Kubernetes manifests are plain objects here: only the fields these checks read are typed.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };
type Container = {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  [key: string]: any;
};

const folder = "deploy/k8s";

/** Fields of a container and of a probe these manifests may use: a typo is not a probe. */
const containerFields = new Set([
  "name",
  "image",
  "imagePullPolicy",
  "command",
  "args",
  "ports",
  "env",
  "envFrom",
  "volumeMounts",
  "startupProbe",
  "livenessProbe",
  "readinessProbe",
  "resources",
  "securityContext",
  "lifecycle",
]);
const probeFields = new Set([
  "httpGet",
  "tcpSocket",
  "exec",
  "grpc",
  "initialDelaySeconds",
  "periodSeconds",
  "timeoutSeconds",
  "failureThreshold",
  "successThreshold",
  "terminationGracePeriodSeconds",
]);

/** The gateway's own API port behind each socat port the other pods use. */
const gatewayApiPortBehind: Record<number, number> = { 4004: 4002, 4003: 4001 };
const secretName = /(KEY|KEYS|PASSWORD|SECRET|TOKEN)$/;

/** The label Kubernetes (1.28 or newer) puts on each StatefulSet pod: its ordinal. */
const podIndex = "metadata.labels['apps.kubernetes.io/pod-index']";

describe("deploy/k8s", () => {
  let manifests: Manifest[];
  let configs: ServiceConfigs;
  const find = (kind: string, name: string) => {
    const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
    expect(found, `${kind} ${name}`).to.not.equal(undefined);
    return found!;
  };
  /** The Deployment or StatefulSet of this name. */
  const workload = (name: string) => {
    const found = workloads().find((m) => m.metadata.name === name);
    expect(found, `Deployment or StatefulSet ${name}`).to.not.equal(undefined);
    return found!;
  };
  const workloads = () => manifests.filter((m) => ["Deployment", "StatefulSet"].includes(m.kind));
  const containerOf = (name: string): Container => workload(name).spec.template.spec.containers[0];
  /**
   * A container's environment as the kubelet makes it for the pod of this ordinal: `$(NAME)`
   * replaced by an earlier variable, the pod-index label as the ordinal; values from a Secret
   * empty (secrets come as files here).
   */
  const envOf = (container: Container, ordinal = 0) => {
    const env: Record<string, string> = {};
    for (const { name, value, valueFrom } of container.env ?? []) {
      env[name] =
        value !== undefined
          ? value.replace(/\$\(([A-Za-z_]\w*)\)/g, (whole, ref: string) => env[ref] ?? whole)
          : valueFrom?.fieldRef?.fieldPath === podIndex
            ? String(ordinal)
            : "";
    }
    return env;
  };

  before(() => {
    const kustomization = readYaml<{ resources: string[] }>(`${folder}/kustomization.yaml`);
    manifests = kustomization.resources.flatMap(
      (file) => readYamlDocuments(`${folder}/${file}`) as Manifest[],
    );
    configs = serviceConfigs();
  });
  after(() => configs.close());

  it("lists every manifest in kustomization.yaml", () => {
    const kustomization = readYaml<{ resources: string[] }>(`${folder}/kustomization.yaml`);
    const files = readdirSync(join(repoRoot, folder)).filter(
      (file) => file.endsWith(".yaml") && file !== "kustomization.yaml",
    );
    expect(kustomization.resources).to.have.members(files);
  });

  it("runs one gateway, replaced with Recreate, and two replicas of each service", () => {
    expect(workloads().map((w) => `${w.kind} ${w.metadata.name}`)).to.have.members([
      "Deployment ib-gateway",
      "StatefulSet rebalancer",
      "Deployment subscriber",
    ]);
    for (const { metadata, spec } of workloads()) {
      expect(spec.template.metadata.labels, metadata.name).to.deep.include(
        spec.selector.matchLabels,
      );
    }
    // One session per IBKR username: a second gateway would log the first one out.
    const gateway = workload("ib-gateway").spec;
    expect(gateway.replicas).to.equal(1);
    expect(gateway.strategy).to.deep.equal({ type: "Recreate" });
    const rebalancer = workload("rebalancer").spec;
    expect(rebalancer.replicas).to.equal(2);
    expect(
      rebalancer.podManagementPolicy,
      "replicas start without waiting for each other",
    ).to.equal("Parallel");
    expect(rebalancer.updateStrategy).to.deep.equal({ type: "RollingUpdate" });
    const subscriber = workload("subscriber").spec;
    expect(subscriber.replicas).to.equal(2);
    expect(subscriber.strategy).to.deep.equal({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  it("names the rebalancer's pods through a headless Service selecting them", () => {
    const governing = find("Service", workload("rebalancer").spec.serviceName);
    expect(governing.spec.clusterIP).to.equal("None");
    expect(workload("rebalancer").spec.template.metadata.labels).to.deep.include(
      governing.spec.selector,
    );
  });

  it("gives each rebalancer pod its ordinal from the pod-index label and an IB client id of its own", () => {
    const container = containerOf("rebalancer");
    const ordinal = container.env!.find((e) => e.name === "REPLICA_ORDINAL");
    expect(ordinal?.valueFrom?.fieldRef?.fieldPath).to.equal(podIndex);
    const clientIdOf = (index: number) => {
      const { broker } = configs.rebalancer(envOf(container, index));
      return broker.kind === "ibkr" ? broker.clientId : -1;
    };
    const replicas: number = workload("rebalancer").spec.replicas;
    expect(
      Array.from({ length: replicas }, (_, index) => envOf(container, index).REPLICA_ORDINAL),
    ).to.deep.equal(["0", "1"]);
    expect(Array.from({ length: replicas }, (_, index) => clientIdOf(index))).to.deep.equal([
      10, 11,
    ]);
    // Scaled up later, still one id per pod (10..19, then 110, 111, ...).
    const ids = Array.from({ length: 25 }, (_, index) => clientIdOf(index));
    expect(new Set(ids).size).to.equal(ids.length);
    // The gateway's Master API client ID is rebalancer-0's.
    const gateway = Object.fromEntries(
      (containerOf("ib-gateway").env ?? []).map((e) => [e.name, e.value]),
    );
    expect(gateway.TWS_MASTER_CLIENT_ID).to.equal(String(clientIdOf(0)));
  });

  for (const name of nodeServices) {
    it(`gives every ${name} replica the database URL from its Secret, mounted as a file`, () => {
      const container = containerOf(name);
      const env = envOf(container);
      expect(env).to.not.have.property("DATABASE_URL");
      expect(env.DATABASE_URL_FILE).to.equal("/run/secrets/database_url");
      const mount = container.volumeMounts!.find((m) => m.mountPath === "/run/secrets")!;
      const volume = workload(name).spec.template.spec.volumes.find(
        (v: any) => v.name === mount.name,
      );
      expect(volume.secret.secretName).to.equal(`${name}-secrets`);
      expect(volume.secret.items).to.deep.include({ key: "database_url", path: "database_url" });
      if (name === "subscriber") {
        const expected = new URL(sampleSecrets.database_url!.trim());
        expected.password = "[redacted]";
        expect(configs.subscriber(env).database?.shown).to.equal(decodeURIComponent(expected.href));
      }
    });
  }

  it("is not ready while the database is unreachable: /health answers 503 on a failing store", async () => {
    // The rebalancer: a "store" probe in its report, and one probe down makes it NOT_SERVING.
    expect(readRepoFile("rebalancer/src/app.ts")).to.match(
      /name: "store", check: \(\) => store\.health\(\)/,
    );
    const report = await healthReport([
      { name: "broker", check: () => ({ ok: true }) },
      {
        name: "store",
        check: () => {
          throw new Error("connect ECONNREFUSED 10.0.0.5:5432");
        },
      },
    ]);
    expect(report.status).to.equal(HealthStatus.NOT_SERVING);
    expect(readRepoFile("rebalancer/src/server/rebalancer-rest-adapters.ts")).to.match(
      /HealthStatus\.SERVING \? 200 : 503/,
    );
    // The subscriber: an inbox that cannot write makes the report failing, which is a 503.
    const down = () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:5432"));
    const health = createSubscriberHealth({
      inbox: {
        checkWritable: down,
        oldestWaiting: down,
        gaps: { listOpen: down, unacknowledged: down },
      } as unknown as Inbox,
      thresholds: defaultHealthConfig,
      realtime: () => ({ enabled: true, state: "connected", since: "", channels: {} }),
      probeRebalancer: async () => {},
      rebalancer: () => ({ url: "https://rebalancer:8000", reachable: true, authorized: true }),
      circuit: () => "closed",
      halfOpenAfterMs: 1000,
    });
    const subscriberReport = await health.report();
    expect(subscriberReport.components.inbox).to.equal("down");
    expect(subscriberReport.status).to.equal("failing");
    expect(readRepoFile("subscriber/src/sources/http-ingress.ts")).to.match(
      /report\.status === "failing" \? 503 : 200/,
    );
  });

  it("uses only container and probe fields Kubernetes knows", () => {
    for (const deployment of workloads()) {
      for (const container of deployment.spec.template.spec.containers as Container[]) {
        for (const key of Object.keys(container)) {
          expect(containerFields, `${container.name}.${key}`).to.include(key);
        }
        for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
          for (const key of Object.keys(container[probe] ?? {})) {
            expect(probeFields, `${container.name}.${probe}.${key}`).to.include(key);
          }
        }
      }
    }
  });

  for (const name of nodeServices) {
    describe(name, () => {
      const portVariable = name === "rebalancer" ? "API_PORT" : "SUBSCRIBER_PORT";

      it("sets every variable its configuration reads, or leaves it to a listed default", () => {
        const { all, secrets } = configVariables(name);
        const given = envOf(containerOf(name));
        const missing = [...all].filter(
          (variable) =>
            !(variable in given) &&
            !(secrets.has(variable) && `${variable}_FILE` in given) &&
            !(variable in acceptedDefaults[name]),
        );
        expect(
          missing,
          "set these in the manifest, or list them in accepted-defaults.ts",
        ).to.deep.equal([]);
      });

      it("gets a configuration its own code accepts, listening where the kubelet can probe", () => {
        const env = envOf(containerOf(name));
        if (name === "rebalancer") {
          const config = configs.rebalancer(env);
          expect(isLoopback(config.apiHost)).to.equal(false);
          expect(config.apiKeys.length).to.be.above(0);
        } else {
          const config = configs.subscriber(env);
          expect(isLoopback(config.host)).to.equal(false);
          expect(config.realtime, "webhooks are signed with the realtime key").to.not.equal(
            undefined,
          );
        }
      });

      it("probes: up = the port accepts, ready = GET /health answers 200", () => {
        const container = containerOf(name);
        const port = Number(envOf(container)[portVariable]);
        const named = (container.ports ?? []).find((p) => p.containerPort === port);
        expect(named, `a container port ${port} (${portVariable})`).to.not.equal(undefined);
        for (const probe of ["startupProbe", "livenessProbe"]) {
          expect(container[probe]?.tcpSocket?.port, probe).to.equal(named!.name);
        }
        // HTTPS when the service serves TLS; the kubelet does not verify the certificate.
        expect(container.readinessProbe?.httpGet).to.deep.equal({
          path: "/health",
          port: named!.name,
          ...(envOf(container).TLS_CERT_FILE ? { scheme: "HTTPS" } : {}),
        });
      });

      it("asks for resources and caps memory", () => {
        const { resources } = containerOf(name);
        expect(resources.requests).to.have.keys("cpu", "memory");
        expect(resources.limits).to.include.keys("memory");
      });

      it("runs as the image's non-root user on a read-only root, with no privileges", () => {
        const pod = workload(name).spec.template.spec;
        expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 1000 });
        expect(pod.automountServiceAccountToken).to.equal(false);
        const { securityContext, volumeMounts } = containerOf(name);
        expect(securityContext).to.deep.include({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
        });
        expect(securityContext.capabilities.drop).to.deep.equal(["ALL"]);
        expect(
          volumeMounts!.map((m) => m.mountPath),
          "tsx's cache",
        ).to.include("/tmp");
      });

      it("reads keys from a mounted Secret's files, never from values in the manifest", () => {
        const container = containerOf(name);
        const pod = workload(name).spec.template.spec;
        for (const secret of configVariables(name).secrets) {
          const path = envOf(container)[`${secret}_FILE`];
          if (!path) continue;
          const mount = container.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
          expect(mount, `${secret}_FILE=${path} is mounted`).to.not.equal(undefined);
          const volume = pod.volumes.find((v: any) => v.name === mount!.name);
          expect(volume.secret, `${mount!.name} is a Secret`).to.not.equal(undefined);
          const item = path.slice(mount!.mountPath.length + 1);
          expect(volume.secret.items.map((i: any) => i.path)).to.include(item);
        }
      });

      it("keeps DATA_DIR per pod, never shared, and accounts.yaml at ACCOUNTS_FILE", () => {
        const container = containerOf(name);
        const { spec } = workload(name);
        const env = envOf(container);
        const mountAt = (path: string) => {
          const mount = container.volumeMounts!.find((m) => m.mountPath === path);
          expect(mount, `a volume at ${path}`).to.not.equal(undefined);
          return mount!;
        };
        const volumeAt = (path: string) =>
          spec.template.spec.volumes.find((v: any) => v.name === mountAt(path).name);
        // The shared state is in PostgreSQL. The rebalancer's remaining files (the notification
        // outbox) are each pod's own claim; the subscriber keeps nothing.
        if (name === "rebalancer") {
          const claim = spec.volumeClaimTemplates.find(
            (t: any) => t.metadata.name === mountAt(env.DATA_DIR!).name,
          );
          expect(claim, "DATA_DIR on a claim per pod").to.not.equal(undefined);
          expect(claim.spec.accessModes).to.deep.equal(["ReadWriteOnce"]);
        } else {
          expect(volumeAt(env.DATA_DIR!)).to.have.property("emptyDir");
        }
        expect(manifests.filter((m) => m.kind === "PersistentVolumeClaim")).to.deep.equal([]);
        expect(volumeAt(env.ACCOUNTS_FILE!).configMap.name).to.equal("rebalancer-mesh-accounts");
      });

      it("has a PodDisruptionBudget selecting its pods", () => {
        const budget = find("PodDisruptionBudget", name);
        expect(workload(name).spec.template.metadata.labels).to.deep.include(
          budget.spec.selector.matchLabels,
        );
        expect(
          "minAvailable" in budget.spec || "maxUnavailable" in budget.spec,
          "a budget",
        ).to.equal(true);
      });
    });
  }

  it("gives running rebalances longer to finish than the rebalancer waits for them", () => {
    const pod = workload("rebalancer").spec.template.spec;
    const grace = Number(envOf(containerOf("rebalancer")).SHUTDOWN_GRACE_SECONDS);
    expect(pod.terminationGracePeriodSeconds).to.be.at.least(grace + 10);
  });

  it("serves TLS from cert-manager Secrets mounted without subPath, so renewals reach the pods", () => {
    const issued = new Map(
      manifests
        .filter((m) => m.kind === "Certificate" && m.apiVersion === "cert-manager.io/v1")
        .map((m) => [m.spec.secretName as string, m]),
    );
    const rebalancer = configs.rebalancer(envOf(containerOf("rebalancer")));
    const subscriber = configs.subscriber(envOf(containerOf("subscriber")));
    expect(rebalancer.tls).to.not.equal(undefined);
    expect(rebalancer.allowPlaintext).to.equal(false);
    expect(subscriber.rebalancer.url).to.match(/^https:\/\//);
    const files: [string, string][] = [
      ["rebalancer", rebalancer.tls!.certFile],
      ["rebalancer", rebalancer.tls!.keyFile],
      ["subscriber", subscriber.rebalancer.caFile!],
      ["subscriber", subscriber.rebalancer.clientCertFile!],
      ["subscriber", subscriber.tls!.certFile],
    ];
    for (const [name, path] of files) {
      const container = containerOf(name);
      const pod = workload(name).spec.template.spec;
      const mount = container.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
      expect(mount, `${name}: ${path} is mounted`).to.not.equal(undefined);
      expect(mount!.subPath, `${name}: ${mount!.name} without subPath`).to.equal(undefined);
      const volume = pod.volumes.find((v: any) => v.name === mount!.name);
      const certificate = issued.get(volume.secret?.secretName);
      expect(
        certificate,
        `${name}: ${volume.secret?.secretName} is issued by cert-manager`,
      ).to.not.equal(undefined);
      expect(certificate!.spec.dnsNames).to.include(name);
    }
    // The rebalancer's certificate names the Service the subscriber dials.
    expect(issued.get("rebalancer-tls")!.spec.dnsNames).to.include(
      new URL(subscriber.rebalancer.url).hostname,
    );
    expect(issued.get("subscriber-tls")!.spec.usages).to.include("client auth");
  });

  it("wires subscriber -> rebalancer -> ib-gateway through Services to container ports", () => {
    const serviceTarget = (serviceName: string, port: number, deployment: string) => {
      const service = find("Service", serviceName);
      const entry = service.spec.ports.find((p: any) => p.port === port);
      expect(entry, `Service ${serviceName} port ${port}`).to.not.equal(undefined);
      expect(workload(deployment).spec.template.metadata.labels).to.deep.include(
        service.spec.selector,
      );
      const container = containerOf(deployment);
      const target = container.ports!.find(
        (p) => p.name === entry.targetPort || p.containerPort === entry.targetPort,
      );
      expect(target, `${deployment} has port ${entry.targetPort}`).to.not.equal(undefined);
      return target!.containerPort;
    };
    const subscriber = configs.subscriber(envOf(containerOf("subscriber")));
    const url = new URL(subscriber.rebalancer.url);
    const apiPort = serviceTarget(url.hostname, Number(url.port), "rebalancer");
    expect(apiPort).to.equal(configs.rebalancer(envOf(containerOf("rebalancer"))).apiPort);

    const { broker } = configs.rebalancer(envOf(containerOf("rebalancer")));
    expect(broker.kind).to.equal("ibkr");
    if (broker.kind !== "ibkr") return;
    expect(serviceTarget(broker.host, broker.port, "ib-gateway")).to.equal(broker.port);
    const probe = containerOf("ib-gateway").readinessProbe.exec.command.join(" ");
    expect(probe).to.include(`port=${gatewayApiPortBehind[broker.port]}`);
    expect(probe).to.match(/printf 'API\\000.*v100\.\.\d+'/);
  });

  it("lets the NetworkPolicies admit exactly the callers the wiring needs", () => {
    const admits = (policy: string, from: string, port: number) =>
      find("NetworkPolicy", policy).spec.ingress.some(
        (rule: any) =>
          // No `from`: every source in the cluster.
          (rule.from === undefined ||
            rule.from.some((peer: any) =>
              Object.entries(peer.podSelector?.matchLabels ?? {}).every(
                ([key, value]) => workload(from).spec.template.metadata.labels[key] === value,
              ),
            )) &&
          rule.ports.some((p: any) => p.port === port),
      );
    expect(admits("rebalancer", "subscriber", 8000)).to.equal(true);
    expect(admits("ib-gateway", "rebalancer", 4004)).to.equal(true);
    expect(admits("ib-gateway", "subscriber", 4004)).to.equal(false);
    expect(admits("rebalancer", "ib-gateway", 8000)).to.equal(false);
    // The subscriber takes no calls: only its metrics port is open, to scrapers.
    expect(find("NetworkPolicy", "subscriber").spec.ingress).to.deep.equal([
      { ports: [{ protocol: "TCP", port: 9465 }] },
    ]);
  });

  it("inlines no key or password anywhere in the manifests", () => {
    for (const deployment of workloads()) {
      for (const container of deployment.spec.template.spec.containers as Container[]) {
        for (const { name, value } of container.env ?? []) {
          expect(secretName.test(name) && !!value, `${container.name}: ${name}`).to.equal(false);
        }
      }
    }
    expect(manifests.filter((m) => m.kind === "Secret")).to.deep.equal([]);
  });

  it("logs the gateway in from a Secret and keeps it paper by default", () => {
    const gateway = containerOf("ib-gateway");
    const env = Object.fromEntries((gateway.env ?? []).map((e) => [e.name, e]));
    expect(env.TWS_PASSWORD_FILE?.value).to.match(/^\/run\/secrets\//);
    expect(env.TWS_USERID?.valueFrom).to.have.property("secretKeyRef");
    expect(env.TRADING_MODE?.value).to.equal("paper");
    expect(envOf(containerOf("rebalancer")).TRADING_MODE).to.equal("paper");
    expect(envOf(containerOf("subscriber")).TRADING_MODE).to.equal("paper");
  });
});

describe("deploy/k8s/postgres (optional PostgreSQL)", () => {
  const postgresFolder = `${folder}/postgres`;
  let manifests: Manifest[];
  let mesh: Manifest[];
  const find = (kind: string, name: string, from = manifests) => {
    const found = from.find((m) => m.kind === kind && m.metadata.name === name);
    expect(found, `${kind} ${name}`).to.not.equal(undefined);
    return found!;
  };
  const container = () => find("StatefulSet", "postgres").spec.template.spec.containers[0];
  const env = () =>
    Object.fromEntries(
      (container().env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
  const load = (dir: string) =>
    readYaml<{ resources: string[] }>(`${dir}/kustomization.yaml`).resources.flatMap(
      (file) => readYamlDocuments(`${dir}/${file}`) as Manifest[],
    );

  before(() => {
    manifests = load(postgresFolder);
    mesh = load(folder);
  });

  it("is applied on its own, into the mesh's namespace", () => {
    const own = readYaml<{ namespace: string; resources: string[] }>(
      `${postgresFolder}/kustomization.yaml`,
    );
    const main = readYaml<{ namespace: string; resources: string[] }>(
      `${folder}/kustomization.yaml`,
    );
    expect(own.namespace).to.equal(main.namespace);
    expect(main.resources.some((r) => r.includes("postgres"))).to.equal(false);
    expect(own.resources).to.have.members(
      readdirSync(join(repoRoot, postgresFolder)).filter(
        (file) => file.endsWith(".yaml") && file !== "kustomization.yaml",
      ),
    );
  });

  it("runs one server of the image Compose pins, its data on a claim, healthy over TCP", () => {
    const set = find("StatefulSet", "postgres").spec;
    expect(set.replicas).to.equal(1);
    expect(container().image).to.equal(readEnvFile(".env.example").POSTGRES_IMAGE);
    const [claim] = set.volumeClaimTemplates;
    expect(claim.spec.accessModes).to.deep.equal(["ReadWriteOnce"]);
    const data = container().volumeMounts.find((m: any) => m.name === claim.metadata.name);
    expect(env().PGDATA.startsWith(`${data.mountPath}/`), "PGDATA inside the claim").to.equal(true);
    const ready = container().readinessProbe.exec.command;
    expect(ready).to.deep.equal([
      "pg_isready",
      "--host=127.0.0.1",
      `--username=${env().POSTGRES_USER}`,
      `--dbname=${env().POSTGRES_DB}`,
    ]);
  });

  it("takes its password from a Secret file, never a value", () => {
    expect(env()).to.not.have.property("POSTGRES_PASSWORD");
    const path = env().POSTGRES_PASSWORD_FILE;
    const mount = container().volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
    const volume = find("StatefulSet", "postgres").spec.template.spec.volumes.find(
      (v: any) => v.name === mount.name,
    );
    expect(volume.secret.items.map((i: any) => i.path)).to.include(
      path.slice(mount.mountPath.length + 1),
    );
    expect(manifests.filter((m) => m.kind === "Secret")).to.deep.equal([]);
  });

  it("answers at the host, user and database of the URL the services are given", () => {
    const url = new URL(sampleSecrets.database_url!.trim());
    const service = find("Service", url.hostname);
    expect(service.spec.ports.map((p: any) => p.port)).to.include(Number(url.port));
    expect(find("StatefulSet", "postgres").spec.template.metadata.labels).to.deep.include(
      service.spec.selector,
    );
    expect(url.username).to.equal(env().POSTGRES_USER);
    expect(url.pathname).to.equal(`/${env().POSTGRES_DB}`);
  });

  it("admits the rebalancer's and the subscriber's pods, and no other", () => {
    const rule = find("NetworkPolicy", "postgres").spec.ingress;
    expect(rule).to.have.length(1);
    expect(rule[0].ports).to.deep.equal([{ protocol: "TCP", port: 5432 }]);
    const admitted = (labels: Record<string, string>) =>
      rule[0].from.some((peer: any) =>
        Object.entries(peer.podSelector.matchLabels).every(([k, v]) => labels[k] === v),
      );
    const labelsOf = (kind: string, name: string) =>
      find(kind, name, mesh).spec.template.metadata.labels;
    expect(admitted(labelsOf("StatefulSet", "rebalancer"))).to.equal(true);
    expect(admitted(labelsOf("Deployment", "subscriber"))).to.equal(true);
    expect(admitted(labelsOf("Deployment", "ib-gateway"))).to.equal(false);
  });

  it("runs as the image's postgres user within the namespace's restricted profile", () => {
    const pod = find("StatefulSet", "postgres").spec.template.spec;
    expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 999 });
    expect(pod.automountServiceAccountToken).to.equal(false);
    expect(container().securityContext).to.deep.include({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(container().securityContext.capabilities.drop).to.deep.equal(["ALL"]);
    for (const key of Object.keys(container())) expect(containerFields, key).to.include(key);
  });
});
