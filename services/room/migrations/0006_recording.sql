-- Recording through LiveKit Egress (domain.md "Recording and live playback").
ALTER TABLE room.rooms
    ADD COLUMN auto_record boolean NOT NULL DEFAULT false,
    -- unspecified (not recording), starting, active, stopping, failed.
    ADD COLUMN recording_status text NOT NULL DEFAULT 'unspecified',
    -- The current attempt's number: it names the attempt's outputs.
    ADD COLUMN recording_attempt integer NOT NULL DEFAULT 0,
    -- The attempt's LiveKit egress once known, and its furthest EgressStatus name.
    ADD COLUMN egress_id text,
    ADD COLUMN egress_status text NOT NULL DEFAULT '',
    -- A recording still starting at this time is failed (its egress never started).
    ADD COLUMN recording_deadline timestamptz,
    ADD COLUMN recording_retried boolean NOT NULL DEFAULT false,
    ADD COLUMN live_playback_url text NOT NULL DEFAULT '';
CREATE INDEX rooms_recording_deadline ON room.rooms (recording_deadline)
    WHERE recording_status = 'starting';

-- Every egress of a room costream heard of, with the furthest status its webhooks (in any
-- order) or LiveKit's answer gave: an egress learnt late takes its status from here, and an
-- egress seen before is never taken for a new attempt's.
CREATE TABLE room.egresses (
    egress_id text PRIMARY KEY,
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    status text NOT NULL,
    rank integer NOT NULL
);
CREATE INDEX egresses_by_room ON room.egresses (room_id);
