"""The room service's errors, made here only; peers (post, invitation, broadcast) import them
when they refuse in the room's terms."""

from services.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

ROOM_NOT_FOUND = "ROOM_NOT_FOUND"
ROOM_ENDED = "ROOM_ENDED"
NOT_ROOM_HOST = "NOT_ROOM_HOST"
NOT_ROOM_MODERATOR = "NOT_ROOM_MODERATOR"
NOT_ON_STAGE = "NOT_ON_STAGE"
USER_BANNED = "USER_BANNED"


def room_not_found(room_id: str) -> NotFound:
    return NotFound(ROOM_NOT_FOUND, f"room {room_id!r} not found", metadata={"room_id": room_id})


def room_id_taken(room_id: str) -> AlreadyExists:
    return AlreadyExists(
        "ROOM_ID_TAKEN", f"room id {room_id!r} is taken", metadata={"room_id": room_id}
    )


def room_ended(room_id: str) -> FailedPrecondition:
    return FailedPrecondition(ROOM_ENDED, f"room {room_id} has ended")


def room_in_use(room_id: str) -> FailedPrecondition:
    return FailedPrecondition("ROOM_IN_USE", f"room {room_id} was used; delete it instead")


def not_room_host() -> PermissionDenied:
    return PermissionDenied(NOT_ROOM_HOST, "only the room's host may do this")


def not_room_moderator() -> PermissionDenied:
    return PermissionDenied(
        NOT_ROOM_MODERATOR, "only the room's host or one of its moderators may do this"
    )


def moderator_limit_reached(max_moderators: int) -> FailedPrecondition:
    return FailedPrecondition(
        "MODERATOR_LIMIT_REACHED",
        f"a room has at most {max_moderators} moderators",
        metadata={"max_moderators": str(max_moderators)},
    )


def host_cannot_moderate() -> InvalidArgument:
    return InvalidArgument([("user_id", "the host moderates their room already")])


def not_on_stage(user_id: str) -> FailedPrecondition:
    """Someone else asked to take a user off stage who is not on it."""
    return FailedPrecondition(NOT_ON_STAGE, f"{user_id} is not a co-host of this room")


def caller_not_on_stage(action: str) -> PermissionDenied:
    """The caller asked for what only the host and co-hosts may do."""
    return PermissionDenied(NOT_ON_STAGE, f"only the host and co-hosts {action}")


def host_cannot_leave() -> FailedPrecondition:
    return FailedPrecondition("HOST_CANNOT_LEAVE", "the host stops the room instead")


def already_on_stage(user_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        "ALREADY_ON_STAGE", f"{user_id} is already on stage", metadata={"user_id": user_id}
    )


def user_banned(user_id: str) -> PermissionDenied:
    return PermissionDenied(
        USER_BANNED, f"{user_id} is banned from this room", metadata={"user_id": user_id}
    )


def seat_limit_reached(max_co_hosts: int) -> FailedPrecondition:
    return FailedPrecondition(
        "SEAT_LIMIT_REACHED",
        f"all {max_co_hosts} co-host seats are taken",
        metadata={"max_co_hosts": str(max_co_hosts)},
    )


def host_cannot_be_banned() -> InvalidArgument:
    return InvalidArgument([("user_id", "the host cannot be banned from their room")])


def cannot_mute_yourself() -> InvalidArgument:
    return InvalidArgument([("user_id", "the host mutes their own tracks in their client")])


def remote_unmute_disabled() -> FailedPrecondition:
    return FailedPrecondition(
        "REMOTE_UNMUTE_DISABLED",
        "LiveKit does not allow remote unmute here; the user unmutes in their client",
    )


def room_not_live(room_id: str) -> FailedPrecondition:
    return FailedPrecondition("ROOM_NOT_LIVE", f"room {room_id} is not live")


def recording_not_active() -> FailedPrecondition:
    return FailedPrecondition("RECORDING_NOT_ACTIVE", "the room is not being recorded")


def recording_stopping() -> FailedPrecondition:
    return FailedPrecondition(
        "RECORDING_STOPPING", "the last recording is still stopping; start again once it ended"
    )


def wrong_room_type(room_id: str) -> FailedPrecondition:
    """Direct streaming (stream keys, ingresses) asked of a room that is not one."""
    return FailedPrecondition(
        "WRONG_ROOM_TYPE",
        f"room {room_id} is not a direct-streaming room",
        metadata={"room_id": room_id},
    )
