import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Inbox } from "./inbox.js";
import { describeGapStoreContract } from "./gap-store.contract.js";
import { openSqliteInbox } from "./sqlite-inbox.js";

describeGapStoreContract("SQLite gap store", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gaps-"));
  const file = join(dir, "inbox.sqlite");
  let inbox: Inbox = openSqliteInbox(file);
  return {
    store: inbox.gaps,
    reopen: async () => {
      await inbox.close();
      inbox = openSqliteInbox(file);
      return inbox.gaps;
    },
    destroy: async () => {
      await inbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
