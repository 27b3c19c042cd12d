"""RoomService over gRPC: proto in → validated command → handler → proto out."""

from datetime import timedelta

from costream.room.v1 import room_pb2, room_service_pb2, room_service_pb2_grpc
from google.protobuf import empty_pb2, struct_pb2

from services.common.auth import current_caller
from services.common.db import Database
from services.common.enums import EnumMap
from services.common.errors import InvalidArgument, ServiceError
from services.common.pagination import PageTokens, within_bytes
from services.common.server import mark_replayed, status_details
from services.common.timestamps import duration_from_ms, to_timestamp
from services.common.update_mask import apply_update_mask
from services.common.validation import Violations, require_ids
from services.room import domain, handlers
from services.room.cache import RoomCache
from services.room.client import MAX_ACCESS_BATCH, check_livekit_event
from services.room.livekit.events import EGRESS_START_TIMEOUT, apply_livekit_events
from services.room.repository import RoomUnitOfWork
from services.room.watch import RoomWatch

SERVICE_NAME = room_service_pb2.DESCRIPTOR.services_by_name["RoomService"].full_name
INTERNAL_METHODS = frozenset(
    {
        "AddCoHost",
        "ApplyLiveKitEvent",
        "ApplyLiveKitEvents",
        "BatchGetRoomAccess",
        "GetRoomAccess",
        "PurgeRoom",
        "AttachIngress",
    }
)
# Open to the gateway with its service token (its room feeds, services/gateway/room_feeds.py,
# and the live feed read once for many callers, services/gateway/handlers.py LiveFeed); users
# still need their own. Neither answers anything that depends on the caller (ListRooms'
# include_deleted needs an admin, which a service is not).
SERVICE_METHODS = frozenset({"WatchRoom", "ListRooms"})
MAX_EVENTS = 1000

STATUS = EnumMap(domain.RoomStatus, room_pb2.RoomStatus, "ROOM_STATUS_")
END_REASON = EnumMap(domain.EndReason, room_pb2.EndReason, "END_REASON_")
SEAT_TEMPLATE = EnumMap(domain.SeatTemplate, room_pb2.SeatTemplate, "SEAT_TEMPLATE_")
ROLE = EnumMap(domain.Role, room_pb2.ParticipantRole, "PARTICIPANT_ROLE_")
TYPE = EnumMap(domain.RoomType, room_pb2.RoomType, "ROOM_TYPE_")
TRACK_SOURCE = EnumMap(domain.TrackSource, room_pb2.TrackSource, "TRACK_SOURCE_")
RECORDING_STATUS = EnumMap(domain.RecordingStatus, room_pb2.RecordingStatus, "RECORDING_STATUS_")
INGRESS_STATUS = EnumMap(domain.IngressStatus, room_pb2.IngressStatus, "INGRESS_STATUS_")


def room_to_proto(view: domain.RoomView) -> room_pb2.Room:
    metadata = struct_pb2.Struct()
    metadata.update(view.metadata)
    return room_pb2.Room(
        room_id=view.room_id,
        type=TYPE.to_proto(view.type),
        status=STATUS.to_proto(view.status),
        title=view.title,
        description=view.description,
        thumbnail_file_id=view.thumbnail_file_id,
        metadata=metadata,
        live_chat_enabled=view.live_chat_enabled,
        live_channel_id=view.live_channel_id,
        parent_room_id=view.parent_room_id,
        seat_template=SEAT_TEMPLATE.to_proto(view.seat_template),
        max_co_hosts=view.max_co_hosts,
        host_user_id=view.host_user_id,
        stats=room_pb2.RoomStats(
            viewer_count=view.viewer_count,
            publisher_count=view.publisher_count,
            peak_viewer_count=view.peak_viewer_count,
        ),
        end_reason=END_REASON.to_proto(view.end_reason),
        create_time=to_timestamp(view.create_time),
        update_time=to_timestamp(view.update_time),
        live_time=to_timestamp(view.live_time),
        end_time=to_timestamp(view.end_time),
        recorded_time=to_timestamp(view.recorded_time),
        deleted=view.deleted,
        delete_time=to_timestamp(view.delete_time),
        moderator_user_ids=view.moderator_user_ids,
        auto_record=view.auto_record,
        recording_status=RECORDING_STATUS.to_proto(view.recording_status),
        live_playback_url=view.live_playback_url,
        ingress_status=INGRESS_STATUS.to_proto(view.ingress_status),
        participants=[
            room_pb2.Participant(
                user_id=p.user_id,
                role=ROLE.to_proto(p.role),
                join_time=to_timestamp(p.join_time),
                connected=p.connected,
            )
            for p in view.participants
        ],
        recorded_playbacks=[
            room_pb2.RecordedPlayback(
                url=r.url,
                thumbnail_url=r.thumbnail_url,
                duration=duration_from_ms(r.duration_ms),
            )
            for r in view.recordings
        ],
    )


def stage_to_proto(room: domain.Room) -> room_pb2.Room:
    """The aggregate's stage (id, status, host and co-hosts), for internal callers that need no
    full view."""
    host = room_pb2.Participant(user_id=room.host_user_id, role=ROLE.to_proto(domain.Role.HOST))
    co_hosts = [
        room_pb2.Participant(user_id=user_id, role=ROLE.to_proto(domain.Role.CO_HOST))
        for user_id in room.co_host_ids
    ]
    return room_pb2.Room(
        room_id=room.room_id,
        status=STATUS.to_proto(room.status),
        host_user_id=room.host_user_id,
        max_co_hosts=room.max_co_hosts,
        participants=[host, *co_hosts],
    )


def viewer_to_proto(viewer: domain.Viewer) -> room_pb2.Viewer:
    return room_pb2.Viewer(user_id=viewer.user_id, join_time=to_timestamp(viewer.join_time))


def ban_to_proto(ban: domain.Ban) -> room_pb2.Ban:
    return room_pb2.Ban(
        room_id=ban.room_id,
        user_id=ban.user_id,
        reason=ban.reason,
        banned_by_user_id=ban.banned_by_user_id,
        create_time=to_timestamp(ban.create_time),
        expire_time=to_timestamp(ban.expire_time),
    )


class RoomServicer(room_service_pb2_grpc.RoomServiceServicer):
    def __init__(
        self,
        database: Database,
        cache: RoomCache,
        page_tokens: PageTokens,
        watch: RoomWatch,
        attachments: handlers.Attachments,
        *,
        reconnect_timeout: timedelta,
        egress_start_timeout: timedelta = EGRESS_START_TIMEOUT,
        remote_unmute: bool = False,
    ) -> None:
        self._database = database
        self._cache = cache
        self._pages = page_tokens
        self._watch = watch
        self._attachments = attachments
        self._reconnect_timeout = reconnect_timeout
        self._egress_start_timeout = egress_start_timeout
        self._remote_unmute = remote_unmute

    def _uow(self) -> RoomUnitOfWork:
        return RoomUnitOfWork(self._database, self._cache)

    async def CreateRoom(self, request, context):
        caller = current_caller.get()
        host = caller.require_user()
        v = Violations()
        v.room_id("room_id", request.room_id, required=False)
        title = domain.check_title(v, "title", request.title)
        description = domain.check_description(v, "description", request.description)
        domain.check_thumbnail_file_id(v, "thumbnail_file_id", request.thumbnail_file_id)
        metadata = v.metadata("metadata", request.metadata)
        domain.check_parent_room_id(v, "parent_room_id", request.parent_room_id)
        room_type = TYPE.read(v, "type", request.type, default=domain.RoomType.CO_HOSTS)
        seat_template = SEAT_TEMPLATE.read(
            v,
            "seat_template",
            request.seat_template,
            default=domain.SeatTemplate.VIDEO_DYNAMIC_GRID_9,
        )
        seat_template = seat_template or domain.SeatTemplate.VIDEO_DYNAMIC_GRID_9
        v.text("request_id", request.request_id, max_len=128)
        co_hosts = domain.check_co_hosts(
            v, list(request.co_host_user_ids), host, seat_template.max_co_hosts
        )
        v.raise_if_any()
        view, replayed = await handlers.create_room(
            handlers.CreateRoom(
                room_id=request.room_id,
                title=title,
                description=description,
                thumbnail_file_id=request.thumbnail_file_id,
                metadata=metadata,
                live_chat_enabled=request.live_chat_enabled,
                parent_room_id=request.parent_room_id,
                type=room_type or domain.RoomType.CO_HOSTS,
                seat_template=seat_template,
                co_host_user_ids=co_hosts,
                request_id=request.request_id,
                auto_record=request.auto_record,
            ),
            caller,
            self._uow(),
        )
        mark_replayed(context, replayed)
        return room_to_proto(view)

    async def GetRoom(self, request, context):
        require_ids(room_id=request.room_id)
        return room_to_proto(await handlers.get_room(request.room_id, self._uow()))

    async def BatchGetRooms(self, request, context):
        v = Violations()
        if v.count("room_ids", request.room_ids, domain.MAX_BATCH):
            for i, room_id in enumerate(request.room_ids):
                v.room_id(f"room_ids[{i}]", room_id)
        v.raise_if_any()
        views = await handlers.batch_get_rooms(list(request.room_ids), self._uow())
        rooms = within_bytes(views, room_to_proto)
        return room_service_pb2.BatchGetRoomsResponse(
            rooms=rooms, truncated=len(rooms) < len(views)
        )

    async def ListRooms(self, request, context):
        caller = current_caller.get()
        v = Violations()
        statuses = STATUS.read_set(v, "statuses", request.statuses)
        types = TYPE.read_set(v, "types", request.types)
        v.identifier("host_user_id", request.host_user_id, required=False)
        domain.check_parent_room_id(v, "parent_room_id", request.parent_room_id)
        order_by = request.order_by.strip() or "last_created"
        v.check(order_by in ("last_created", "first_created"), "order_by",
                "must be last_created or first_created")  # fmt: skip
        page = self._pages.request(
            v,
            request.page_size,
            request.page_token,
            {
                "statuses": statuses,
                "types": types,
                "host": request.host_user_id,
                "parent": request.parent_room_id,
                "order": order_by,
                "deleted": request.include_deleted,
            },
        )
        rooms = await handlers.list_rooms(
            handlers.ListRooms(
                statuses=statuses,
                types=types,
                host_user_id=request.host_user_id,
                parent_room_id=request.parent_room_id,
                newest_first=order_by == "last_created",
                include_deleted=request.include_deleted,
                page=page,
            ),
            caller,
            self._uow(),
        )
        protos, token = self._pages.respond(rooms, page, room_to_proto)
        return room_service_pb2.ListRoomsResponse(rooms=protos, next_page_token=token)

    async def UpdateRoom(self, request, context):
        v = Violations()
        v.room_id("room.room_id", request.room.room_id)
        fields = apply_update_mask(
            v, request.room, request.update_mask, domain.UPDATABLE_FIELDS, "room"
        )
        v.raise_if_any()
        view = await handlers.update_room(
            request.room.room_id, fields, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def DeleteRoom(self, request, context):
        require_ids(room_id=request.room_id)
        await handlers.delete_room(request.room_id, current_caller.get(), self._uow())
        return empty_pb2.Empty()

    async def StopRoom(self, request, context):
        require_ids(room_id=request.room_id)
        view = await handlers.stop_room(request.room_id, current_caller.get(), self._uow())
        return room_to_proto(view)

    async def DismissRoom(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        reason = v.text("reason", request.reason, max_len=1000)
        v.raise_if_any()
        view = await handlers.dismiss_room(
            request.room_id, reason, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def RemoveParticipant(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        view = await handlers.remove_participant(
            request.room_id, request.user_id, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def LeaveRoom(self, request, context):
        require_ids(room_id=request.room_id)
        view = await handlers.leave_room(request.room_id, current_caller.get(), self._uow())
        return room_to_proto(view)

    async def BanUser(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("user_id", request.user_id)
        reason = v.text("reason", request.reason, max_len=1000)
        duration = None
        if request.HasField("duration"):
            # Bounded before conversion: a huge Duration overflows timedelta and datetime.
            if request.duration.seconds < 0 or request.duration.nanos < 0:
                v.add("duration", "must not be negative")
            elif 0 < request.duration.ToNanoseconds() < 1_000_000_000:
                # Below a second it would round to 0, which means until unbanned.
                v.add("duration", "must be 0 (until unbanned) or at least 1 second")
            elif request.duration.seconds > domain.MAX_BAN_DURATION.total_seconds():
                v.add("duration", f"must be at most {domain.MAX_BAN_DURATION.days} days")
            else:
                duration = request.duration.ToTimedelta()
        v.raise_if_any()
        view = await handlers.ban_user(
            request.room_id, request.user_id, duration or None, reason, current_caller.get(),
            self._uow(),
        )  # fmt: skip
        return room_to_proto(view)

    async def UnbanUser(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        view = await handlers.unban_user(
            request.room_id, request.user_id, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def ListBannedUsers(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        page = self._pages.request(
            v, request.page_size, request.page_token, {"room": request.room_id}
        )
        bans = await handlers.list_banned_users(
            request.room_id, page, current_caller.get(), self._uow()
        )
        protos, token = self._pages.respond(bans, page, ban_to_proto)
        return room_service_pb2.ListBannedUsersResponse(bans=protos, next_page_token=token)

    async def AddModerator(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        view = await handlers.add_moderator(
            request.room_id, request.user_id, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def RemoveModerator(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        view = await handlers.remove_moderator(
            request.room_id, request.user_id, current_caller.get(), self._uow()
        )
        return room_to_proto(view)

    async def MuteParticipant(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("user_id", request.user_id)
        # Repeats folded; unspecified or unknown sources refused.
        sources = TRACK_SOURCE.read_set(v, "sources", request.sources)
        v.raise_if_any()
        view = await handlers.mute_participant(
            handlers.MuteParticipant(
                room_id=request.room_id,
                user_id=request.user_id,
                sources=tuple(sources),
                muted=request.muted,
            ),
            current_caller.get(),
            self._uow(),
            remote_unmute=self._remote_unmute,
        )
        return room_to_proto(view)

    async def ListViewers(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        page = self._pages.request(
            v, request.page_size, request.page_token, {"room": request.room_id}
        )
        viewers = await handlers.list_viewers(
            request.room_id, page, current_caller.get(), self._uow()
        )
        protos, token = self._pages.respond(viewers, page, viewer_to_proto)
        return room_service_pb2.ListViewersResponse(viewers=protos, next_page_token=token)

    async def StartRecording(self, request, context):
        require_ids(room_id=request.room_id)
        view = await handlers.start_recording(request.room_id, current_caller.get(), self._uow())
        return room_to_proto(view)

    async def StopRecording(self, request, context):
        require_ids(room_id=request.room_id)
        view = await handlers.stop_recording(request.room_id, current_caller.get(), self._uow())
        return room_to_proto(view)

    async def AddCoHost(self, request, context):
        require_ids(
            room_id=request.room_id, user_id=request.user_id, invitation_id=request.invitation_id
        )
        room = await handlers.add_co_host(
            request.room_id, request.user_id, request.invitation_id, self._uow()
        )
        return stage_to_proto(room)

    async def GetRoomAccess(self, request, context):
        require_ids(room_id=request.room_id, user_id=request.user_id)
        access = await handlers.get_room_access(request.room_id, request.user_id, self._uow())
        return room_service_pb2.RoomAccess(
            room=room_to_proto(access.room),
            role=ROLE.to_proto(access.role),
            banned=access.banned,
            ingress_id=access.room.ingress_id or "",
        )

    async def BatchGetRoomAccess(self, request, context):
        v = Violations()
        v.count("user_ids", request.user_ids, MAX_ACCESS_BATCH)
        v.raise_if_any()
        # Each user is answered as GetRoomAccess answers them alone: its checks first, then
        # the room's own failure (ROOM_NOT_FOUND, UNAVAILABLE) is each checked user's.
        answers: dict[str, domain.UserInRoom | ServiceError] = {}
        for user_id in request.user_ids:
            try:
                require_ids(room_id=request.room_id, user_id=user_id)
            except InvalidArgument as error:
                answers[user_id] = error
        checked = [u for u in dict.fromkeys(request.user_ids) if u not in answers]
        if checked:
            try:
                accesses = await handlers.get_room_accesses(request.room_id, checked, self._uow())
                answers.update(zip(checked, accesses, strict=True))
            except ServiceError as error:
                answers.update(dict.fromkeys(checked, error))
        reply = room_service_pb2.BatchGetRoomAccessResponse()
        for user_id in request.user_ids:
            answer = answers[user_id]
            if isinstance(answer, ServiceError):
                reply.users.add(user_id=user_id, error=status_details(answer))
                continue
            if not reply.HasField("room"):
                reply.room.CopyFrom(room_to_proto(answer.room))
            reply.users.add(user_id=user_id, role=ROLE.to_proto(answer.role), banned=answer.banned)
        return reply

    async def ApplyLiveKitEvent(self, request, context):
        v = Violations()
        check_livekit_event(v, "event", request.event)
        v.raise_if_any()
        changed = await apply_livekit_events(
            [request.event],
            self._uow(),
            reconnect_timeout=self._reconnect_timeout,
            egress_start_timeout=self._egress_start_timeout,
        )
        return room_service_pb2.ApplyLiveKitEventResponse(applied=changed > 0)

    async def ApplyLiveKitEvents(self, request, context):
        v = Violations()
        if v.count("events", request.events, MAX_EVENTS):
            for i, event in enumerate(request.events):
                check_livekit_event(v, f"events[{i}]", event)
        v.raise_if_any()
        changed = await apply_livekit_events(
            request.events,
            self._uow(),
            reconnect_timeout=self._reconnect_timeout,
            egress_start_timeout=self._egress_start_timeout,
        )
        return room_service_pb2.ApplyLiveKitEventsResponse(changed_rooms=changed)

    async def WatchRoom(self, request, context):
        require_ids(room_id=request.room_id)
        async for event in self._watch.stream(request.room_id):
            yield event

    async def AttachIngress(self, request, context):
        v = Violations()
        v.room_id("room_id", request.room_id)
        v.identifier("ingress_id", request.ingress_id)
        v.identifier("replaces_ingress_id", request.replaces_ingress_id, required=False)
        v.raise_if_any()
        kept = await handlers.attach_ingress(
            request.room_id, request.ingress_id, request.replaces_ingress_id, self._uow()
        )
        return room_service_pb2.AttachIngressResponse(ingress_id=kept)

    async def PurgeRoom(self, request, context):
        require_ids(room_id=request.room_id)
        await handlers.purge_room(
            request.room_id, current_caller.get(), self._uow(), self._attachments
        )
        return empty_pb2.Empty()
