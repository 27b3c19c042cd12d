"""SQL for the invitation aggregate (asyncpg, $n parameters). One class per aggregate."""

from datetime import datetime

import asyncpg

from services.common.db import UnitOfWork
from services.invitation.domain import Invitation, InvitationStatus, InvitationType

INVITATION_EVENTS_CHANNEL = "invitation_events"

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
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def invitation_from_json(data: dict) -> Invitation:
    """An invitation row as to_jsonb wrote it into an event (see notify)."""
    return Invitation(
        invitation_id=data["invitation_id"],
        room_id=data["room_id"],
        user_id=data["user_id"],
        inviter_user_id=data["inviter_user_id"],
        status=InvitationStatus(data["status"]),
        create_time=datetime.fromisoformat(data["create_time"]),
        expire_time=datetime.fromisoformat(data["expire_time"]),
        respond_time=_time(data["respond_time"]),
        type=InvitationType(data["type"]),
    )


class InvitationRepository:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def get(self, invitation_id: str, *, for_update: bool = False) -> Invitation | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM invitation.invitations WHERE invitation_id = $1"  # noqa: S608
            + (" FOR UPDATE" if for_update else ""),
            invitation_id,
        )
        return _invitation(row) if row else None

    async def find_by_request(self, inviter_user_id: str, request_id: str) -> Invitation | None:
        row = await self._conn.fetchrow(
            """SELECT * FROM invitation.invitations
               WHERE inviter_user_id = $1 AND create_request_id = $2""",
            inviter_user_id,
            request_id,
        )
        return _invitation(row) if row else None

    async def insert(self, invitation: Invitation, request_id: str, now: datetime) -> None:
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

    async def save_resolution(self, invitation: Invitation, now: datetime) -> bool:
        """Write down how a pending invitation resolved; False when it was not pending any
        more (the row is locked by the caller, so this is a guard, not the mechanism)."""
        status = await self._conn.execute(
            """UPDATE invitation.invitations
               SET status = $2, respond_time = $3, update_time = $4
               WHERE invitation_id = $1 AND status = 'pending'""",
            invitation.invitation_id,
            invitation.status.value,
            invitation.respond_time,
            now,
        )
        return status != "UPDATE 0"

    async def expire_stale(self, room_id: str, user_id: str, now: datetime) -> list[str]:
        """Write down the expiry of a (room, user)'s pending invitation whose deadline passed,
        so it no longer holds the one-pending-per-(room, user) slot."""
        rows = await self._conn.fetch(
            """UPDATE invitation.invitations SET status = 'expired', update_time = $3
               WHERE room_id = $1 AND user_id = $2 AND status = 'pending' AND expire_time <= $3
               RETURNING invitation_id""",
            room_id,
            user_id,
            now,
        )
        return [r["invitation_id"] for r in rows]

    async def expire_due(self, now: datetime, limit: int) -> list[str]:
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
               RETURNING i.invitation_id""",
            now,
            limit,
        )
        return [r["invitation_id"] for r in rows]

    async def cancel_room(self, room_id: str, now: datetime) -> tuple[list[str], list[str]]:
        """Resolve every pending invitation of a room: cancelled, or expired when its deadline
        had already passed. Returns (cancelled ids, expired ids)."""
        rows = await self._conn.fetch(
            """UPDATE invitation.invitations
               SET status = CASE WHEN expire_time <= $2 THEN 'expired' ELSE 'cancelled' END,
                   respond_time = CASE WHEN expire_time <= $2 THEN NULL ELSE $2 END,
                   update_time = $2
               WHERE room_id = $1 AND status = 'pending'
               RETURNING invitation_id, status""",
            room_id,
            now,
        )
        cancelled = [r["invitation_id"] for r in rows if r["status"] == "cancelled"]
        expired = [r["invitation_id"] for r in rows if r["status"] == "expired"]
        return cancelled, expired

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
    ) -> list[Invitation]:
        assert column in ("room_id", "user_id")
        rows = await self._conn.fetch(
            f"""SELECT * FROM invitation.invitations
                WHERE {column} = $1
                  AND (cardinality($2::text[]) = 0 OR {_EFFECTIVE_STATUS} = ANY($2::text[]))
                  AND ($4::timestamptz IS NULL OR (create_time, invitation_id) < ($4, $5))
                ORDER BY create_time DESC, invitation_id DESC
                LIMIT $6""",  # noqa: S608
            value,
            statuses,
            now,
            after[0] if after else None,
            after[1] if after else "",
            limit,
        )
        return [_invitation(r) for r in rows]

    async def list_by_room(
        self,
        room_id: str,
        statuses: list[str],
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Invitation]:
        """A room's invitations newest first, filtered by the status a reader sees."""
        return await self._page("room_id", room_id, statuses, now, after, limit)

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

    # --- events ---

    async def notify(self, invitation_ids: list[str], kind: str) -> None:
        """Tell every replica's watchers, with the invitations as written, once the
        transaction commits. One statement for any number of invitations."""
        if not invitation_ids:
            return
        await self._conn.execute(
            """SELECT pg_notify($1, jsonb_build_object('kind', $2::text,
                                                       'invitation', to_jsonb(i))::text)
               FROM invitation.invitations i WHERE invitation_id = ANY($3::text[])""",
            INVITATION_EVENTS_CHANNEL,
            kind,
            invitation_ids,
        )


class InvitationUnitOfWork(UnitOfWork):
    invitations: InvitationRepository

    def _open(self, connection: asyncpg.Connection) -> None:
        self.invitations = InvitationRepository(connection)
