import { createInterface } from "node:readline";
import type { Inbox } from "../../src/inbox/inbox.js";
import { exited, spawnScript, type RunningProcess } from "./subscriber-process.js";

/** A PostgreSQL inbox in another process (test/support/inbox-replica.ts). */
export interface InboxReplicaProcess extends RunningProcess {
  /** Calls a method of its inbox; busy accounts go as an array. */
  call<M extends keyof Inbox>(method: M, ...args: unknown[]): Promise<unknown>;
  /** SIGKILLs it and waits until it is gone. */
  kill(): Promise<void>;
}

/** Starts the process on the database at `url`; resolves once its inbox is open. */
export async function startInboxReplica(
  url: string,
  claimTimeoutMs: number,
): Promise<InboxReplicaProcess> {
  const running = spawnScript(
    "test/support/inbox-replica.ts",
    [],
    {
      DATABASE_URL: url,
      CLAIM_TIMEOUT_MS: String(claimTimeoutMs),
    },
    true,
  );
  const { child } = running;
  child.stdin!.on("error", () => undefined);
  const waiting: { resolve(line: Record<string, unknown>): void; reject(err: Error): void }[] = [];
  const gone = () => new Error(`replica exited:\n${running.output()}`);
  createInterface({ input: child.stdout! }).on("line", (line) =>
    waiting.shift()?.resolve(JSON.parse(line) as Record<string, unknown>),
  );
  child.once("exit", () => {
    for (const call of waiting.splice(0)) call.reject(gone());
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) reject(gone());
      else waiting.push({ resolve, reject });
    });
  await next();
  return {
    ...running,
    call: async (method, ...args) => {
      const answer = next();
      child.stdin!.write(`${JSON.stringify({ method, args })}\n`);
      const { result, error } = await answer;
      if (error !== undefined) throw new Error(String(error));
      return result;
    },
    kill: async () => {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}
