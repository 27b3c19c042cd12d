"""Expiry: visible on read the moment the deadline passes, written down by a sweeper that is
safe with replicas, and never blocking a new invitation. An invitation service with a 1 s TTL
runs on its own port next to the shared one."""

import asyncio

import asyncpg
import grpc
import pytest
from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)
from costream.room.v1 import room_service_pb2, room_service_pb2_grpc

from services.common.db import Database
from services.invitation import handlers
from services.invitation.app import build
from services.invitation.repository import InvitationUnitOfWork
from tests.conftest import RunningService
from tests.support import reason_of, unique, user_metadata
from tools.devstack import free_port

PENDING = invitation_pb2.INVITATION_STATUS_PENDING
EXPIRED = invitation_pb2.INVITATION_STATUS_EXPIRED
TTL = 1


@pytest.fixture(scope="module")
async def short_ttl_invitations(make_settings, ports, room_service):
    settings = make_settings(
        "invitation", invitation_ttl=TTL, grpc_ports={**ports, "invitation": free_port()}
    )
    # The sweeper runs once at start and then never during these tests: they sweep by hand.
    service = await RunningService(build(settings, sweep_seconds=3600)).start()
    yield service
    await service.close()


@pytest.fixture(scope="module")
async def database(database_url):
    db = Database(database_url, max_size=4)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
async def stubs(room_service, short_ttl_invitations):
    async with (
        grpc.aio.insecure_channel(room_service.address) as room,
        grpc.aio.insecure_channel(short_ttl_invitations.address) as invitation,
    ):
        yield (
            room_service_pb2_grpc.RoomServiceStub(room),
            invitation_service_pb2_grpc.InvitationServiceStub(invitation),
        )


async def new_room(rooms, host: str) -> str:
    room = await rooms.CreateRoom(
        room_service_pb2.CreateRoomRequest(title="Brief"), metadata=user_metadata(host)
    )
    return room.room_id


async def invite(invitations, host: str, room_id: str, user_id: str) -> invitation_pb2.Invitation:
    return await invitations.CreateInvitation(
        invitation_service_pb2.CreateInvitationRequest(room_id=room_id, user_id=user_id),
        metadata=user_metadata(host),
    )


async def stored_status(database_url: str, invitation_id: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT status FROM invitation.invitations WHERE invitation_id = $1", invitation_id
        )
    finally:
        await conn.close()


async def test_an_expired_invitation_reads_expired_cannot_be_accepted_and_blocks_nothing(
    stubs, database_url
):
    rooms, invitations = stubs
    host, guest = unique("host"), unique("guest")
    room_id = await new_room(rooms, host)
    first = await invite(invitations, host, room_id, guest)
    assert first.status == PENDING
    assert first.expire_time.ToSeconds() - first.create_time.ToSeconds() == TTL
    await asyncio.sleep(TTL + 0.1)
    assert await stored_status(database_url, first.invitation_id) == "pending"  # not swept

    got = await invitations.GetInvitation(
        invitation_service_pb2.GetInvitationRequest(invitation_id=first.invitation_id),
        metadata=user_metadata(guest),
    )
    assert got.status == EXPIRED
    assert not got.HasField("respond_time")
    mine = await invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(), metadata=user_metadata(guest)
    )
    assert list(mine.invitations) == []
    expired = await invitations.ListMyInvitations(
        invitation_service_pb2.ListMyInvitationsRequest(statuses=[EXPIRED]),
        metadata=user_metadata(guest),
    )
    assert [i.invitation_id for i in expired.invitations] == [first.invitation_id]

    for move, user in [
        (invitations.AcceptInvitation, guest),
        (invitations.RejectInvitation, guest),
        (invitations.CancelInvitation, host),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await move(
                invitation_service_pb2.AcceptInvitationRequest(invitation_id=first.invitation_id),
                metadata=user_metadata(user),
            )
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(e.value) == "INVITATION_NOT_PENDING"
    room = await rooms.GetRoom(
        room_service_pb2.GetRoomRequest(room_id=room_id), metadata=user_metadata(host)
    )
    assert guest not in {p.user_id for p in room.participants}

    # The expired-but-unswept row does not hold the one-pending-per-(room, user) slot.
    second = await invite(invitations, host, room_id, guest)
    assert second.status == PENDING and second.invitation_id != first.invitation_id
    assert await stored_status(database_url, first.invitation_id) == "expired"


async def test_sweepers_on_several_replicas_write_each_expiry_down_once(
    stubs, database, database_url
):
    rooms, invitations = stubs
    host = unique("host")
    room_id = await new_room(rooms, host)
    sent = await asyncio.gather(
        *(invite(invitations, host, room_id, unique("guest")) for _ in range(30))
    )
    await asyncio.sleep(TTL + 0.1)
    # Four replicas sweep at once, in batches smaller than the work; then until nothing's due.
    batches = await asyncio.gather(
        *(
            handlers.expire_pending_invitations(InvitationUnitOfWork(database), limit=7)
            for _ in range(4)
        )
    )
    while batch := await handlers.expire_pending_invitations(
        InvitationUnitOfWork(database), limit=7
    ):
        batches.append(batch)
    swept = [i for batch in batches for i in batch]
    assert len(swept) == len(set(swept))  # nothing written down twice
    assert {inv.invitation_id for inv in sent} <= set(swept)
    for inv in sent:
        assert await stored_status(database_url, inv.invitation_id) == "expired"
        got = await invitations.GetInvitation(
            invitation_service_pb2.GetInvitationRequest(invitation_id=inv.invitation_id),
            metadata=user_metadata(host),
        )
        assert got.status == EXPIRED and not got.HasField("respond_time")


async def test_cancel_room_invitations_leaves_an_expired_one_expired(stubs, database):
    rooms, invitations = stubs
    host, guest = unique("host"), unique("guest")
    room_id = await new_room(rooms, host)
    inv = await invite(invitations, host, room_id, guest)
    await asyncio.sleep(TTL + 0.1)
    assert await handlers.cancel_room_invitations(room_id, "", InvitationUnitOfWork(database)) == 0
    got = await invitations.GetInvitation(
        invitation_service_pb2.GetInvitationRequest(invitation_id=inv.invitation_id),
        metadata=user_metadata(guest),
    )
    assert got.status == EXPIRED
