import type { RunFence } from "./run-fence.js";

/** This replica's hold on an account, from an AccountLeases. */
export interface AccountLease {
  accountId: string;
  /** The fencing token: raised at every acquisition of the account, by any replica. */
  token: number;
  /**
   * The broker client (IBKR client id) the account's run trades through: this replica's own for
   * a fresh run; for a run taken over, the client of the replica that placed its orders.
   */
  brokerClient: number;
}

/**
 * One run per account across replicas: a lease per account, held by one replica for a run and
 * renewed by a heartbeat while it lives, so a replica that dies frees its accounts when the
 * lease expires. The in-process claim of the run coordinator comes first; this is the
 * cross-replica one, and its tokens fence the run store's writes (RunFence).
 */
export interface AccountLeases extends RunFence {
  /** This replica: who holds a lease (account_leases.owner). */
  readonly replica: string;
  /** This replica's broker client id. */
  readonly brokerClient: number;
  /**
   * Takes the account for this replica unless another holds a live lease on it; resolves with
   * the lease, or undefined when another replica has the account. `resume`: the run to go on
   * with was left by the previous holder, whose broker client the lease keeps.
   */
  acquire(accountId: string, purpose: "run" | "resume"): Promise<AccountLease | undefined>;
  /**
   * Runs left running on accounts no replica holds (free, or its lease expired): a dead
   * replica's, to take over. Their ids, oldest first.
   */
  orphans(): Promise<string[]>;
  /**
   * Whether this replica still holds the account's lease with the token it took, asked of the
   * database (a lease lost to another replica may not be noticed by the heartbeat yet).
   */
  holds(accountId: string): Promise<boolean>;
  /** Gives the account back at once (the run ended), for any replica to take. */
  release(accountId: string): Promise<void>;
  /** Stops the heartbeat and releases every lease held. */
  close(): Promise<void>;
}
