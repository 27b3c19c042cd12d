"""How the room client splits a BatchGetRoomAccess reply into each user's answer: the access
as GetRoomAccess gives it, or the very error GetRoomAccess would have raised."""

import grpc
import pytest
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from services.common.errors import status_from_rpc_error
from services.common.server import status_details
from services.room import errors
from services.room.client import RoomAccess, access_answers
from services.room.errors import user_banned
from tests.support import reason_of

ROOM = room_pb2.Room(
    room_id="r1",
    host_user_id="host",
    status=room_pb2.ROOM_STATUS_LIVE,
    live_chat_enabled=True,
)


def test_each_user_gets_their_own_role_and_ban():
    reply = rs.BatchGetRoomAccessResponse(
        room=ROOM,
        users=[
            rs.UserRoomAccess(user_id="host", role=room_pb2.PARTICIPANT_ROLE_HOST),
            rs.UserRoomAccess(user_id="co", role=room_pb2.PARTICIPANT_ROLE_CO_HOST),
            rs.UserRoomAccess(user_id="bad", banned=True),
            rs.UserRoomAccess(user_id="viewer"),
        ],
    )
    live = {"room_id": "r1", "host_user_id": "host", "live_chat_enabled": True}
    assert access_answers(["host", "co", "bad", "viewer"], reply) == [
        RoomAccess(**live, role="host", user_id="host"),
        RoomAccess(**live, role="co_host", user_id="co"),
        RoomAccess(**live, banned=True, user_id="bad"),
        RoomAccess(**live, user_id="viewer"),
    ]


@pytest.mark.parametrize(
    ("status", "deleted", "ended"),
    [
        (room_pb2.ROOM_STATUS_ENDED, False, True),
        (room_pb2.ROOM_STATUS_RECORDED, False, True),
        (room_pb2.ROOM_STATUS_WAITING_RECONNECT, False, False),
        (room_pb2.ROOM_STATUS_ENDED, True, True),
    ],
)
def test_an_ended_or_deleted_room_says_so_to_every_user(status, deleted, ended):
    room = room_pb2.Room(room_id="r1", host_user_id="host", status=status, deleted=deleted)
    reply = rs.BatchGetRoomAccessResponse(room=room, users=[rs.UserRoomAccess(user_id="v")])
    [access] = access_answers(["v"], reply)
    assert (access.ended, access.deleted) == (ended, deleted)


def test_a_users_error_is_raised_as_the_peer_would_have_failed_the_call():
    not_found = errors.room_not_found("r1")
    reply = rs.BatchGetRoomAccessResponse(
        users=[rs.UserRoomAccess(user_id="v", error=status_details(not_found))]
    )
    [error] = access_answers(["v"], reply)
    assert isinstance(error, grpc.aio.AioRpcError)
    assert (error.code(), reason_of(error)) == (grpc.StatusCode.NOT_FOUND, "ROOM_NOT_FOUND")
    assert error.details() == not_found.message
    # Passed on by the next service exactly as the error it came from.
    passed_on = status_from_rpc_error(error)
    assert passed_on.trailing_metadata == (("grpc-status-details-bin", status_details(not_found)),)


def test_errors_and_answers_stay_with_their_users():
    reply = rs.BatchGetRoomAccessResponse(
        room=ROOM,
        users=[
            rs.UserRoomAccess(user_id="a", error=status_details(user_banned("a"))),
            rs.UserRoomAccess(user_id="b"),
        ],
    )
    first, second = access_answers(["a", "b"], reply)
    assert isinstance(first, grpc.aio.AioRpcError) and reason_of(first) == "USER_BANNED"
    assert second == RoomAccess(
        room_id="r1", host_user_id="host", live_chat_enabled=True, user_id="b"
    )


def test_a_reply_for_other_users_than_asked_is_refused():
    reply = rs.BatchGetRoomAccessResponse(room=ROOM, users=[rs.UserRoomAccess(user_id="b")])
    with pytest.raises(RuntimeError):
        access_answers(["a"], reply)
    with pytest.raises(RuntimeError):
        access_answers(["b", "b"], reply)
