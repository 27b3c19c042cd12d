"""A direct-streaming room through the gateway, against the LiveKit emulator's Ingress: the
host gets OBS settings (the same on every ask), a co-host a LiveKit token, ResetStreamKey a new
key whose old ingress LiveKit no longer has, the encoder makes the room live and its drop starts
the reconnect window, the end deletes the ingress, and no service's log shows a stream key."""

import grpc
from costream.broadcast.v1 import broadcast_service_pb2 as bs
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs

from tests.e2e.flow import auth, expect_error
from tests.e2e.test_livekit_stage import eventually, settled
from tests.support import unique


async def ingress_ids(emulator, room_id: str) -> set[str]:
    return {
        i["ingress_id"]
        for i in (await emulator.state()).get("ingresses", [])
        if i.get("room_name") == room_id
    }


async def room_of(gateway, room_id: str, user: str) -> room_pb2.Room:
    return await gateway.GetRoom(rs.GetRoomRequest(room_id=room_id), **auth(user))


async def test_a_host_streams_from_obs_and_the_room_follows_the_encoder(
    gateway, emulator, e2e_database, e2e_stack
):
    host, cole = unique("host"), unique("cole")
    room = await gateway.CreateRoom(
        rs.CreateRoomRequest(
            title="OBS night",
            type=room_pb2.ROOM_TYPE_DIRECT_STREAMING,
            co_host_user_ids=[cole],
        ),
        **auth(host),
    )
    room_id = room.room_id
    ask = bs.GetBroadcastDataRequest(room_id=room_id)
    first = (await gateway.GetBroadcastData(ask, **auth(host))).direct_streaming
    assert first.rtmp_url.startswith("rtmp://") and first.stream_key
    assert (await gateway.GetBroadcastData(ask, **auth(host))).direct_streaming == first
    assert (await room_of(gateway, room_id, host)).ingress_status == room_pb2.INGRESS_STATUS_READY
    co_host = await gateway.GetBroadcastData(ask, **auth(cole))
    assert co_host.WhichOneof("data") == "co_hosts" and co_host.co_hosts.co_host_token
    await expect_error(
        gateway.ResetStreamKey(bs.ResetStreamKeyRequest(room_id=room_id), **auth(cole)),
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ROOM_HOST",
    )

    # A new key: the old ingress goes (through the room's outbox).
    [old_id] = await ingress_ids(emulator, room_id)
    reset = await gateway.ResetStreamKey(bs.ResetStreamKeyRequest(room_id=room_id), **auth(host))
    key = reset.direct_streaming.stream_key
    assert key != first.stream_key

    async def old_ingress_gone() -> bool:
        return old_id not in await ingress_ids(emulator, room_id)

    await eventually(old_ingress_gone)
    assert len(await ingress_ids(emulator, room_id)) == 1

    # OBS connects: live; drops: waiting for it to reconnect.
    await emulator.post("ingress/connect", stream_key=key)
    await settled(emulator, e2e_database)
    live = await room_of(gateway, room_id, host)
    assert live.status == room_pb2.ROOM_STATUS_LIVE
    assert live.ingress_status == room_pb2.INGRESS_STATUS_PUBLISHING
    await emulator.post("ingress/drop", stream_key=key)
    await settled(emulator, e2e_database)
    waiting = await room_of(gateway, room_id, host)
    assert waiting.status == room_pb2.ROOM_STATUS_WAITING_RECONNECT
    assert waiting.ingress_status == room_pb2.INGRESS_STATUS_READY

    # The end deletes the ingress: the key stops working.
    stopped = await gateway.StopRoom(rs.StopRoomRequest(room_id=room_id), **auth(host))
    assert stopped.ingress_status == room_pb2.INGRESS_STATUS_ENDED

    async def ingress_deleted() -> bool:
        return not await ingress_ids(emulator, room_id)

    await eventually(ingress_deleted)

    logs = "\n".join(path.read_text(errors="replace") for path in e2e_stack.log_dir.glob("*.log"))
    assert room_id in logs, "the logs were not read"
    for secret in (first.stream_key, key):
        assert secret not in logs
