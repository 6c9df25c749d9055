import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A process started from this package: the child and everything it wrote so far. */
export interface RunningProcess {
  child: ChildProcess;
  output(): string;
}

/**
 * Runs `script` (a TypeScript file of this package) as its own process with `env`; its stdin is
 * a pipe when `stdin` is true, else closed.
 */
export function spawnScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdin = false,
) {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: packageDir,
    env: { PATH: process.env.PATH, ...env },
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** Runs the real entry point (src/main.ts) as its own process, as `npm start` would. */
export function spawnSubscriber(env: Record<string, string>): RunningProcess {
  // No fixed metrics port unless a test asks: other processes may hold the default.
  return spawnScript("src/main.ts", [], { LOG_LEVEL: "warn", METRICS_PORT: "0", ...env });
}

/** Resolves with the exit code once the process ended. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Waits until the subscriber at `url` answers /health. */
export function answering(url: string, run: RunningProcess, timeoutMs = 15_000) {
  return until(
    () =>
      fetch(`${url}/health`).then(
        () => true,
        () => false,
      ),
    timeoutMs,
    `started; output:\n${run.output()}`,
  );
}
