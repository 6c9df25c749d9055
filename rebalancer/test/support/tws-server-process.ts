// The TWS test server as a child process (support/tws-scenario-main.ts): its port for the
// rebalancers, its state for the assertions, and a kill.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TwsServerState } from "./tws-server-state.js";

export interface TwsServerProcess {
  port: number;
  child: ChildProcess;
  /** What the server holds now. */
  state(): Promise<TwsServerState>;
  /** Stops it (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL("./tws-scenario-main.ts", import.meta.url));

/** Starts the server process; resolves once it listens. `env`: TWS_FILL_INTERVAL_MS etc. */
export async function startTwsServerProcess(
  env: Record<string, string> = {},
): Promise<TwsServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = once(child, "exit");
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, "line").then(([line]) => line as string),
    exited.then(() => {
      throw new Error("the TWS test server process exited before listening");
    }),
  ]);
  const { port, statePort } = JSON.parse(first) as { port: number; statePort: number };
  return {
    port,
    child,
    async state() {
      const response = await fetch(`http://127.0.0.1:${statePort}/state`);
      return (await response.json()) as TwsServerState;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}
