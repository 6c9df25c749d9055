import type { SecretRedactor } from "@mesh/platform/secret-redactor";
import { AllocationError } from "./allocation-error.js";
import type { AllocationProvider } from "./allocation-provider.js";

/**
 * The provider with every text it returns (error messages, health details, the strategy name)
 * redacted of the configured secrets: the one point where a provider's words enter the domain,
 * so that nothing downstream (run events, the run store, RPC errors, logs) can carry a key.
 */
export function redactingAllocations(
  provider: AllocationProvider,
  secrets: SecretRedactor,
): AllocationProvider {
  if (secrets.empty) return provider;
  const { redact } = secrets;
  return {
    async targets(account) {
      try {
        const allocations = await provider.targets(account);
        return {
          ...allocations,
          strategy: redact(allocations.strategy),
          asOf: redact(allocations.asOf),
        };
      } catch (err) {
        if (err instanceof AllocationError) {
          // The cause is dropped: its text is the provider's too.
          throw new AllocationError(err.code, redact(err.message), err.retryable);
        }
        throw new AllocationError("unavailable", redact((err as Error).message ?? String(err)));
      }
    },
    health() {
      const { ok, detail } = provider.health();
      return { ok, detail: redact(detail) };
    },
  };
}
