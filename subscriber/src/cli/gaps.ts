import { userInfo } from "node:os";
import { loadConfig } from "../config.js";
import { openInbox } from "../inbox/open-inbox.js";
import { gapsCommand } from "./gaps-command.js";

// A composition root like the dead-letter CLI: the same configuration as the service (DATABASE_URL, else DATA_DIR).
const config = loadConfig(process.env);
const inbox = await openInbox(config);
try {
  process.exitCode = await gapsCommand(
    process.argv.slice(2),
    inbox.gaps,
    (line) => process.stdout.write(`${line}\n`),
    `cli (${userInfo().username})`,
  );
} finally {
  await inbox.close();
}
