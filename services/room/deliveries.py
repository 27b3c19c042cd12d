"""Deliveries of the room outbox (services.common.outbox): LiveKit side effects through the
broadcast service, pending invitations cancelled by the invitation service. The receivers are
idempotent; the relay retries a failed delivery with backoff until it succeeds. Deliveries
that mirror the room in LiveKit (a participant's permissions, the room's metadata) read the
room as it is when they run, one at a time per participant or room, so the last one applies
the last commit's state whatever order they ran in."""

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import grpc
from costream.broadcast.v1 import broadcast_service_pb2, broadcast_service_pb2_grpc
from costream.invitation.v1 import invitation_service_pb2, invitation_service_pb2_grpc

from services.common.db import Database
from services.common.outbox import Batched, Delivery
from services.common.timestamps import utcnow
from services.room import domain
from services.room.livekit.events import EGRESS_START_TIMEOUT
from services.room.repository import RoomRepository, RoomUnitOfWork
from services.room.servicer import ROLE, TRACK_SOURCE, room_to_proto
from services.room.side_effects import (
    CANCEL_ROOM_INVITATIONS,
    CANCEL_USER_INVITATIONS,
    DELETE_LIVEKIT_INGRESS,
    END_LIVEKIT_ROOM,
    MUTE_LIVEKIT_TRACKS,
    REMOVE_LIVEKIT_PARTICIPANT,
    START_RECORDING,
    STOP_RECORDING,
    SYNC_LIVEKIT_PARTICIPANT,
    SYNC_LIVEKIT_ROOM_METADATA,
)


def outbox_deliveries(
    database: Database,
    broadcast_channel: grpc.aio.Channel,
    invitation_channel: grpc.aio.Channel,
    *,
    egress_start_timeout: timedelta = EGRESS_START_TIMEOUT,
) -> dict[str, Delivery | Batched]:
    broadcast = broadcast_service_pb2_grpc.BroadcastServiceStub(broadcast_channel)
    invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation_channel)

    async def end_livekit_room(payload: dict) -> None:
        await broadcast.EndLiveKitRoom(
            broadcast_service_pb2.EndLiveKitRoomRequest(room_id=payload["room_id"])
        )

    async def remove_livekit_participant(payload: dict) -> None:
        if await seated_again(database, payload):
            return
        await broadcast.RemoveLiveKitParticipant(
            broadcast_service_pb2.RemoveLiveKitParticipantRequest(
                room_id=payload["room_id"], user_id=payload["user_id"]
            )
        )

    async def sync_livekit_participant(payload: dict) -> None:
        room_id, user_id = payload["room_id"], payload["user_id"]
        async with one_at_a_time(database, f"livekit-participant:{room_id}:{user_id}") as conn:
            place = await place_in_room(conn, room_id, user_id)
            if place is None:
                return
            role, live_chat_enabled = place
            await broadcast.UpdateLiveKitParticipant(
                broadcast_service_pb2.UpdateLiveKitParticipantRequest(
                    room_id=room_id,
                    user_id=user_id,
                    role=ROLE.to_proto(role),
                    live_chat_enabled=live_chat_enabled,
                )
            )

    async def mute_livekit_tracks(payload: dict) -> None:
        await broadcast.MuteLiveKitTracks(
            broadcast_service_pb2.MuteLiveKitTracksRequest(
                room_id=payload["room_id"],
                user_id=payload["user_id"],
                sources=[TRACK_SOURCE.to_proto(domain.TrackSource(s)) for s in payload["sources"]],
                muted=payload["muted"],
            )
        )

    async def sync_livekit_room_metadata(payloads: list[dict]) -> None:
        # Rows of one room delivered together: one call, with the room as it is now.
        room_id = payloads[0]["room_id"]
        async with one_at_a_time(database, f"livekit-room-metadata:{room_id}") as conn:
            view = await RoomRepository(conn, lambda room: room).view(room_id)
            if view is None or view.ended or view.deleted:
                return  # gone, or its LiveKit room is deleted
            await broadcast.UpdateLiveKitRoomMetadata(
                broadcast_service_pb2.UpdateLiveKitRoomMetadataRequest(room=room_to_proto(view))
            )

    async def start_recording(payload: dict) -> None:
        # One at a time per room, the attempt read as it is now: an attempt that is over, or
        # whose egress is known, starts nothing (a retry of this delivery included).
        room_id, recording_id = payload["room_id"], payload["recording_id"]
        async with one_at_a_time(database, f"livekit-recording:{room_id}") as conn:
            view = await RoomRepository(conn, lambda room: room).view(room_id)
            waiting = await conn.fetchval(
                """SELECT recording_status FROM room.rooms WHERE room_id = $1
                   AND recording_attempt::text = $2 AND egress_id IS NULL""",
                room_id,
                recording_id,
            )
            if view is None or waiting is None:
                return
            if waiting == domain.RecordingStatus.STARTING.value:
                try:
                    reply = await broadcast.StartLiveKitEgress(
                        broadcast_service_pb2.StartLiveKitEgressRequest(
                            room=room_to_proto(view),
                            recording_id=recording_id,
                            stop_egress_ids=payload["stop_egress_ids"],
                        )
                    )
                except grpc.aio.AioRpcError as error:
                    if error.code() is not grpc.StatusCode.FAILED_PRECONDITION:
                        raise
                    reply = None  # refused for good: retrying would not change it
            else:
                reply = None
        await start_answered(database, room_id, recording_id, waiting, reply, egress_start_timeout)

    async def stop_recording(payload: dict) -> None:
        await broadcast.StopLiveKitEgress(
            broadcast_service_pb2.StopLiveKitEgressRequest(
                room_id=payload["room_id"], egress_id=payload["egress_id"]
            )
        )

    async def delete_livekit_ingress(payload: dict) -> None:
        # Idempotent: an ingress LiveKit does not have is deleted already.
        await broadcast.DeleteLiveKitIngress(
            broadcast_service_pb2.DeleteLiveKitIngressRequest(ingress_id=payload["ingress_id"])
        )

    async def cancel_invitations(payload: dict) -> None:
        await invitations.CancelRoomInvitations(
            invitation_service_pb2.CancelRoomInvitationsRequest(
                room_id=payload["room_id"], user_id=payload.get("user_id", "")
            )
        )

    return {
        END_LIVEKIT_ROOM: end_livekit_room,
        REMOVE_LIVEKIT_PARTICIPANT: remove_livekit_participant,
        SYNC_LIVEKIT_PARTICIPANT: sync_livekit_participant,
        MUTE_LIVEKIT_TRACKS: mute_livekit_tracks,
        SYNC_LIVEKIT_ROOM_METADATA: Batched(sync_livekit_room_metadata, key="room_id"),
        START_RECORDING: start_recording,
        STOP_RECORDING: stop_recording,
        CANCEL_ROOM_INVITATIONS: cancel_invitations,
        CANCEL_USER_INVITATIONS: cancel_invitations,
        DELETE_LIVEKIT_INGRESS: delete_livekit_ingress,
    }


async def start_answered(
    database: Database,
    room_id: str,
    recording_id: str,
    waiting: str,
    reply: broadcast_service_pb2.StartLiveKitEgressResponse | None,
    egress_start_timeout: timedelta,
) -> None:
    """What a recording start delivery found, written to the room: the attempt was over before
    LiveKit was asked (`waiting` is not starting), LiveKit refused it (no reply), or its egress
    started; the egress then has the status its webhooks, if any came first, told of it."""
    async with RoomUnitOfWork(database) as uow:
        room = await uow.rooms.get(room_id, for_update=True)
        if room is None:
            return
        now = utcnow()
        if waiting != domain.RecordingStatus.STARTING.value:
            room.egress_not_started(recording_id)
        elif reply is None:
            room.egress_refused(recording_id)
        else:
            status, _ = await uow.livekit.egress_seen(room_id, reply.egress_id, reply.egress_status)
            room.egress_started(
                recording_id,
                reply.egress_id,
                status,
                reply.live_playback_url,
                now + egress_start_timeout,
            )
        await uow.rooms.save(room, now)
        await uow.commit()


async def seated_again(database: Database, payload: dict) -> bool:
    """A removal written before the user took a seat again, not banned now: late, so it
    does nothing (LiveKit would otherwise put out a co-host the room has seated since)."""
    since = payload.get("since")
    if since is None:
        return False
    return await database.pool.fetchval(
        """SELECT EXISTS (SELECT 1 FROM room.participants
                          WHERE room_id = $1 AND user_id = $2 AND join_time > $3)
              AND NOT EXISTS (SELECT 1 FROM room.bans
                              WHERE room_id = $1 AND user_id = $2
                                AND (expire_time IS NULL OR expire_time > now()))""",
        payload["room_id"],
        payload["user_id"],
        datetime.fromisoformat(since),
    )


@contextlib.asynccontextmanager
async def one_at_a_time(database: Database, key: str) -> AsyncIterator[asyncpg.Connection]:
    """Deliveries of one key, one at a time across replicas (a transaction's advisory lock,
    held while LiveKit is told): each reads the state after the one before was sent, so the
    last one sends what the last commit left, whatever order they ran in."""
    async with database.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        yield conn


async def place_in_room(
    conn: asyncpg.Connection, room_id: str, user_id: str
) -> tuple[domain.Role | None, bool] | None:
    """The user's place on stage now (None: a viewer) and whether the room's chat is on;
    None when LiveKit has nothing to change: the room is over or gone, or the user is banned
    (a ban's removal puts them out)."""
    row = await conn.fetchrow(
        """SELECT r.status IN ('ended', 'recorded') OR r.deleted AS closed, r.live_chat_enabled,
                  (SELECT p.role FROM room.participants p
                   WHERE p.room_id = r.room_id AND p.user_id = $2) AS role,
                  EXISTS (SELECT 1 FROM room.bans b
                          WHERE b.room_id = r.room_id AND b.user_id = $2
                            AND (b.expire_time IS NULL OR b.expire_time > now())) AS banned
           FROM room.rooms r WHERE r.room_id = $1""",
        room_id,
        user_id,
    )
    if row is None or row["closed"] or row["banned"]:
        return None
    return (domain.Role(row["role"]) if row["role"] else None), row["live_chat_enabled"]
