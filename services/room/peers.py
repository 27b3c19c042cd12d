"""What the room service asks its peers before it removes a room for good: whether a post or
an invitation hangs on it (asked with the caller's token, which the peer channel forwards)."""

import grpc
from costream.invitation.v1 import invitation_service_pb2, invitation_service_pb2_grpc
from costream.post.v1 import post_service_pb2, post_service_pb2_grpc


class Attachments:
    def __init__(
        self, post_channel: grpc.aio.Channel, invitation_channel: grpc.aio.Channel
    ) -> None:
        self._posts = post_service_pb2_grpc.PostServiceStub(post_channel)
        self._invitations = invitation_service_pb2_grpc.InvitationServiceStub(invitation_channel)

    async def any(self, room_id: str) -> bool:
        """Whether the room has a post or an invitation (of any status)."""
        posts = await self._posts.ListPostsByRoom(
            post_service_pb2.ListPostsByRoomRequest(room_ids=[room_id], max_posts_per_room=1)
        )
        if posts.posts:
            return True
        invitations = await self._invitations.ListRoomInvitations(
            invitation_service_pb2.ListRoomInvitationsRequest(room_id=room_id, page_size=1)
        )
        return bool(invitations.invitations)
