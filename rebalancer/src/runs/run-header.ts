/** Who or what asked for a run, as the request said (the caller: as TLS verified it). */
export interface RunTrigger {
  /** e.g. "ably", "webhook", "console"; "unknown" when the request did not say. */
  source: string;
  eventId: string;
  channel: string;
  caller: string;
}

/** What a run is, fixed when it is accepted. */
export interface RunHeader {
  runId: string;
  accountId: string;
  /** True for a live run, false for a dry run. */
  live: boolean;
  idempotencyKey: string;
  trigger: RunTrigger;
  createdAt: Date;
}
