-- The room service's schema: rooms, who is on stage, bans, LiveKit connections and the outbox.
CREATE SCHEMA IF NOT EXISTS room;

CREATE TABLE room.rooms (
    room_id text PRIMARY KEY,
    type text NOT NULL,
    status text NOT NULL,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    thumbnail_file_id text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}',
    live_chat_enabled boolean NOT NULL DEFAULT false,
    parent_room_id text NOT NULL DEFAULT '',
    seat_template text NOT NULL,
    max_co_hosts integer NOT NULL CHECK (max_co_hosts >= 0),
    host_user_id text NOT NULL,
    end_reason text,
    dismiss_reason text NOT NULL DEFAULT '',
    -- The LiveKit session (room sid) the room is live in; events of other sessions are stale.
    livekit_room_sid text,
    peak_viewer_count integer NOT NULL DEFAULT 0,
    create_request_id text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    live_time timestamptz,
    end_time timestamptz,
    recorded_time timestamptz,
    -- waitingReconnect ends at this time unless the host is back.
    reconnect_deadline timestamptz,
    deleted boolean NOT NULL DEFAULT false,
    delete_time timestamptz
);
-- ListRooms: keyset on (create_time, room_id), optionally by host or parent.
CREATE INDEX rooms_by_create_time ON room.rooms (create_time, room_id);
CREATE INDEX rooms_by_host ON room.rooms (host_user_id, create_time, room_id);
CREATE INDEX rooms_by_parent ON room.rooms (parent_room_id, create_time, room_id)
    WHERE parent_room_id <> '';
CREATE INDEX rooms_by_status ON room.rooms (status, create_time, room_id) WHERE NOT deleted;
-- CreateRoom idempotency per caller.
CREATE UNIQUE INDEX rooms_create_request ON room.rooms (host_user_id, create_request_id)
    WHERE create_request_id IS NOT NULL;
-- Timers: rooms waiting for their host, and live rooms by start.
CREATE INDEX rooms_reconnect_deadline ON room.rooms (reconnect_deadline)
    WHERE status = 'waiting_reconnect';
CREATE INDEX rooms_live_time ON room.rooms (live_time) WHERE status = 'live';

CREATE TABLE room.participants (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    user_id text NOT NULL,
    role text NOT NULL,
    join_time timestamptz NOT NULL,
    invitation_id text,
    PRIMARY KEY (room_id, user_id)
);

-- One row per invitation that claimed a seat: AddCoHost is idempotent per invitation.
CREATE TABLE room.seat_claims (
    invitation_id text PRIMARY KEY,
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    user_id text NOT NULL,
    claim_time timestamptz NOT NULL
);

CREATE TABLE room.bans (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    user_id text NOT NULL,
    reason text NOT NULL DEFAULT '',
    banned_by_user_id text NOT NULL,
    create_time timestamptz NOT NULL,
    expire_time timestamptz,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX bans_by_room ON room.bans (room_id, create_time, user_id);

-- Who LiveKit reports connected, by participant sid: live counts are derived from this set.
CREATE TABLE room.connections (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    participant_sid text NOT NULL,
    identity text NOT NULL,
    livekit_room_sid text NOT NULL,
    can_publish boolean NOT NULL DEFAULT false,
    join_time timestamptz NOT NULL,
    PRIMARY KEY (room_id, participant_sid)
);
CREATE INDEX connections_by_identity ON room.connections (room_id, identity);

-- LiveKit webhook events already applied (deduplication on the event id).
CREATE TABLE room.livekit_events (
    event_id text PRIMARY KEY,
    room_id text NOT NULL,
    event text NOT NULL,
    receive_time timestamptz NOT NULL
);

CREATE TABLE room.playbacks (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    egress_id text NOT NULL,
    url text NOT NULL,
    thumbnail_url text NOT NULL DEFAULT '',
    duration_ms bigint NOT NULL DEFAULT 0,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (room_id, egress_id)
);

-- Side effects (LiveKit, other services) written with the state change, delivered after it.
CREATE TABLE room.outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    last_error text NOT NULL DEFAULT '',
    delivered_time timestamptz
);
CREATE INDEX outbox_pending ON room.outbox (next_attempt_time) WHERE delivered_time IS NULL;
