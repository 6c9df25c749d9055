import { loadConfig } from "../config.js";
import { openInbox } from "../inbox/open-inbox.js";
import { deadLettersCommand } from "./dead-letters-command.js";

// A second composition root: the CLI reads the same configuration as the service (DATABASE_URL, else DATA_DIR).
const config = loadConfig(process.env);
const inbox = await openInbox(config);
try {
  process.exitCode = await deadLettersCommand(process.argv.slice(2), inbox, (line) =>
    process.stdout.write(`${line}\n`),
  );
} finally {
  await inbox.close();
}
