"""The invitation service's errors, made here only."""

from services.common.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied


def invitation_not_found(invitation_id: str) -> NotFound:
    return NotFound(
        "INVITATION_NOT_FOUND",
        f"invitation {invitation_id!r} not found",
        metadata={"invitation_id": invitation_id},
    )


def no_invitation_to_room(room_id: str) -> NotFound:
    return NotFound(
        "INVITATION_NOT_FOUND", "you have no invitation to this room", metadata={"room_id": room_id}
    )


def invitation_not_pending(invitation_id: str, status: str) -> FailedPrecondition:
    return FailedPrecondition(
        "INVITATION_NOT_PENDING",
        f"invitation {invitation_id} is {status}",
        metadata={"invitation_id": invitation_id, "status": status},
    )


def invitation_pending(user_id: str, invitation_id: str) -> AlreadyExists:
    return AlreadyExists(
        "INVITATION_PENDING",
        f"{user_id} already has a pending invitation to this room",
        metadata={"invitation_id": invitation_id},
    )


def not_invitee(message: str = "only the invitee may do this") -> PermissionDenied:
    return PermissionDenied("NOT_INVITEE", message)


def wrong_invitation_type(invitation_id: str, actual: str) -> FailedPrecondition:
    """An RPC for co-host invitations on a stage request, or the other way round."""
    return FailedPrecondition(
        "WRONG_INVITATION_TYPE",
        f"invitation {invitation_id} is a {actual.replace('_', ' ')}",
        metadata={"invitation_id": invitation_id, "type": actual},
    )
