"""Webhook delivery signed the way livekit/protocol's webhook.URLNotifier signs it.

Body: protojson of WebhookEvent. Header `Authorization: <JWT>` (no Bearer) whose `sha256`
claim is base64(sha256(body)), valid 5 minutes. Events with the same key (egress id, ingress
id, else room name) are delivered in order, one at a time per URL; different keys in parallel.
A failed POST (connection error, 5xx or 429) is retried with exponential backoff.
Events that fall too far behind are dropped, never sent, as webhook.ResourceURLNotifier drops
them: one arriving when its lane already has `max_depth` waiting, or one that waited in its
lane longer than `max_age_s` when its turn comes. A `WebhookLoss` loses events on purpose.
"""

import asyncio
import base64
import datetime
import hashlib
import random
import time
from collections import deque
from dataclasses import dataclass, field

import aiohttp
import structlog
from google.protobuf.json_format import MessageToDict, MessageToJson
from livekit.api import AccessToken
from livekit.protocol.webhook import WebhookEvent

from tools.livekit_emulator.rooms import EVENT_PREFIX, new_sid

CONTENT_TYPE = "application/webhook+json"
USER_AGENT = "LiveKit"
TOKEN_TTL = datetime.timedelta(minutes=5)
_RECENT_EVENTS = 1000

log = structlog.get_logger("livekit_emulator.webhooks")


@dataclass
class EmittedEvent:
    event: WebhookEvent
    queued_at: float = field(default_factory=time.monotonic)  # for the age drop
    # url -> pending|delivered|failed|dropped|lost
    deliveries: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.event.id,
            "event": self.event.event,
            "created_at": self.event.created_at,
            "room": self.event.room.name,
            "room_sid": self.event.room.sid,
            "participant": self.event.participant.identity,
            "deliveries": dict(self.deliveries),
            "body": MessageToDict(self.event, preserving_proto_field_name=True),
        }


@dataclass
class WebhookLoss:
    """Events lost on purpose, never sent: for tests of what converges without them.

    Each event that matches (`events` empty: any name; `room` empty: any room) is lost with
    probability `share`, drawn from its own random.Random so that a seed repeats a run.
    """

    share: float = 0.0
    events: frozenset[str] = frozenset()
    room: str = ""
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def loses(self, event: WebhookEvent) -> bool:
        if self.share <= 0:
            return False
        if self.events and event.event not in self.events:
            return False
        if self.room and event.room.name != self.room:
            return False
        return self._random.random() < self.share

    def as_dict(self) -> dict:
        return {
            "share": self.share,
            "events": sorted(self.events) or None,
            "room": self.room or None,
            "seed": self.seed,
        }


def event_key(event: WebhookEvent) -> str:
    """webhook.EventKey: the order-preserving lane of an event."""
    if event.HasField("egress_info"):
        return event.egress_info.egress_id
    if event.HasField("ingress_info"):
        return event.ingress_info.ingress_id
    if event.HasField("room"):
        return event.room.name
    if event.HasField("participant"):
        return event.participant.identity
    return event.track.sid


def encode_event(event: WebhookEvent) -> str:
    return MessageToJson(event, indent=None)


def sign_body(body: str, api_key: str, api_secret: str) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return AccessToken(api_key, api_secret).with_ttl(TOKEN_TTL).with_sha256(digest).to_jwt()


class WebhookDispatcher:
    def __init__(
        self,
        urls: tuple[str, ...],
        api_key: str,
        api_secret: str,
        *,
        max_retries: int = 4,
        retry_backoff_s: float = 0.5,
        max_backoff_s: float = 5.0,
        request_timeout_s: float = 5.0,
        max_depth: int = 200,
        max_age_s: float = 30.0,
    ) -> None:
        self.urls = tuple(urls)
        self._api_key = api_key
        self._api_secret = api_secret
        self._max_retries = max_retries
        self._retry_backoff_s = retry_backoff_s
        self._max_backoff_s = max_backoff_s
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._max_depth = max_depth
        self._max_age_s = max_age_s
        self._session: aiohttp.ClientSession | None = None
        self._lanes: dict[tuple[str, str], deque[EmittedEvent]] = {}
        self._workers: set[asyncio.Task] = set()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.recent: deque[EmittedEvent] = deque(maxlen=_RECENT_EVENTS)
        self.loss = WebhookLoss()

    def emit(self, events: list[WebhookEvent]) -> None:
        """Queues the events and returns at once; delivery happens in the background."""
        for event in events:
            event.id = new_sid(EVENT_PREFIX)
            event.created_at = int(time.time())
            emitted = EmittedEvent(event=event)
            self.recent.append(emitted)
            lost = self.loss.loses(event)
            log.info(
                "webhook_lost" if lost else "webhook_queued",
                event_id=event.id,
                event_name=event.event,
                room=event.room.name,
                identity=event.participant.identity,
            )
            for url in self.urls:
                if lost:
                    emitted.deliveries[url] = "lost"
                else:
                    emitted.deliveries[url] = "pending"
                    self._enqueue(url, event_key(event), emitted)

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Waits until every queued event was delivered, given up on or dropped."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def set_urls(self, urls: tuple[str, ...]) -> None:
        self.urls = tuple(urls)

    async def reset(self) -> None:
        await self._cancel_workers()
        self.recent.clear()
        self.loss = WebhookLoss()

    async def close(self, drain_timeout_s: float = 2.0) -> None:
        if not await self.drain(drain_timeout_s):
            log.warning("webhooks_undelivered_at_stop", pending=self._pending)
        await self._cancel_workers()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _enqueue(self, url: str, key: str, emitted: EmittedEvent) -> None:
        lane_key = (url, key)
        lane = self._lanes.get(lane_key)
        if lane is not None and len(lane) >= self._max_depth:
            self._drop(url, emitted, "depth")
            return
        self._pending += 1
        self._idle.clear()
        if lane is not None:
            lane.append(emitted)
            return
        self._lanes[lane_key] = deque([emitted])
        worker = asyncio.get_running_loop().create_task(self._run_lane(lane_key))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _run_lane(self, lane_key: tuple[str, str]) -> None:
        url = lane_key[0]
        lane = self._lanes[lane_key]
        try:
            while lane:
                # Taken off before it is sent, as resource_queue.go's worker does: the depth
                # counts the events waiting, not the one being sent.
                emitted = lane.popleft()
                waited_s = time.monotonic() - emitted.queued_at
                if waited_s > self._max_age_s:
                    self._drop(url, emitted, "age", waited_s=round(waited_s, 3))
                else:
                    delivered = await self._deliver(url, emitted.event)
                    emitted.deliveries[url] = "delivered" if delivered else "failed"
                self._done_one()
        finally:
            if self._lanes.get(lane_key) is lane:
                del self._lanes[lane_key]

    def _drop(self, url: str, emitted: EmittedEvent, reason: str, **fields: float) -> None:
        emitted.deliveries[url] = "dropped"
        log.warning(
            "webhook_dropped",
            reason=reason,
            event_id=emitted.event.id,
            event_name=emitted.event.event,
            url=url,
            **fields,
        )

    def _done_one(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    async def _deliver(self, url: str, event: WebhookEvent) -> bool:
        body = encode_event(event)
        headers = {
            "Authorization": sign_body(body, self._api_key, self._api_secret),
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
        }
        bound = log.bind(event_id=event.id, event_name=event.event, url=url)
        for attempt in range(self._max_retries + 1):
            if attempt:
                backoff = min(self._retry_backoff_s * 2 ** (attempt - 1), self._max_backoff_s)
                await asyncio.sleep(backoff)
            try:
                async with self._client().post(
                    url, data=body.encode(), headers=headers, timeout=self._timeout
                ) as response:
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                bound.warning("webhook_send_failed", attempt=attempt, error=type(exc).__name__)
                continue
            # go-retryablehttp's default policy: retry 5xx and 429, not other answers.
            if status < 500 and status != 429:
                if status >= 300:
                    bound.warning("webhook_rejected", status=status)
                    return False
                bound.info("webhook_sent", status=status, attempt=attempt)
                return True
            bound.warning("webhook_send_failed", attempt=attempt, status=status)
        # LiveKit logs this "failed to send webhook"; "dropped" is for events never sent.
        bound.error("webhook_failed", attempts=self._max_retries + 1)
        return False

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _cancel_workers(self) -> None:
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._lanes.clear()
        self._pending = 0
        self._idle.set()
