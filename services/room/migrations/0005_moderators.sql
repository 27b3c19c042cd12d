-- Moderators the host named (at most 5 per room, checked under the room's row lock): they may
-- ban, take co-hosts off stage and answer stage requests. A ban removes the row.
CREATE TABLE room.moderators (
    room_id text NOT NULL REFERENCES room.rooms ON DELETE CASCADE,
    user_id text NOT NULL,
    added_by_user_id text NOT NULL,
    add_time timestamptz NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
