// A service of the crash test as a real child process (node --import tsx <entry>), which the test
// kills with SIGKILL and starts again on the same port, data directory and log file.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { until } from "@mesh/platform/testing/until";

/** Options of createServiceProcess. */
export interface ServiceProcessOptions {
  /** For messages, e.g. "rebalancer". */
  name: string;
  /** Entry point, relative to the repository root, e.g. "rebalancer/src/main.ts". */
  entry: string;
  /** The child's whole environment, besides PATH. */
  env: Record<string, string>;
  /** Answers 200 once the service serves. */
  healthUrl: string;
  /** The child's stdout and stderr are appended here, across restarts. */
  logFile: string;
  /** How long a start may take before it is an error, ms; default 60 s (tsx compiles on start). */
  startTimeoutMs?: number;
}

/** One service, started, killed and started again by the crash test. */
export interface ServiceProcess {
  readonly name: string;
  /** Starts the process and waits until it serves; throws with its last log lines if it exits. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown code runs, as in a crash. Waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15 s); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** True while a started process has not exited. */
  running(): boolean;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export function createServiceProcess(options: ServiceProcessOptions): ServiceProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const lastLines = () =>
    readFileSync(options.logFile, "utf8").trimEnd().split("\n").slice(-15).join("\n");

  return {
    name: options.name,
    running: alive,

    async start() {
      if (alive()) throw new Error(`${options.name} is already running`);
      const log = openSync(options.logFile, "a");
      try {
        child = spawn(process.execPath, ["--import", "tsx", options.entry], {
          cwd: repoRoot,
          env: { PATH: process.env.PATH ?? "", ...options.env },
          stdio: ["ignore", log, log],
        });
      } finally {
        closeSync(log); // the child has its own copy
      }
      exited = once(child, "exit");
      const timeoutMs = options.startTimeoutMs ?? 60_000;
      await until(
        async () => {
          if (!alive()) {
            throw new Error(`${options.name} exited while starting:\n${lastLines()}`);
          }
          return fetch(options.healthUrl).then(
            (res) => res.ok,
            () => false,
          );
        },
        timeoutMs,
        `${options.name} serving ${options.healthUrl}`,
        100,
      );
    },

    async kill() {
      if (alive()) child!.kill("SIGKILL");
      await exited;
    },

    async stop(graceMs = 15_000) {
      if (!alive()) return child?.exitCode ?? null;
      child!.kill("SIGTERM");
      const timer = setTimeout(() => child!.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      return child!.exitCode;
    },
  };
}
