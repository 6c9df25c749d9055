// A replica's PostgreSQL inbox in a process of its own, for tests that SIGKILL or SIGSTOP the
// holder of claims. Driven over stdin, one JSON call per line ({"method": "claimNext", "args":
// [...]}); answers one JSON line per call ({"result": ...} or {"error": "..."}), in order.
import { createInterface } from "node:readline";
import type { Inbox } from "../../src/inbox/inbox.js";
import { openPostgresInbox } from "../../src/inbox/postgres-inbox.js";

const inbox = await openPostgresInbox(process.env.DATABASE_URL!, {
  claimTimeoutMs: Number(process.env.CLAIM_TIMEOUT_MS ?? 15_000),
  replica: `replica-${process.pid}`,
});
const answer = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
answer({ ready: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  const { method, args } = JSON.parse(line) as { method: keyof Inbox; args: unknown[] };
  // A set does not travel as JSON: claimNext's busy accounts come as an array.
  if (method === "claimNext") args[1] = new Set(args[1] as string[]);
  try {
    const call = inbox[method] as (...values: unknown[]) => Promise<unknown>;
    answer({ result: (await call(...args)) ?? null });
  } catch (err) {
    answer({ error: (err as Error).message });
  }
}
await inbox.close();
