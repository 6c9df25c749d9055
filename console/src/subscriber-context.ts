import type { SubscriberClient } from "./subscriber-client.js";

/** How the Events and Dead letters pages reach the subscriber. */
export interface SubscriberContext {
  /** The client, or undefined when no one said where the subscriber is. */
  client(): Promise<SubscriberClient | undefined>;
}
