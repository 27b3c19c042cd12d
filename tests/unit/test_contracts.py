"""The contract of shared/spec/api.md exists in the generated descriptors, and gen/python is
what `make gen` makes from proto/ today."""

import filecmp
import importlib
from pathlib import Path

import pytest

from tools import codegen

ROOT = Path(__file__).resolve().parents[2]

# Service → RPCs, as named in api.md.
RPCS = {
    "costream.room.v1.RoomService": [
        "CreateRoom", "GetRoom", "BatchGetRooms", "ListRooms", "UpdateRoom", "DeleteRoom",
        "StopRoom", "DismissRoom", "RemoveParticipant", "LeaveRoom", "BanUser", "UnbanUser",
        "ListBannedUsers", "AddCoHost", "ApplyLiveKitEvent", "WatchRoom", "AddModerator",
        "RemoveModerator", "MuteParticipant", "ListViewers",
    ],
    "costream.post.v1.PostService": [
        "CreateRoomPost", "GetPost", "ListPosts", "ListPostsByRoom", "UpdatePost", "DeletePost",
    ],
    "costream.invitation.v1.InvitationService": [
        "CreateInvitation", "GetInvitation", "ListRoomInvitations", "ListMyInvitations",
        "GetMyRoomInvitation", "AcceptInvitation", "RejectInvitation", "CancelInvitation",
        "WatchMyInvitations", "RequestStage", "ApproveStageRequest", "DeclineStageRequest",
        "WatchRoomInvitations",
    ],
    "costream.broadcast.v1.BroadcastService": ["GetBroadcastData", "GetViewerData"],
    "costream.gateway.v1.GatewayService": [
        "CreateLiveRoomPost", "GetRoomView", "ListLiveRoomPosts", "WhoAmI",
    ],
}  # fmt: skip
# Every client-callable RPC is also on the gateway, with the same messages.
INTERNAL = {"AddCoHost", "ApplyLiveKitEvent"}

# Message → fields, as named in api.md.
FIELDS = {
    "costream.room.v1.Room": [
        "room_id", "type", "status", "title", "description", "thumbnail_file_id", "metadata",
        "live_chat_enabled", "live_channel_id", "parent_room_id", "seat_template",
        "max_co_hosts", "participants", "host_user_id", "stats", "end_reason",
        "recorded_playbacks", "create_time", "update_time", "live_time", "end_time",
        "recorded_time", "deleted", "moderator_user_ids",
    ],
    "costream.room.v1.Participant": ["user_id", "role", "join_time", "connected"],
    "costream.room.v1.RoomStats": ["viewer_count", "publisher_count", "peak_viewer_count"],
    "costream.room.v1.RecordedPlayback": ["url", "thumbnail_url", "duration"],
    "costream.room.v1.RoomEvent": ["room", "kind"],
    "costream.room.v1.CreateRoomRequest": [
        "room_id", "title", "description", "thumbnail_file_id", "metadata", "live_chat_enabled",
        "parent_room_id", "type", "seat_template", "co_host_user_ids", "request_id",
    ],
    "costream.room.v1.GetRoomRequest": ["room_id"],
    "costream.room.v1.BatchGetRoomsRequest": ["room_ids"],
    "costream.room.v1.BatchGetRoomsResponse": ["rooms"],
    "costream.room.v1.ListRoomsRequest": [
        "statuses", "types", "host_user_id", "parent_room_id", "order_by", "include_deleted",
        "page_size", "page_token",
    ],
    "costream.room.v1.ListRoomsResponse": ["rooms", "next_page_token"],
    "costream.room.v1.UpdateRoomRequest": ["room", "update_mask"],
    "costream.room.v1.DeleteRoomRequest": ["room_id"],
    "costream.room.v1.StopRoomRequest": ["room_id"],
    "costream.room.v1.DismissRoomRequest": ["room_id", "reason"],
    "costream.room.v1.RemoveParticipantRequest": ["room_id", "user_id"],
    "costream.room.v1.LeaveRoomRequest": ["room_id"],
    "costream.room.v1.BanUserRequest": ["room_id", "user_id", "duration", "reason"],
    "costream.room.v1.UnbanUserRequest": ["room_id", "user_id"],
    "costream.room.v1.ListBannedUsersRequest": ["room_id", "page_size", "page_token"],
    "costream.room.v1.ListBannedUsersResponse": ["bans", "next_page_token"],
    "costream.room.v1.AddCoHostRequest": ["room_id", "user_id", "invitation_id"],
    "costream.room.v1.ApplyLiveKitEventResponse": ["applied"],
    "costream.room.v1.WatchRoomRequest": ["room_id"],
    "costream.room.v1.AddModeratorRequest": ["room_id", "user_id"],
    "costream.room.v1.RemoveModeratorRequest": ["room_id", "user_id"],
    "costream.room.v1.MuteParticipantRequest": ["room_id", "user_id", "sources", "muted"],
    "costream.room.v1.ListViewersRequest": ["room_id", "page_size", "page_token"],
    "costream.room.v1.ListViewersResponse": ["viewers", "next_page_token"],
    "costream.room.v1.Viewer": ["user_id", "join_time"],
    "costream.room.v1.RoomAccess": ["room", "role", "banned"],
    "costream.post.v1.Post": [
        "post_id", "data_type", "room_id", "text", "title", "target_type", "target_id",
        "metadata", "mention_user_ids", "hashtags", "creator_id", "create_time", "update_time",
        "deleted",
    ],
    "costream.post.v1.CreateRoomPostRequest": [
        "room_id", "text", "title", "target_type", "target_id", "metadata", "mention_user_ids",
        "hashtags", "request_id",
    ],
    "costream.post.v1.GetPostRequest": ["post_id"],
    "costream.post.v1.ListPostsRequest": [
        "target_type", "target_id", "data_type", "page_size", "page_token",
    ],
    "costream.post.v1.ListPostsResponse": ["posts", "next_page_token"],
    "costream.post.v1.ListPostsByRoomRequest": ["room_ids"],
    "costream.post.v1.ListPostsByRoomResponse": ["posts"],
    "costream.post.v1.UpdatePostRequest": ["post", "update_mask"],
    "costream.post.v1.DeletePostRequest": ["post_id"],
    "costream.invitation.v1.Invitation": [
        "invitation_id", "type", "room_id", "user_id", "inviter_user_id", "status",
        "create_time", "respond_time", "expire_time", "responder_user_id",
    ],
    "costream.invitation.v1.InvitationEvent": ["invitation", "kind"],
    "costream.invitation.v1.CreateInvitationRequest": ["room_id", "user_id", "request_id"],
    "costream.invitation.v1.GetInvitationRequest": ["invitation_id"],
    "costream.invitation.v1.ListRoomInvitationsRequest": [
        "room_id", "statuses", "types", "page_size", "page_token",
    ],
    "costream.invitation.v1.ListRoomInvitationsResponse": ["invitations", "next_page_token"],
    "costream.invitation.v1.ListMyInvitationsRequest": ["statuses", "page_size", "page_token"],
    "costream.invitation.v1.ListMyInvitationsResponse": ["invitations", "next_page_token"],
    "costream.invitation.v1.GetMyRoomInvitationRequest": ["room_id"],
    "costream.invitation.v1.AcceptInvitationRequest": ["invitation_id"],
    "costream.invitation.v1.RejectInvitationRequest": ["invitation_id"],
    "costream.invitation.v1.CancelInvitationRequest": ["invitation_id"],
    "costream.invitation.v1.RequestStageRequest": ["room_id", "request_id"],
    "costream.invitation.v1.ApproveStageRequestRequest": ["invitation_id"],
    "costream.invitation.v1.DeclineStageRequestRequest": ["invitation_id"],
    "costream.invitation.v1.WatchRoomInvitationsRequest": ["room_id"],
    "costream.broadcast.v1.GetBroadcastDataRequest": ["room_id"],
    "costream.broadcast.v1.BroadcastData": ["co_hosts"],
    "costream.broadcast.v1.CoHostsBroadcastData": ["co_host_token", "co_host_url", "expire_time"],
    "costream.broadcast.v1.GetViewerDataRequest": ["room_id"],
    "costream.broadcast.v1.ViewerData": ["viewer_token", "viewer_url", "expire_time"],
    "costream.gateway.v1.CreateLiveRoomPostResponse": ["room", "post"],
    "costream.gateway.v1.GetRoomViewRequest": ["room_id"],
    "costream.gateway.v1.RoomView": ["room", "post", "my_role", "my_invitation"],
    "costream.gateway.v1.ListLiveRoomPostsRequest": ["page_size", "page_token"],
    "costream.gateway.v1.ListLiveRoomPostsResponse": ["items", "next_page_token"],
    "costream.gateway.v1.LiveRoomPost": ["post", "room"],
    "costream.gateway.v1.WhoAmIResponse": ["user_id", "roles"],
}  # fmt: skip

ENUMS = {
    "costream.room.v1.RoomType": ["ROOM_TYPE_UNSPECIFIED", "ROOM_TYPE_CO_HOSTS",
                                  "ROOM_TYPE_DIRECT_STREAMING"],
    "costream.room.v1.RoomStatus": [
        "ROOM_STATUS_UNSPECIFIED", "ROOM_STATUS_IDLE", "ROOM_STATUS_LIVE",
        "ROOM_STATUS_WAITING_RECONNECT", "ROOM_STATUS_ENDED", "ROOM_STATUS_RECORDED",
    ],
    "costream.room.v1.ParticipantRole": ["PARTICIPANT_ROLE_HOST", "PARTICIPANT_ROLE_CO_HOST"],
    "costream.room.v1.EndReason": [
        "END_REASON_STOPPED_BY_HOST", "END_REASON_DISMISSED", "END_REASON_RECONNECT_TIMEOUT",
        "END_REASON_MAX_DURATION", "END_REASON_LIVEKIT_ROOM_FINISHED", "END_REASON_DELETED",
    ],
    "costream.room.v1.SeatTemplate": [
        "SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9", "SEAT_TEMPLATE_VIDEO_DYNAMIC_FLOAT_7",
        "SEAT_TEMPLATE_VIDEO_FIXED_GRID_9", "SEAT_TEMPLATE_VIDEO_FIXED_FLOAT_7",
        "SEAT_TEMPLATE_VIDEO_LANDSCAPE_4",
    ],
    "costream.room.v1.TrackSource": [
        "TRACK_SOURCE_CAMERA", "TRACK_SOURCE_MICROPHONE", "TRACK_SOURCE_SCREEN_SHARE",
        "TRACK_SOURCE_SCREEN_SHARE_AUDIO",
    ],
    "costream.post.v1.PostDataType": ["POST_DATA_TYPE_ROOM"],
    "costream.post.v1.TargetType": ["TARGET_TYPE_USER", "TARGET_TYPE_COMMUNITY"],
    "costream.invitation.v1.InvitationType": [
        "INVITATION_TYPE_LIVESTREAM_CO_HOST", "INVITATION_TYPE_STAGE_REQUEST",
    ],
    "costream.invitation.v1.InvitationStatus": [
        "INVITATION_STATUS_PENDING", "INVITATION_STATUS_ACCEPTED", "INVITATION_STATUS_REJECTED",
        "INVITATION_STATUS_CANCELLED", "INVITATION_STATUS_EXPIRED",
    ],
}  # fmt: skip

MODULES = [
    f"costream.{area}.v1.{name}_pb2"
    for area in ("room", "post", "invitation", "broadcast", "gateway")
    for name in (area, f"{area}_service")
]


@pytest.fixture(scope="module")
def pool():
    from google.protobuf import descriptor_pool

    for module in MODULES:
        importlib.import_module(module)
    return descriptor_pool.Default()


@pytest.mark.parametrize("service", sorted(RPCS))
def test_every_rpc_of_the_contract_exists(pool, service):
    methods = pool.FindServiceByName(service).methods_by_name
    assert set(RPCS[service]) <= set(methods)


def test_the_gateway_exposes_every_client_rpc_with_the_same_messages(pool):
    gateway = pool.FindServiceByName("costream.gateway.v1.GatewayService").methods_by_name
    for service in RPCS:
        if service.endswith("GatewayService"):
            continue
        for name, method in pool.FindServiceByName(service).methods_by_name.items():
            if name in INTERNAL or name not in RPCS[service]:
                continue
            assert name in gateway, name
            assert gateway[name].input_type is method.input_type
            assert gateway[name].output_type is method.output_type
            assert gateway[name].server_streaming == method.server_streaming


@pytest.mark.parametrize("message", sorted(FIELDS))
def test_every_field_of_the_contract_exists(pool, message):
    assert set(FIELDS[message]) <= set(pool.FindMessageTypeByName(message).fields_by_name)


@pytest.mark.parametrize("enum", sorted(ENUMS))
def test_every_enum_value_of_the_contract_exists_and_zero_is_unspecified(pool, enum):
    descriptor = pool.FindEnumTypeByName(enum)
    assert set(ENUMS[enum]) <= set(descriptor.values_by_name)
    assert descriptor.values_by_number[0].name.endswith("_UNSPECIFIED")


def test_generated_code_is_what_make_gen_makes_now(tmp_path):
    codegen.generate(tmp_path)
    committed = ROOT / "gen" / "python"
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    current = sorted(
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert fresh == current, "gen/python is stale: run `make gen`"
    stale = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, committed / p, shallow=False)]
    assert not stale, f"gen/python is stale: run `make gen` ({stale})"
