import type { Account } from "@mesh/platform/accounts";
import { resolveFile } from "./file-allocations.js";

/**
 * Refuses to start when an account's allocation file is missing, naming each account and what
 * was looked for: found at start, not on the first run that needs it. The file is still read on
 * every run, so edits apply to the next one.
 */
export async function checkAllocationFiles(accounts: readonly Account[]): Promise<void> {
  const problems: string[] = [];
  for (const account of accounts) {
    if (account.allocations.kind !== "file") continue;
    await resolveFile(account.allocations.path, account.strategy).catch((err: Error) => {
      problems.push(`account ${account.accountId} (strategy ${account.strategy}): ${err.message}`);
    });
  }
  if (problems.length > 0) {
    throw new Error(`missing allocation files:\n  ${problems.join("\n  ")}`);
  }
}
