-- The broadcast service's schema: which costream rooms have a LiveKit room (a session).
CREATE SCHEMA IF NOT EXISTS broadcast;

-- A row means the LiveKit room was created (CreateRoom) and not ended since; the first
-- broadcaster credential of a session creates it.
CREATE TABLE broadcast.livekit_rooms (
    room_id text PRIMARY KEY,
    livekit_room_sid text NOT NULL,
    create_time timestamptz NOT NULL
);
