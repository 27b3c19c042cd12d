-- Each claim of an outbox row takes a new generation: only the relay holding the latest claim
-- marks the row delivered or failed (services/common/outbox.py).
ALTER TABLE room.outbox ADD COLUMN claim bigint NOT NULL DEFAULT 0;
