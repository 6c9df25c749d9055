-- Which replica runs an account: a lease with an expiry on the database's clock, and a fencing
-- token raised at every acquisition, which every write of a run checks (see account-leases.ts).
CREATE TABLE account_leases (
  account_id text PRIMARY KEY,
  owner text NOT NULL,
  -- The broker client (IBKR_CLIENT_ID) whose orders the account's run has: a replica taking the
  -- run over observes and controls them through that client id.
  broker_client integer NOT NULL,
  token bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
