import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeOutboxContract } from "./notification-outbox.contract.js";
import { openSqliteNotificationOutbox } from "./sqlite-notification-outbox.js";

describeOutboxContract("SQLite outbox", async () => {
  const dir = mkdtempSync(join(tmpdir(), "outbox-"));
  const file = join(dir, "notifications.sqlite");
  let outbox = openSqliteNotificationOutbox(file);
  return {
    outbox,
    reopen: async () => {
      await outbox.close();
      outbox = openSqliteNotificationOutbox(file);
      return outbox;
    },
    destroy: async () => {
      await outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
