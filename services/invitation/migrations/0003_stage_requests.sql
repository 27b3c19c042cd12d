-- Stage requests live beside co-host invitations (type 'stage_request', no inviter), and every
-- resolution records who made it.
ALTER TABLE invitation.invitations ADD COLUMN responder_user_id text NOT NULL DEFAULT '';
ALTER TABLE invitation.invitations ALTER COLUMN type SET DEFAULT 'livestream_co_host';
-- RequestStage idempotency per requester (a stage request has no inviter to key on).
DROP INDEX invitation.invitations_create_request;
CREATE UNIQUE INDEX invitations_create_request
    ON invitation.invitations (inviter_user_id, create_request_id)
    WHERE create_request_id IS NOT NULL AND type = 'livestream_co_host';
CREATE UNIQUE INDEX invitations_stage_request
    ON invitation.invitations (user_id, create_request_id)
    WHERE create_request_id IS NOT NULL AND type = 'stage_request';
