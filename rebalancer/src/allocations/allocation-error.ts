/** Why targets could not be had: the source did not answer, or it answered something unusable. */
export type AllocationErrorCode = "unavailable" | "invalid";

/** An error from an allocation source, with a message a human can act on. */
export class AllocationError extends Error {
  constructor(
    readonly code: AllocationErrorCode,
    message: string,
    /** True when asking again later may succeed (network, timeout, 5xx, 429, open circuit). */
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AllocationError";
  }
}
