import { callerFolder } from "@mesh/platform/caller-folder";
import { loadConfig } from "../config.js";
import { copyInboxCommand } from "./copy-inbox-command.js";

// A composition root like the other CLIs: the service's configuration names both inboxes.
process.exitCode = await copyInboxCommand(process.argv.slice(2), {
  config: loadConfig(process.env),
  base: callerFolder(process.env),
  write: (line) => process.stdout.write(`${line}\n`),
});
