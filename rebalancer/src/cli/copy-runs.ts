import { callerFolder } from "@mesh/platform/caller-folder";
import { readConfig } from "../config.js";
import { copyRunsCommand } from "./copy-runs-command.js";

// A composition root like main.ts: the service's configuration names both run stores.
process.exitCode = await copyRunsCommand(process.argv.slice(2), {
  config: readConfig(process.env, callerFolder(process.env)),
  base: callerFolder(process.env),
  write: (line) => process.stdout.write(`${line}\n`),
});
