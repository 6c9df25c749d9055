/**
 * The account leases this replica holds, each with its fencing token: a shared run store writes a
 * run only while its account is among them with the lease's current token, so a replica that
 * lost an account (paused past its lease, cut off from the database) can no longer write the
 * runs another replica took over.
 */
export interface RunFence {
  held(): readonly { accountId: string; token: number }[];
}

/** A run's write refused by the fence: this replica no longer holds the run's account. */
export class LeaseLost extends Error {
  constructor(runId: string) {
    super(`run ${runId}: this replica no longer holds its account's lease; another replica has it`);
    this.name = "LeaseLost";
  }
}
