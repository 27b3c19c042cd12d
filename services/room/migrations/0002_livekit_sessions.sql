-- Applying LiveKit webhooks in any order: the current session's start, participants LiveKit
-- reported gone, events parked until their session starts, and recordings waiting for the end.

-- The earliest event time seen in the current LiveKit session (livekit_room_sid): a
-- room_started from before it belongs to an older session and replaces nothing.
ALTER TABLE room.rooms ADD COLUMN livekit_session_time timestamptz;
-- A recording arrived before the room ended: it becomes recorded when it ends.
ALTER TABLE room.rooms ADD COLUMN recording_pending boolean NOT NULL DEFAULT false;

-- Participants LiveKit reported gone, by sid: a join that arrives after its leave counts for
-- nothing, and the host's latest departure says whether a reconnect is under way.
CREATE TABLE room.livekit_departures (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    participant_sid text NOT NULL,
    identity text NOT NULL,
    livekit_room_sid text NOT NULL,
    disconnect_reason text NOT NULL,
    leave_time timestamptz NOT NULL,
    PRIMARY KEY (room_id, participant_sid)
);
CREATE INDEX livekit_departures_by_identity
    ON room.livekit_departures (room_id, identity, livekit_room_sid);

-- Events of a session whose room_started has not arrived yet wait here (state 'parked', the
-- serialized LiveKitEvent in payload) and are applied when it does.
ALTER TABLE room.livekit_events ADD COLUMN room_sid text NOT NULL DEFAULT '';
ALTER TABLE room.livekit_events ADD COLUMN state text NOT NULL DEFAULT 'done';
ALTER TABLE room.livekit_events ADD COLUMN payload bytea;
CREATE INDEX livekit_events_parked ON room.livekit_events (room_id, room_sid)
    WHERE state = 'parked';
