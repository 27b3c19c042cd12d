"""Every client RPC of the gateway, enumerated from the GatewayService descriptor, refuses a
call without a valid token with UNAUTHENTICATED, before any backend is asked."""

import time

import grpc
import jwt
import pytest
from costream.gateway.v1 import gateway_service_pb2
from google.protobuf import message_factory

from services.common.auth import mint_user_token
from services.common.config import DEV_AUTH_JWT_SECRET
from tests.support import reason_of

SERVICE = gateway_service_pb2.DESCRIPTOR.services_by_name["GatewayService"]
METHODS = sorted(SERVICE.methods, key=lambda m: m.name)


def _none() -> str:
    claims = {"sub": "mallory", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, None, algorithm="none")


TOKENS = {
    "no token": (None, "MISSING_CREDENTIALS"),
    "expired": (
        lambda: mint_user_token(DEV_AUTH_JWT_SECRET, "alice", ttl=60, now=time.time() - 3600),
        "INVALID_CREDENTIALS",
    ),
    "forged": (
        lambda: mint_user_token("not-the-secret-of-this-deployment-0123", "alice"),
        "INVALID_CREDENTIALS",
    ),
    "unsigned": (_none, "INVALID_CREDENTIALS"),
    "malformed": (lambda: "not.a.jwt", "INVALID_CREDENTIALS"),
}


def test_the_descriptor_lists_every_gateway_rpc():
    # The aggregates and at least one RPC of each backend service, so the enumeration is real.
    names = {m.name for m in METHODS}
    assert {"CreateLiveRoomPost", "GetRoomView", "ListLiveRoomPosts", "WhoAmI"} <= names
    assert {"CreateRoom", "CreateRoomPost", "CreateInvitation", "GetViewerData"} <= names
    assert {"WatchRoom", "WatchMyInvitations", "WatchRoomInvitations"} <= names
    assert {"AddModerator", "RemoveModerator", "RequestStage", "ApproveStageRequest"} <= names
    assert {"MuteParticipant", "ListViewers"} <= names
    assert {"ResetStreamKey"} <= names
    # 43, and the proto's StartRecording, StopRecording and ResetStreamKey.
    assert len(names) == 46


@pytest.mark.parametrize("kind", sorted(TOKENS))
@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_every_gateway_rpc_refuses_a_call_without_a_valid_token(e2e_stack, method, kind):
    make_token, reason = TOKENS[kind]
    metadata = [("authorization", f"Bearer {make_token()}")] if make_token else []
    request = message_factory.GetMessageClass(method.input_type)()
    path = f"/{SERVICE.full_name}/{method.name}"
    async with grpc.aio.insecure_channel(e2e_stack.addr("gateway")) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            if method.server_streaming:
                call = channel.unary_stream(
                    path, request_serializer=type(request).SerializeToString
                )
                async for _ in call(request, metadata=metadata, timeout=5):
                    pass
            else:
                call = channel.unary_unary(path, request_serializer=type(request).SerializeToString)
                await call(request, metadata=metadata, timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(caught.value) == reason
