-- Accepted LiveKit webhooks, written before LiveKit gets its 200 and handed to the room
-- service afterwards (services/common/outbox.py): a surge is durable at once, applied in
-- batches.
CREATE TABLE broadcast.outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    delivered_time timestamptz,
    claim bigint NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON broadcast.outbox (next_attempt_time) WHERE delivered_time IS NULL;
