import { notice } from "./notice.js";

/** Said when no one told the console where the subscriber is. */
export function subscriberNotConfigured(): HTMLElement {
  return notice(
    "The console does not know where the subscriber is: set CONSOLE_SUBSCRIBER_URL on the " +
      "rebalancer (npm start sets it), or build the console with --subscriber-url.",
    "error",
  );
}
