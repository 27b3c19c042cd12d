-- Rooms that ended, as CancelRoomInvitations learnt: no invitation is created for them, so none
-- stays pending in an ended room (CreateInvitation checks this under the room's advisory lock).
CREATE TABLE invitation.closed_rooms (
    room_id text PRIMARY KEY,
    close_time timestamptz NOT NULL
);
