-- When a room's connected set is next compared with LiveKit's (services/room/livekit/
-- reconcile.py): rooms with a LiveKit session that has not ended, each in turn, sooner after a
-- suspected gap.
ALTER TABLE room.rooms ADD COLUMN livekit_reconcile_time timestamptz NOT NULL DEFAULT now();
CREATE INDEX rooms_livekit_reconcile ON room.rooms (livekit_reconcile_time)
    WHERE NOT deleted
    AND (status IN ('live', 'waiting_reconnect') OR (status = 'idle' AND livekit_room_sid IS NOT NULL));
