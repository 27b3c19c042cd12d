-- The broadcast service asks LiveKit for the room (CreateRoom is idempotent) before every
-- broadcaster credential instead of remembering it: a room LiveKit lost is made again.
DROP TABLE broadcast.livekit_rooms;
