-- The run store: one row per run (its record in the contract's binary form, final once it
-- ended) and its journal, one row per event. One run per account and idempotency key, ever.
CREATE TABLE runs (
  run_id text PRIMARY KEY,
  account_id text NOT NULL,
  idempotency_key text NOT NULL,
  status integer NOT NULL,
  created_at bigint NOT NULL,
  -- The order runs were recorded in, for runs of the same millisecond.
  recorded bigserial NOT NULL,
  record bytea NOT NULL,
  UNIQUE (account_id, idempotency_key)
);
CREATE INDEX runs_by_account ON runs (account_id, created_at DESC, recorded DESC);
CREATE INDEX runs_running ON runs (status) WHERE status = 1;
CREATE TABLE run_journal (
  run_id text NOT NULL REFERENCES runs (run_id),
  sequence integer NOT NULL,
  time bigint NOT NULL,
  event text NOT NULL,
  -- The order events of every run were recorded in (WatchRuns reads after a position). Taken
  -- under one transaction lock held to commit (see postgres-run-store.ts), so positions become
  -- readable in order.
  position bigserial NOT NULL UNIQUE,
  PRIMARY KEY (run_id, sequence)
);
