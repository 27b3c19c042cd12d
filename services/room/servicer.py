"""RoomService over gRPC: proto in → validated command → handler → proto out."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import duration_pb2, empty_pb2, struct_pb2

from services.common import observability
from services.common.auth import current_caller
from services.common.db import Database, listen
from services.common.pagination import PageTokens, page_size
from services.common.timestamps import to_timestamp
from services.common.validation import Violations
from services.room import domain, handlers
from services.room.repository import ROOM_EVENTS_CHANNEL, RoomUnitOfWork

log = structlog.get_logger()

SERVICE_NAME = room_service_pb2.DESCRIPTOR.services_by_name["RoomService"].full_name
INTERNAL_METHODS = frozenset({"AddCoHost", "ApplyLiveKitEvent", "GetRoomAccess", "PurgeRoom"})
UPDATABLE_FIELDS = ("title", "description", "thumbnail_file_id", "metadata",
                    "live_chat_enabled", "parent_room_id")  # fmt: skip

# Domain enums ↔ proto enums, by name.
STATUS = {s: room_pb2.RoomStatus.Value(f"ROOM_STATUS_{s.name}") for s in domain.RoomStatus}
STATUS_FROM_PROTO = {v: k for k, v in STATUS.items()}
END_REASON = {r: room_pb2.EndReason.Value(f"END_REASON_{r.name}") for r in domain.EndReason}
SEAT_TEMPLATE = {
    t: room_pb2.SeatTemplate.Value(f"SEAT_TEMPLATE_{t.name}") for t in domain.SeatTemplate
}
SEAT_TEMPLATE_FROM_PROTO = {v: k for k, v in SEAT_TEMPLATE.items()}
ROLE = {r: room_pb2.ParticipantRole.Value(f"PARTICIPANT_ROLE_{r.name}") for r in domain.Role}
TYPE = {t: room_pb2.RoomType.Value(f"ROOM_TYPE_{t.name}") for t in domain.RoomType}
TYPE_FROM_PROTO = {v: k for k, v in TYPE.items()}
EVENT_KIND = {
    "updated": room_pb2.ROOM_EVENT_KIND_UPDATED,
    "status_changed": room_pb2.ROOM_EVENT_KIND_STATUS_CHANGED,
    "participants_changed": room_pb2.ROOM_EVENT_KIND_PARTICIPANTS_CHANGED,
    "stats_changed": room_pb2.ROOM_EVENT_KIND_STATS_CHANGED,
    "recorded": room_pb2.ROOM_EVENT_KIND_RECORDED,
    "deleted": room_pb2.ROOM_EVENT_KIND_DELETED,
}


def room_to_proto(row: asyncpg.Record) -> room_pb2.Room:
    metadata = struct_pb2.Struct()
    metadata.update(row["metadata"])
    room = room_pb2.Room(
        room_id=row["room_id"],
        type=TYPE[domain.RoomType(row["type"])],
        status=STATUS[domain.RoomStatus(row["status"])],
        title=row["title"],
        description=row["description"],
        thumbnail_file_id=row["thumbnail_file_id"],
        metadata=metadata,
        live_chat_enabled=row["live_chat_enabled"],
        live_channel_id=f"{row['room_id']}:chat" if row["live_chat_enabled"] else "",
        parent_room_id=row["parent_room_id"],
        seat_template=SEAT_TEMPLATE[domain.SeatTemplate(row["seat_template"])],
        max_co_hosts=row["max_co_hosts"],
        host_user_id=row["host_user_id"],
        stats=room_pb2.RoomStats(
            viewer_count=row["viewer_count"],
            publisher_count=row["publisher_count"],
            peak_viewer_count=max(row["peak_viewer_count"], row["viewer_count"]),
        ),
        end_reason=END_REASON[domain.EndReason(row["end_reason"])] if row["end_reason"] else 0,
        create_time=to_timestamp(row["create_time"]),
        update_time=to_timestamp(row["update_time"]),
        live_time=to_timestamp(row["live_time"]),
        end_time=to_timestamp(row["end_time"]),
        recorded_time=to_timestamp(row["recorded_time"]),
        deleted=row["deleted"],
        delete_time=to_timestamp(row["delete_time"]),
    )
    for p in row["participants"]:
        room.participants.append(
            room_pb2.Participant(
                user_id=p["user_id"],
                role=ROLE[domain.Role(p["role"])],
                join_time=to_timestamp(p["join_time"]),
                connected=p["connected"],
            )
        )
    for pb in row["playbacks"]:
        room.recorded_playbacks.append(
            room_pb2.RecordedPlayback(
                url=pb["url"],
                thumbnail_url=pb["thumbnail_url"],
                duration=duration_pb2.Duration(
                    seconds=pb["duration_ms"] // 1000, nanos=(pb["duration_ms"] % 1000) * 10**6
                ),
            )
        )
    return room


def _room_id(v: Violations, room_id: str, field: str = "room_id") -> str:
    if not room_id:
        v.add(field, "is required")
    else:
        domain.check_room_id(v, room_id, field)
    return room_id


def _one_room_id(room_id: str) -> str:
    v = Violations()
    _room_id(v, room_id)
    v.raise_if_any()
    return room_id


def _room_and_user(room_id: str, user_id: str) -> tuple[str, str]:
    v = Violations()
    _room_id(v, room_id)
    v.identifier("user_id", user_id)
    v.raise_if_any()
    return room_id, user_id


class RoomServicer(room_service_pb2_grpc.RoomServiceServicer):
    def __init__(self, database: Database, page_tokens: PageTokens, apply_event=None) -> None:
        self._database = database
        self._tokens = page_tokens
        self._apply_event = apply_event
        self._watchers: dict[str, set[asyncio.Queue[str]]] = {}

    def _uow(self) -> RoomUnitOfWork:
        return RoomUnitOfWork(self._database)

    async def CreateRoom(self, request, context):
        caller = current_caller.get()
        host = caller.require_user()
        v = Violations()
        if request.room_id:
            domain.check_room_id(v, request.room_id)
        title = domain.check_title(v, request.title)
        description = domain.check_description(v, request.description)
        v.text("thumbnail_file_id", request.thumbnail_file_id, max_len=256)
        metadata = v.metadata("metadata", request.metadata)
        if request.parent_room_id:
            domain.check_room_id(v, request.parent_room_id, "parent_room_id")
        room_type = v.enum(
            "type", request.type, room_pb2.RoomType, default=TYPE[domain.RoomType.CO_HOSTS]
        )
        if room_type == room_pb2.ROOM_TYPE_DIRECT_STREAMING:
            v.add("type", "ROOM_TYPE_DIRECT_STREAMING is reserved and not supported yet")
        template = v.enum(
            "seat_template",
            request.seat_template,
            room_pb2.SeatTemplate,
            default=room_pb2.SEAT_TEMPLATE_VIDEO_DYNAMIC_GRID_9,
        )
        v.text("request_id", request.request_id, max_len=128)
        seat_template = SEAT_TEMPLATE_FROM_PROTO.get(
            template, domain.SeatTemplate.VIDEO_DYNAMIC_GRID_9
        )
        co_hosts = domain.check_co_hosts(
            v, list(request.co_host_user_ids), host, seat_template.max_co_hosts
        )
        v.raise_if_any()
        row = await handlers.create_room(
            handlers.CreateRoom(
                room_id=request.room_id,
                title=title,
                description=description,
                thumbnail_file_id=request.thumbnail_file_id,
                metadata=metadata,
                live_chat_enabled=request.live_chat_enabled,
                parent_room_id=request.parent_room_id,
                type=TYPE_FROM_PROTO[room_type],
                seat_template=seat_template,
                co_host_user_ids=co_hosts,
                request_id=request.request_id,
            ),
            caller,
            self._uow(),
        )
        return room_to_proto(row)

    async def GetRoom(self, request, context):
        return room_to_proto(await handlers.get_room(_one_room_id(request.room_id), self._uow()))

    async def BatchGetRooms(self, request, context):
        v = Violations()
        if len(request.room_ids) > domain.MAX_BATCH:
            v.add("room_ids", f"at most {domain.MAX_BATCH} ids")
        for i, room_id in enumerate(request.room_ids):
            _room_id(v, room_id, f"room_ids[{i}]")
        v.raise_if_any()
        rows = await handlers.batch_get_rooms(list(request.room_ids), self._uow())
        return room_service_pb2.BatchGetRoomsResponse(rooms=[room_to_proto(r) for r in rows])

    async def ListRooms(self, request, context):
        caller = current_caller.get()
        v = Violations()
        statuses = v.enums("statuses", request.statuses, room_pb2.RoomStatus)
        types = v.enums("types", request.types, room_pb2.RoomType)
        v.identifier("host_user_id", request.host_user_id, required=False)
        if request.parent_room_id:
            domain.check_room_id(v, request.parent_room_id, "parent_room_id")
        order_by = request.order_by.strip() or "last_created"
        v.check(order_by in ("last_created", "first_created"), "order_by",
                "must be last_created or first_created")  # fmt: skip
        if request.page_size < 0:
            v.add("page_size", "must not be negative")
        v.raise_if_any()
        filters = {
            "statuses": statuses,
            "types": types,
            "host": request.host_user_id,
            "parent": request.parent_room_id,
            "order": order_by,
            "deleted": request.include_deleted,
        }
        size = page_size(request.page_size)
        after = self._tokens.decode_after(request.page_token, filters)
        rows, more = await handlers.list_rooms(
            handlers.ListRooms(
                statuses=[STATUS_FROM_PROTO[s].value for s in statuses if s in STATUS_FROM_PROTO],
                # By name: a reserved type no room has yet matches nothing (not everything).
                types=[room_pb2.RoomType.Name(t).removeprefix("ROOM_TYPE_").lower() for t in types],
                host_user_id=request.host_user_id,
                parent_room_id=request.parent_room_id,
                newest_first=order_by == "last_created",
                include_deleted=request.include_deleted,
                after=after,
                page_size=size,
            ),
            caller,
            self._uow(),
        )
        next_token = ""
        if more:
            last = rows[-1]
            next_token = self._tokens.encode_after(filters, last["create_time"], last["room_id"])
        return room_service_pb2.ListRoomsResponse(
            rooms=[room_to_proto(r) for r in rows], next_page_token=next_token
        )

    async def UpdateRoom(self, request, context):
        caller = current_caller.get()
        room = request.room
        v = Violations()
        _room_id(v, room.room_id, "room.room_id")
        paths = list(request.update_mask.paths)
        if not paths:
            # AIP-134: no mask means every field that is set.
            paths = [f for f in UPDATABLE_FIELDS if _is_set(room, f)]
        fields: dict[str, Any] = {}
        for path in dict.fromkeys(paths):
            if path not in UPDATABLE_FIELDS:
                v.add("update_mask", f"{path!r} cannot be updated")
            elif path == "title":
                fields["title"] = domain.check_title(v, room.title, "room.title")
            elif path == "description":
                fields["description"] = domain.check_description(
                    v, room.description, "room.description"
                )
            elif path == "thumbnail_file_id":
                fields[path] = v.text("room.thumbnail_file_id", room.thumbnail_file_id, max_len=256)
            elif path == "metadata":
                fields["metadata"] = v.metadata("room.metadata", room.metadata)
            elif path == "parent_room_id":
                if room.parent_room_id:
                    domain.check_room_id(v, room.parent_room_id, "room.parent_room_id")
                fields[path] = room.parent_room_id
            else:
                fields[path] = getattr(room, path)
        v.raise_if_any()
        row = await handlers.update_room(room.room_id, fields, caller, self._uow())
        return room_to_proto(row)

    async def DeleteRoom(self, request, context):
        room_id = _one_room_id(request.room_id)
        await handlers.delete_room(room_id, current_caller.get(), self._uow())
        return empty_pb2.Empty()

    async def StopRoom(self, request, context):
        room_id = _one_room_id(request.room_id)
        return room_to_proto(await handlers.stop_room(room_id, current_caller.get(), self._uow()))

    async def DismissRoom(self, request, context):
        v = Violations()
        _room_id(v, request.room_id)
        reason = v.text("reason", request.reason, max_len=1000)
        v.raise_if_any()
        row = await handlers.dismiss_room(
            request.room_id, reason, current_caller.get(), self._uow()
        )
        return room_to_proto(row)

    async def RemoveParticipant(self, request, context):
        room_id, user_id = _room_and_user(request.room_id, request.user_id)
        row = await handlers.remove_participant(room_id, user_id, current_caller.get(), self._uow())
        return room_to_proto(row)

    async def LeaveRoom(self, request, context):
        room_id = _one_room_id(request.room_id)
        return room_to_proto(await handlers.leave_room(room_id, current_caller.get(), self._uow()))

    async def BanUser(self, request, context):
        v = Violations()
        _room_id(v, request.room_id)
        v.identifier("user_id", request.user_id)
        reason = v.text("reason", request.reason, max_len=1000)
        duration = None
        if request.HasField("duration"):
            # Bounded before conversion: a huge Duration overflows timedelta and datetime.
            if request.duration.seconds < 0 or request.duration.nanos < 0:
                v.add("duration", "must not be negative")
            elif request.duration.seconds > domain.MAX_BAN_DURATION.total_seconds():
                v.add("duration", f"must be at most {domain.MAX_BAN_DURATION.days} days")
            else:
                duration = request.duration.ToTimedelta()
        v.raise_if_any()
        row = await handlers.ban_user(
            request.room_id, request.user_id, duration or None, reason, current_caller.get(),
            self._uow(),
        )  # fmt: skip
        return room_to_proto(row)

    async def UnbanUser(self, request, context):
        room_id, user_id = _room_and_user(request.room_id, request.user_id)
        row = await handlers.unban_user(room_id, user_id, current_caller.get(), self._uow())
        return room_to_proto(row)

    async def ListBannedUsers(self, request, context):
        v = Violations()
        _room_id(v, request.room_id)
        if request.page_size < 0:
            v.add("page_size", "must not be negative")
        v.raise_if_any()
        filters = {"room": request.room_id}
        after = self._tokens.decode_after(request.page_token, filters)
        size = page_size(request.page_size)
        rows, more = await handlers.list_banned_users(
            request.room_id, after, size, current_caller.get(), self._uow()
        )
        next_token = ""
        if more:
            last = rows[-1]
            next_token = self._tokens.encode_after(filters, last["create_time"], last["user_id"])
        return room_service_pb2.ListBannedUsersResponse(
            bans=[
                room_pb2.Ban(
                    room_id=r["room_id"],
                    user_id=r["user_id"],
                    reason=r["reason"],
                    banned_by_user_id=r["banned_by_user_id"],
                    create_time=to_timestamp(r["create_time"]),
                    expire_time=to_timestamp(r["expire_time"]),
                )
                for r in rows
            ],
            next_page_token=next_token,
        )

    async def AddCoHost(self, request, context):
        v = Violations()
        _room_id(v, request.room_id)
        v.identifier("user_id", request.user_id)
        v.identifier("invitation_id", request.invitation_id)
        v.raise_if_any()
        row = await handlers.add_co_host(
            request.room_id, request.user_id, request.invitation_id, self._uow()
        )
        return room_to_proto(row)

    async def GetRoomAccess(self, request, context):
        room_id, user_id = _room_and_user(request.room_id, request.user_id)
        row, role, banned = await handlers.get_room_access(room_id, user_id, self._uow())
        return room_service_pb2.RoomAccess(
            room=room_to_proto(row), role=ROLE[role] if role else 0, banned=banned
        )

    async def ApplyLiveKitEvent(self, request, context):
        event = request.event
        v = Violations()
        v.identifier("event.event_id", event.event_id)
        v.text("event.event", event.event, min_len=1, max_len=64)
        v.text("event.room_name", event.room_name, max_len=256)
        v.raise_if_any()
        if self._apply_event is None:
            raise NotImplementedError("no LiveKit event handler is wired in")
        applied = await self._apply_event(event, self._uow())
        return room_service_pb2.ApplyLiveKitEventResponse(applied=applied)

    # --- WatchRoom: every replica LISTENs and fans changes out to its own streams ---

    async def WatchRoom(self, request, context) -> AsyncIterator[room_pb2.RoomEvent]:
        room_id = _one_room_id(request.room_id)
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        self._watchers.setdefault(room_id, set()).add(queue)
        observability.WATCHERS.labels("room").inc()
        try:
            row = await handlers.get_room(room_id, self._uow())
            yield room_pb2.RoomEvent(
                room=room_to_proto(row), kind=room_pb2.ROOM_EVENT_KIND_SNAPSHOT
            )
            while True:
                kind = await queue.get()
                row = await handlers.get_room(room_id, self._uow())
                yield room_pb2.RoomEvent(
                    room=room_to_proto(row),
                    kind=EVENT_KIND.get(kind, room_pb2.ROOM_EVENT_KIND_UPDATED),
                )
        finally:
            observability.WATCHERS.labels("room").dec()
            watchers = self._watchers.get(room_id, set())
            watchers.discard(queue)
            if not watchers:
                self._watchers.pop(room_id, None)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        event = json.loads(payload)
        for queue in self._watchers.get(event["room_id"], ()):
            if queue.full():
                continue  # a slow watcher skips intermediate changes; the next read is current
            queue.put_nowait(event["kind"])

    async def listen(self) -> None:
        """Forward committed room changes to this replica's WatchRoom streams."""
        await listen(self._database, ROOM_EVENTS_CHANNEL, self._on_notify)

    async def PurgeRoom(self, request, context):
        room_id = _one_room_id(request.room_id)
        await handlers.purge_room(room_id, current_caller.get(), self._uow())
        return empty_pb2.Empty()


def _is_set(room: room_pb2.Room, field: str) -> bool:
    if field == "metadata":
        return room.HasField("metadata")
    return bool(getattr(room, field))
