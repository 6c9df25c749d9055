import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@mesh/platform/logger";
import type { Notification } from "@mesh/platform/notify/notification";
import { expect } from "chai";
import { foldRun } from "./fold-run.js";
import { notifyingRunStore } from "./notifying-run-store.js";
import { runMessage } from "./run-message.js";
import { accepted, next } from "./run-store.contract.js";
import { createSqliteRunStore } from "./sqlite-run-store.js";

describe("notifyingRunStore", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "notifying-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs one live run to its failure through the wrapped store; the notifications recorded. */
  const failedRun = async (owns?: () => Promise<boolean>) => {
    const store = createSqliteRunStore(join(dir, `runs-${Math.random()}.sqlite`));
    const told: Notification[] = [];
    const notifying = notifyingRunStore(store, {
      enqueue: async (notification) => void told.push(notification),
      consoleBase: () => "http://127.0.0.1:8000",
      logger: createLogger({ name: "test", level: "silent" }),
      ...(owns && { owns }),
    });
    const journal = [
      accepted("r1", "k"),
      next("r1", 2, {
        kind: "outcome",
        outcome: { status: "failed", reason: "internal", message: "stopped", recordNote: "" },
      }),
    ];
    await notifying.begin(journal[0]!);
    await notifying.appendEvent(journal[1]!);
    await notifying.finish(runMessage(foldRun(journal)));
    await store.close();
    return told;
  };

  it("tells a run's outcome when the run's account is still this process's", async () => {
    expect((await failedRun()).map((n) => n.id)).to.deep.equal(["r1:failed"]);
    expect((await failedRun(async () => true)).map((n) => n.id)).to.deep.equal(["r1:failed"]);
  });

  it("tells nothing for a replica that lost the account: another replica goes on with the run", async () => {
    expect(await failedRun(async () => false)).to.deep.equal([]);
  });

  it("tells the outcome when ownership cannot be asked: a duplicate beats a lost outcome", async () => {
    const told = await failedRun(() => Promise.reject(new Error("database unreachable")));
    expect(told.map((n) => n.id)).to.deep.equal(["r1:failed"]);
  });
});
