-- Notifications waiting for their receivers: one row per notification and receiver (target: a
-- hash of the receiver's URL, never the URL), kept a while after delivery.
CREATE TABLE notification_outbox (
  seq bigserial PRIMARY KEY,
  notification_id text NOT NULL,
  target text NOT NULL,
  notification text NOT NULL,
  state text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  last_error text NOT NULL DEFAULT '',
  -- W3C trace context of the span the outcome was reached in; '' when tracing was off.
  traceparent text NOT NULL DEFAULT '',
  tracestate text NOT NULL DEFAULT '',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  UNIQUE (notification_id, target)
);
CREATE INDEX notification_outbox_pending ON notification_outbox (target, seq) WHERE state = 'pending';

-- Which replica sends a receiver's notifications, as a lease renewed at every row it takes: one
-- sender per receiver keeps them in order and never sends one twice at once.
CREATE TABLE notification_senders (
  target text PRIMARY KEY,
  holder text NOT NULL,
  held_until bigint NOT NULL
);
