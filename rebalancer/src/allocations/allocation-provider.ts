import type { Account } from "@mesh/platform/accounts";
import { AllocationError } from "./allocation-error.js";
import type { Allocations } from "./allocations.js";

/** Where target allocations come from. Methods reject with an AllocationError. */
export interface AllocationProvider {
  /** Targets for the account's strategy from the account's source. */
  targets(account: Account): Promise<Allocations>;
  /** For the health service: reachable / circuit state. */
  health(): { ok: boolean; detail: string };
}

/** The providers createAllocationProvider routes to; a missing one fails the accounts that need it. */
export interface AllocationProviderOptions {
  /** For accounts whose allocations are `{kind: "http"}`; default none. */
  http?: AllocationProvider;
  /** For accounts whose allocations are `{kind: "file"}`; default none. */
  file?: AllocationProvider;
}

/** A provider that asks the HTTP or the file provider, by the account's `allocations.kind`. */
export function createAllocationProvider(options: AllocationProviderOptions): AllocationProvider {
  const routes = { http: options.http, file: options.file };
  return {
    targets(account) {
      const kind = account.allocations.kind;
      const provider = routes[kind];
      if (!provider) {
        return Promise.reject(
          new AllocationError(
            "unavailable",
            `account ${account.accountId} takes its allocations from ${kind === "http" ? "an HTTP API" : "a file"}, ` +
              `but no ${kind} allocation source is configured`,
          ),
        );
      }
      return provider.targets(account);
    },
    health() {
      const parts = (["http", "file"] as const).flatMap((kind) => {
        const provider = routes[kind];
        return provider ? [{ kind, ...provider.health() }] : [];
      });
      if (parts.length === 0) return { ok: false, detail: "no allocation source configured" };
      return {
        ok: parts.every((p) => p.ok),
        detail: parts.map((p) => `${p.kind}: ${p.detail}`).join("; "),
      };
    },
  };
}
