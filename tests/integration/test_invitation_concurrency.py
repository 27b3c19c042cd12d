"""Seats under contention: many invitees accepting at once never overfill a room."""

import asyncio

import grpc
from costream.invitation.v1 import (
    invitation_pb2,
    invitation_service_pb2,
    invitation_service_pb2_grpc,
)
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc

from tests.support import reason_of, unique, user_metadata

INVITEES = 40
ROUNDS = 20
INITIAL_CO_HOSTS = 5  # of 8 co-host seats (SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9): 3 free


async def test_forty_accepts_for_three_free_seats_seat_exactly_three_and_leave_the_rest_pending(
    room_service, invitation_service
):
    async with (
        grpc.aio.insecure_channel(room_service.address) as room_channel,
        grpc.aio.insecure_channel(invitation_service.address) as invitation_channel,
    ):
        rooms = room_service_pb2_grpc.RoomServiceStub(room_channel)
        invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation_channel)
        for _ in range(ROUNDS):
            host = unique("host")
            initial = [unique("co") for _ in range(INITIAL_CO_HOSTS)]
            room = await rooms.CreateRoom(
                room_service_pb2.CreateRoomRequest(
                    title="Crowded",
                    seat_template=room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9,
                    co_host_user_ids=initial,
                ),
                metadata=user_metadata(host),
            )
            guests = [unique("guest") for _ in range(INVITEES)]
            sent = await asyncio.gather(
                *(
                    invitations.CreateInvitation(
                        invitation_service_pb2.CreateInvitationRequest(
                            room_id=room.room_id, user_id=guest
                        ),
                        metadata=user_metadata(host),
                    )
                    for guest in guests
                )
            )
            results = await asyncio.gather(
                *(
                    invitations.AcceptInvitation(
                        invitation_service_pb2.AcceptInvitationRequest(
                            invitation_id=inv.invitation_id
                        ),
                        metadata=user_metadata(inv.user_id),
                    )
                    for inv in sent
                ),
                return_exceptions=True,
            )
            winners = {r.user_id for r in results if isinstance(r, invitation_pb2.Invitation)}
            losers = [r for r in results if not isinstance(r, invitation_pb2.Invitation)]
            assert len(winners) == 3
            assert len(losers) == INVITEES - 3
            for error in losers:
                assert isinstance(error, grpc.aio.AioRpcError), error
                assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
                assert reason_of(error) == "SEAT_LIMIT_REACHED"

            got = await rooms.GetRoom(
                room_service_pb2.GetRoomRequest(room_id=room.room_id),
                metadata=user_metadata(host),
            )
            co_hosts = {
                p.user_id for p in got.participants if p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST
            }
            assert co_hosts == set(initial) | winners
            listed = await invitations.ListRoomInvitations(
                invitation_service_pb2.ListRoomInvitationsRequest(
                    room_id=room.room_id, page_size=100
                ),
                metadata=user_metadata(host),
            )
            by_status: dict[int, set[str]] = {}
            for inv in listed.invitations:
                by_status.setdefault(inv.status, set()).add(inv.user_id)
            assert by_status == {
                invitation_pb2.INVITATION_STATUS_ACCEPTED: winners,
                invitation_pb2.INVITATION_STATUS_PENDING: set(guests) - winners,
            }
