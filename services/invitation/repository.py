"""SQL for the invitation aggregate (asyncpg, $n parameters), and the invitation service's unit
of work."""

from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from services.common import sql
from services.common.events import DomainEvent, SideEffects
from services.common.unit_of_work import UnitOfWork
from services.invitation.domain import Invitation, InvitationStatus, InvitationType
from services.invitation.side_effects import side_effects

# Unique indexes of invitation.invitations, by the domain key they guard.
_UNIQUE_KEYS = {
    "invitations_create_request": "request_id",
    "invitations_stage_request": "request_id",
    "invitations_one_pending": "pending_invitation",
}

# The status a reader sees (domain.effective_status in SQL); $3 is now in the list queries.
_EFFECTIVE_STATUS = (
    "CASE WHEN status = 'pending' AND expire_time <= $3 THEN 'expired' ELSE status END"
)


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(
        invitation_id=row["invitation_id"],
        room_id=row["room_id"],
        user_id=row["user_id"],
        inviter_user_id=row["inviter_user_id"],
        status=InvitationStatus(row["status"]),
        create_time=row["create_time"],
        expire_time=row["expire_time"],
        respond_time=row["respond_time"],
        type=InvitationType(row["type"]),
        responder_user_id=row["responder_user_id"],
    )


class InvitationRepository:
    def __init__(
        self, connection: asyncpg.Connection, seen: Callable[[Invitation], Invitation]
    ) -> None:
        self._conn = connection
        self._seen = seen

    async def get(self, invitation_id: str, *, for_update: bool = False) -> Invitation | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM invitation.invitations WHERE invitation_id = $1"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            invitation_id,
        )
        return self._seen(_invitation(row)) if row else None

    async def find_by_request(self, inviter_user_id: str, request_id: str) -> Invitation | None:
        row = await self._conn.fetchrow(
            """SELECT * FROM invitation.invitations
               WHERE inviter_user_id = $1 AND create_request_id = $2
                 AND type = 'livestream_co_host'""",
            inviter_user_id,
            request_id,
        )
        return _invitation(row) if row else None

    async def find_stage_request(self, requester: str, request_id: str) -> Invitation | None:
        row = await self._conn.fetchrow(
            """SELECT * FROM invitation.invitations
               WHERE user_id = $1 AND create_request_id = $2 AND type = 'stage_request'""",
            requester,
            request_id,
        )
        return _invitation(row) if row else None

    async def insert(self, invitation: Invitation, request_id: str, now: datetime) -> None:
        """A new invitation; DuplicateKey("request_id" or "pending_invitation") when one
        has that key."""
        with sql.unique_keys(_UNIQUE_KEYS):
            await self._conn.execute(
                """INSERT INTO invitation.invitations
                       (invitation_id, type, room_id, user_id, inviter_user_id, status,
                        create_request_id, create_time, update_time, expire_time)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)""",
                invitation.invitation_id,
                invitation.type.value,
                invitation.room_id,
                invitation.user_id,
                invitation.inviter_user_id,
                invitation.status.value,
                request_id or None,
                now,
                invitation.expire_time,
            )
        self._seen(invitation)

    async def save_resolution(self, invitation: Invitation, now: datetime) -> bool:
        """Write down how a pending invitation resolved; False when it was not pending any
        more (the row is locked by the caller, so this is a guard, not the mechanism)."""
        status = await self._conn.execute(
            """UPDATE invitation.invitations
               SET status = $2, respond_time = $3, update_time = $4, responder_user_id = $5
               WHERE invitation_id = $1 AND status = 'pending'""",
            invitation.invitation_id,
            invitation.status.value,
            invitation.respond_time,
            now,
            invitation.responder_user_id,
        )
        return status != "UPDATE 0"

    async def expire_stale(self, room_id: str, user_id: str, now: datetime) -> list[Invitation]:
        """Write down the expiry of a (room, user)'s pending invitation whose deadline passed,
        so it no longer holds the one-pending-per-(room, user) slot."""
        rows = await self._conn.fetch(
            """UPDATE invitation.invitations SET status = 'expired', update_time = $3
               WHERE room_id = $1 AND user_id = $2 AND status = 'pending' AND expire_time <= $3
               RETURNING *""",
            room_id,
            user_id,
            now,
        )
        return [_invitation(r) for r in rows]

    async def expire_due(self, now: datetime, limit: int) -> list[Invitation]:
        """Write down up to `limit` expiries. Rows another transaction holds (an accept in
        flight, another replica's sweep) are skipped, not waited for."""
        rows = await self._conn.fetch(
            """WITH due AS (
                   SELECT invitation_id FROM invitation.invitations
                   WHERE status = 'pending' AND expire_time <= $1
                   ORDER BY expire_time LIMIT $2
                   FOR UPDATE SKIP LOCKED)
               UPDATE invitation.invitations i SET status = 'expired', update_time = $1
               FROM due WHERE i.invitation_id = due.invitation_id
               RETURNING i.*""",
            now,
            limit,
        )
        return [_invitation(r) for r in rows]

    async def lock_room(self, room_id: str) -> bool:
        """Serialize with every other writer of the room's invitations until the transaction
        ends; True when the room is closed (it ended)."""
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", room_id)
        return await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM invitation.closed_rooms WHERE room_id = $1)", room_id
        )

    async def close_room(self, room_id: str, now: datetime) -> None:
        await self._conn.execute(
            """INSERT INTO invitation.closed_rooms (room_id, close_time) VALUES ($1, $2)
               ON CONFLICT (room_id) DO NOTHING""",
            room_id,
            now,
        )

    async def cancel_room(self, room_id: str, user_id: str, now: datetime) -> list[Invitation]:
        """Resolve every pending invitation of a room (or only the user's, when given):
        cancelled, or expired when its deadline had already passed."""
        rows = await self._conn.fetch(
            """UPDATE invitation.invitations
               SET status = CASE WHEN expire_time <= $2 THEN 'expired' ELSE 'cancelled' END,
                   respond_time = CASE WHEN expire_time <= $2 THEN NULL ELSE $2 END,
                   update_time = $2
               WHERE room_id = $1 AND status = 'pending' AND ($3 = '' OR user_id = $3)
               RETURNING *""",
            room_id,
            now,
            user_id,
        )
        return [_invitation(r) for r in rows]

    async def latest_of(self, room_id: str, user_id: str) -> Invitation | None:
        row = await self._conn.fetchrow(
            """SELECT * FROM invitation.invitations WHERE room_id = $1 AND user_id = $2
               ORDER BY create_time DESC, invitation_id DESC LIMIT 1""",
            room_id,
            user_id,
        )
        return _invitation(row) if row else None

    async def _page(
        self,
        column: str,
        value: str,
        statuses: list[str],
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
        types: Sequence[str] = (),
    ) -> list[Invitation]:
        assert column in ("room_id", "user_id")
        rows = await self._conn.fetch(
            f"""SELECT * FROM invitation.invitations
                WHERE {column} = $1
                  AND (cardinality($2::text[]) = 0 OR {_EFFECTIVE_STATUS} = ANY($2::text[]))
                  AND ($4::timestamptz IS NULL OR (create_time, invitation_id) < ($4, $5))
                  AND (cardinality($7::text[]) = 0 OR type = ANY($7::text[]))
                ORDER BY create_time DESC, invitation_id DESC
                LIMIT $6""",  # noqa: S608
            value,
            statuses,
            now,
            after[0] if after else None,
            after[1] if after else "",
            limit,
            list(types),
        )
        return [_invitation(r) for r in rows]

    async def list_by_room(
        self,
        room_id: str,
        statuses: list[str],
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
        types: Sequence[str] = (),
    ) -> list[Invitation]:
        """A room's invitations and stage requests newest first, filtered by the status a
        reader sees and by type."""
        return await self._page("room_id", room_id, statuses, now, after, limit, types)

    async def list_by_invitee(
        self,
        user_id: str,
        statuses: list[str],
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Invitation]:
        """A user's invitations newest first, filtered by the status a reader sees."""
        return await self._page("user_id", user_id, statuses, now, after, limit)


class InvitationUnitOfWork(UnitOfWork):
    schema = "invitation"
    invitations: InvitationRepository

    def _open(self, connection: asyncpg.Connection) -> None:
        self.invitations = InvitationRepository(connection, self.seen)

    def side_effects(self, events: Sequence[DomainEvent]) -> SideEffects:
        return side_effects(events)
