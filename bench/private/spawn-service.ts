// A service of the footprint benchmark in a child process of its own, so that its resident
// memory is its own. The parent and the child talk over the IPC channel.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What runs in the child: a service, or nothing (a bare Node.js process with tsx, the baseline). */
export type ServiceRole = "rebalancer" | "subscriber" | "bare";

/** What the child needs to start its service; paths are absolute. */
export interface ServiceSettings {
  accountsFile?: string;
  dataDir?: string;
  /** The simulated broker's state (rebalancer). */
  simStateFile?: string;
  /** Where the subscriber delivers (subscriber). */
  rebalancerUrl?: string;
}

/** Parent to child. */
export type ServiceRequest =
  { kind: "memory" } | { kind: "heap" } | { kind: "orders" } | { kind: "stop" };

/** Child to parent. */
export type ServiceReply =
  | { kind: "ready"; url: string }
  | { kind: "memory"; rss: number; heapUsed: number }
  | { kind: "heap"; heapUsed: number }
  | { kind: "orders"; placed: number }
  | { kind: "failed"; message: string };

/** A service running in a child process. */
export interface ServiceProcess {
  pid: number;
  /** Base URL of the service ("" for the bare process). */
  url: string;
  /** The child's resident set size and heap in use, bytes. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  /** The heap in use right after a full garbage collection, bytes: what the service retains. */
  retainedHeap(): Promise<number>;
  /** Orders placed at the rebalancer's simulated broker so far (0 for the others). */
  ordersPlaced(): Promise<number>;
  /** Closes the service and waits for the process to exit. */
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL("./service-process.ts", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export async function spawnService(
  role: ServiceRole,
  settings: ServiceSettings = {},
  timeoutMs = 30_000,
): Promise<ServiceProcess> {
  // From the repository root, where tsx resolves; the child's own output goes to ours.
  const child = fork(entry, [role, JSON.stringify(settings)], {
    cwd: repoRoot,
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = await nextReply(child, "ready", timeoutMs).catch((err: unknown) => {
    child.kill();
    throw err;
  });
  const ask = async <K extends ServiceReply["kind"]>(request: ServiceRequest, kind: K) => {
    const reply = nextReply(child, kind, timeoutMs);
    child.send(request);
    return reply;
  };
  return {
    pid: child.pid!,
    url: ready.url,
    memory: async () => {
      const { rss, heapUsed } = await ask({ kind: "memory" }, "memory");
      return { rss, heapUsed };
    },
    retainedHeap: async () => (await ask({ kind: "heap" }, "heap")).heapUsed,
    ordersPlaced: async () => (await ask({ kind: "orders" }, "orders")).placed,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ kind: "stop" } satisfies ServiceRequest);
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The child's next reply of `kind`; rejects on a failure report, an exit or the timeout. */
function nextReply<K extends ServiceReply["kind"]>(
  child: ChildProcess,
  kind: K,
  timeoutMs: number,
): Promise<Extract<ServiceReply, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (message: ServiceReply) => {
      if (message.kind === "failed") {
        done();
        reject(new Error(`child service failed: ${message.message}`));
      } else if (message.kind === kind) {
        done();
        resolve(message as Extract<ServiceReply, { kind: K }>);
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child service exited (code ${code}) before answering ${kind}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child service did not answer ${kind} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}
