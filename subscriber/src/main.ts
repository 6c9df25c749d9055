import { loadConfig, ConfigError } from "./config.js";
import { startSubscriber } from "./app.js";
import { AccountsFileError } from "@mesh/platform/accounts";

// The composition root: the only place that reads the environment.
try {
  const config = loadConfig(process.env);
  const subscriber = await startSubscriber(config);
  const stop = (signal: string) => {
    process.stderr.write(`subscriber: ${signal}, stopping\n`);
    subscriber.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
} catch (err) {
  if (err instanceof ConfigError || err instanceof AccountsFileError) {
    process.stderr.write(`subscriber: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
