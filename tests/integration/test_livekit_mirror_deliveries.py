"""The room outbox's LiveKit mirror delivered by hand, on a database of its own (no other
relay takes its rows), through the real broadcast service to the LiveKit emulator: a burst of
room changes is one UpdateRoomMetadata with the latest state, promotions and demotions end
where the last commit left them whatever order their deliveries run in, a ban removes, and a
mute mutes the named tracks."""

import asyncio
import json

from livekit.protocol import models

from services.common.auth import Caller
from services.room import handlers
from services.room.domain import TrackSource
from services.room.side_effects import SYNC_LIVEKIT_PARTICIPANT
from tests.support import unique

VIEWER = models.ParticipantPermission(can_subscribe=True, can_publish=False)


async def test_a_burst_of_room_updates_is_one_update_room_metadata_with_the_latest_state(mirror):
    host = unique("host")
    room_id = await mirror.room(host)
    for i in range(6):
        await handlers.update_room(
            room_id,
            {"title": f"Take {i}", "metadata": {"n": i}},
            Caller(user_id=host),
            mirror.uow(),
        )
    assert len(await mirror.pending("livekit.sync_room_metadata", room_id)) == 6

    await mirror.relay.deliver_batch()

    assert mirror.calls("UpdateRoomMetadata", room_id) == ["ok"]
    [livekit_room] = mirror.emulator.registry.list_rooms([room_id])
    metadata = json.loads(livekit_room.metadata)
    assert (metadata["title"], metadata["metadata"], metadata["status"]) == (
        "Take 5",
        {"n": 5},
        "idle",
    )
    assert metadata["room_id"] == room_id and metadata["host_user_id"] == host
    assert await mirror.pending("livekit.sync_room_metadata", room_id) == []


async def test_a_metadata_sync_for_a_room_livekit_does_not_have_is_done(mirror):
    host = unique("host")
    room_id = await mirror.room(host)
    mirror.emulator.registry.delete_room(room_id)
    await handlers.update_room(room_id, {"title": "After"}, Caller(user_id=host), mirror.uow())
    await mirror.relay.deliver_batch()
    assert mirror.calls("UpdateRoomMetadata", room_id) == ["not_found"]
    assert await mirror.pending("livekit.sync_room_metadata", room_id) == []


async def test_promotion_and_demotion_end_where_the_last_commit_left_them_in_any_order(mirror):
    host, vic = unique("host"), unique("vic")
    room_id = await mirror.room(host)
    joined, _ = mirror.emulator.registry.join(
        room_id, vic, permission=VIEWER, attributes={"role": "viewer"}
    )
    await handlers.add_co_host(room_id, vic, unique("inv"), mirror.uow())
    await handlers.remove_participant(room_id, vic, Caller(user_id=host), mirror.uow())
    promotion, demotion = await mirror.pending(SYNC_LIVEKIT_PARTICIPANT, room_id)
    sync = mirror.deliveries[SYNC_LIVEKIT_PARTICIPANT]

    # The demotion's delivery first, the promotion's late: both read the room as it is now.
    await sync(demotion)
    await sync(promotion)
    after = mirror.participant(room_id, vic)
    assert after.sid == joined.sid
    assert (after.permission.can_publish, dict(after.attributes)) == (False, {"role": "viewer"})

    # Seated again, with deliveries of either state running at once: the last commit wins.
    await handlers.add_co_host(room_id, vic, unique("inv"), mirror.uow())
    await asyncio.gather(sync(demotion), sync(promotion), sync(demotion))
    after = mirror.participant(room_id, vic)
    assert after.sid == joined.sid
    assert (after.permission.can_publish, dict(after.attributes)) == (True, {"role": "co_host"})


async def test_through_the_relay_a_connected_viewer_is_promoted_then_demoted_in_place(mirror):
    host, vic = unique("host"), unique("vic")
    room_id = await mirror.room(host, live_chat_enabled=True)
    joined, _ = mirror.emulator.registry.join(room_id, vic, permission=VIEWER)
    await handlers.add_co_host(room_id, vic, unique("inv"), mirror.uow())
    await mirror.relay.deliver_batch()
    promoted = mirror.participant(room_id, vic)
    assert (promoted.sid, promoted.permission.can_publish) == (joined.sid, True)
    assert dict(promoted.attributes) == {"role": "co_host"}
    mirror.emulator.registry.publish_track(room_id, vic)

    await handlers.leave_room(room_id, Caller(user_id=vic), mirror.uow())
    await mirror.relay.deliver_batch()
    demoted = mirror.participant(room_id, vic)
    assert demoted.sid == joined.sid
    assert (demoted.permission.can_publish, demoted.permission.can_publish_data) == (False, True)
    assert dict(demoted.attributes) == {"role": "viewer"} and list(demoted.tracks) == []
    assert await mirror.pending(SYNC_LIVEKIT_PARTICIPANT, room_id) == []


async def test_a_banned_co_host_is_removed_not_demoted(mirror):
    host, cole = unique("host"), unique("cole")
    room_id = await mirror.room(host)
    mirror.emulator.registry.join(room_id, cole)
    await handlers.add_co_host(room_id, cole, unique("inv"), mirror.uow())
    [promotion] = await mirror.pending(SYNC_LIVEKIT_PARTICIPANT, room_id)
    await handlers.ban_user(room_id, cole, None, "", Caller(user_id=host), mirror.uow())
    # A late sync of a banned user changes nothing in LiveKit; the removal puts them out.
    await mirror.deliveries[SYNC_LIVEKIT_PARTICIPANT](promotion)
    assert mirror.calls("UpdateParticipant", room_id) == []
    await mirror.relay.deliver_batch()
    assert mirror.emulator.registry.list_participants(room_id) == []
    assert mirror.calls("RemoveParticipant", room_id) == ["ok"]


async def test_a_mute_mutes_the_named_sources_of_the_co_host(mirror):
    host, cole = unique("host"), unique("cole")
    room_id = await mirror.room(host, co_host_user_ids=[cole])
    registry = mirror.emulator.registry
    registry.join(room_id, cole)
    camera, _ = registry.publish_track(room_id, cole)
    mic, _ = registry.publish_track(
        room_id, cole, track_type=models.TrackType.AUDIO, source=models.TrackSource.MICROPHONE
    )
    await handlers.mute_participant(
        handlers.MuteParticipant(room_id, cole, (TrackSource.MICROPHONE,), True),
        Caller(user_id=host),
        mirror.uow(),
        remote_unmute=False,
    )
    await mirror.relay.deliver_batch()
    tracks = {t.sid: t.muted for t in mirror.participant(room_id, cole).tracks}
    assert tracks == {camera.sid: False, mic.sid: True}
    assert mirror.calls("MutePublishedTrack", room_id) == ["ok"]
