// The rebalancer (rebalancer/src/main.ts) as a child process on a given environment: started,
// waited for until it serves /health, its log kept, stopped or killed.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";

const root = fileURLToPath(new URL("../../..", import.meta.url));

export interface RebalancerProcess {
  child: ChildProcess;
  url: string;
  /** Its log so far (JSON lines, stdout and stderr). */
  logs(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGKILL unless it already exited; resolves once it has. */
  kill(): Promise<void>;
}

/** Starts the rebalancer with `env` (API_PORT required); resolves once /health answers 200. */
export async function startRebalancerProcess(
  env: Record<string, string>,
): Promise<RebalancerProcess> {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "rebalancer/src/main.ts"], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
      METRICS_PORT: "0",
      ...env,
    },
  });
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${env.API_PORT}`;
  const serving = until(
    () =>
      fetch(`${url}/health`).then(
        (res) => res.ok,
        () => false,
      ),
    60_000,
    "the rebalancer serving",
  );
  await Promise.race([
    serving,
    exited.then((code) => {
      throw new Error(`the rebalancer exited (${code}) before serving:\n${output}`);
    }),
  ]);
  return {
    child,
    url,
    logs: () => output,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
