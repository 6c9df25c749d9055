// The subscriber as the crash test runs it: its configuration from the environment, as its own
// main.ts reads it, with shorter delivery pauses (not settable from the environment): a restarted
// rebalancer is reached again within seconds, where the defaults (a circuit open for 30 s,
// retries up to 5 min apart) would spend the test's time waiting.
import { startSubscriber } from "../../subscriber/src/app.js";
import { loadConfig } from "../../subscriber/src/config.js";

const config = loadConfig(process.env);
const subscriber = await startSubscriber({
  ...config,
  delivery: {
    ...config.delivery,
    retryInitialDelayMs: 200,
    retryMaxDelayMs: 1000,
    rescheduleInitialDelayMs: 500,
    rescheduleMaxDelayMs: 3000,
    breakerHalfOpenAfterMs: 2000,
    pollIntervalMs: 250,
  },
});
process.once("SIGTERM", () => {
  void subscriber.close().then(() => process.exit(0));
});
