-- A dead letter an operator gave up on for good is kept as 'discarded' (never delivered, its
-- event key still taken so the event is not recorded again).

ALTER TABLE inbox DROP CONSTRAINT inbox_state_check;
ALTER TABLE inbox ADD CONSTRAINT inbox_state_check
  CHECK (state IN ('pending', 'in_flight', 'done', 'dead', 'rejected', 'discarded'));
