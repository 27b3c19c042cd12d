-- The invitation service's schema: co-host invitations and their status machine.
CREATE SCHEMA IF NOT EXISTS invitation;

CREATE TABLE invitation.invitations (
    invitation_id text PRIMARY KEY,
    type text NOT NULL,
    room_id text NOT NULL,
    user_id text NOT NULL,
    inviter_user_id text NOT NULL,
    -- As written down; a pending row past expire_time reads as expired (see domain.py).
    status text NOT NULL
        CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled', 'expired')),
    create_request_id text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    expire_time timestamptz NOT NULL,
    respond_time timestamptz
);
-- At most one pending invitation per (room, user); CancelRoomInvitations uses it by room.
CREATE UNIQUE INDEX invitations_one_pending ON invitation.invitations (room_id, user_id)
    WHERE status = 'pending';
-- CreateInvitation idempotency per caller.
CREATE UNIQUE INDEX invitations_create_request
    ON invitation.invitations (inviter_user_id, create_request_id)
    WHERE create_request_id IS NOT NULL;
-- ListRoomInvitations and ListMyInvitations, newest first (keyset on create_time, id).
CREATE INDEX invitations_by_room ON invitation.invitations (room_id, create_time, invitation_id);
CREATE INDEX invitations_by_invitee
    ON invitation.invitations (user_id, create_time, invitation_id);
-- GetMyRoomInvitation: the latest of one user in one room.
CREATE INDEX invitations_by_room_invitee
    ON invitation.invitations (room_id, user_id, create_time, invitation_id);
-- The expiry sweeper.
CREATE INDEX invitations_pending_expiry ON invitation.invitations (expire_time)
    WHERE status = 'pending';
