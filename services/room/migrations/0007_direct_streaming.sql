-- Direct-streaming rooms (ROOM_TYPE_DIRECT_STREAMING): the host's LiveKit ingress (OBS,
-- RTMP), made by the broadcast service on the host's first GetBroadcastData and attached here
-- under the room's row lock, so a room has one at a time.
ALTER TABLE room.rooms ADD COLUMN ingress_id text;
-- ready, publishing or ended; NULL while the room has no ingress.
ALTER TABLE room.rooms ADD COLUMN ingress_status text;
-- When the latest ingress_started/ingress_ended applied to the current ingress happened: an
-- event from before it changes nothing (webhooks arrive in any order).
ALTER TABLE room.rooms ADD COLUMN ingress_event_time timestamptz;
