"""The post service's errors, made here only."""

from services.common.errors import NotFound, PermissionDenied


def post_not_found(post_id: str) -> NotFound:
    return NotFound("POST_NOT_FOUND", f"post {post_id!r} not found", metadata={"post_id": post_id})


def not_post_author() -> PermissionDenied:
    return PermissionDenied("NOT_POST_AUTHOR", "only the post's author may do this")
