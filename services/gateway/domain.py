"""Gateway rules without I/O: per-user rate limits, a caller's role in a room, and how a page
of live rooms meets its posts."""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from costream.gateway.v1 import gateway_pb2
from costream.post.v1 import post_pb2
from costream.room.v1 import room_pb2

from services.common.errors import ResourceExhausted

# How often idle buckets are forgotten; a bucket idle this long is full again anyway.
_SWEEP_SECONDS = 60.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per user id, in this process: `per_minute` calls a minute on average and
    bursts of as many. Several gateway replicas each allow that many (the limit is per replica)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._last_sweep = clock()

    def take(self, user_id: str) -> None:
        """Spend one call of `user_id`'s allowance, or raise RESOURCE_EXHAUSTED RATE_LIMITED."""
        now = self._clock()
        self._forget_idle(now)
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(self._capacity, now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            retry_after = (1.0 - bucket.tokens) / self._rate
            raise ResourceExhausted(
                "RATE_LIMITED",
                f"too many calls; retry in {retry_after:.1f} s",
                metadata={"retry_after_seconds": f"{retry_after:.1f}"},
            )
        bucket.tokens -= 1.0

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded by the users of the last minute or so."""
        if now - self._last_sweep < _SWEEP_SECONDS:
            return
        self._last_sweep = now
        full_after = self._capacity / self._rate
        self._buckets = {u: b for u, b in self._buckets.items() if now - b.updated < full_after}

    def __len__(self) -> int:
        return len(self._buckets)


class StreamLimit:
    """At most `per_user` Watch streams open at once per user, in this process (api.md: per
    gateway replica); one more is RESOURCE_EXHAUSTED TOO_MANY_STREAMS."""

    def __init__(self, per_user: int) -> None:
        self._per_user = per_user
        self._open: dict[str, int] = {}

    @contextmanager
    def hold(self, user_id: str) -> Iterator[None]:
        held = self._open.get(user_id, 0)
        if held >= self._per_user:
            raise ResourceExhausted(
                "TOO_MANY_STREAMS",
                f"at most {self._per_user} streams open at once; close one first",
                metadata={"max_streams": str(self._per_user)},
            )
        self._open[user_id] = held + 1
        try:
            yield
        finally:
            if self._open[user_id] == 1:
                del self._open[user_id]
            else:
                self._open[user_id] -= 1

    def open_streams(self, user_id: str) -> int:
        return self._open.get(user_id, 0)


def role_in(room: room_pb2.Room, user_id: str) -> gateway_pb2.RoomRole:
    """Host, co-host (on stage now) or viewer (everyone else)."""
    if room.host_user_id == user_id:
        return gateway_pb2.ROOM_ROLE_HOST
    for participant in room.participants:
        if participant.user_id == user_id and participant.role == room_pb2.PARTICIPANT_ROLE_CO_HOST:
            return gateway_pb2.ROOM_ROLE_CO_HOST
    return gateway_pb2.ROOM_ROLE_VIEWER


def newest_posts(posts: Iterable[post_pb2.Post]) -> dict[str, post_pb2.Post]:
    """The newest post of each room, from posts listed newest first (ListPostsByRoom)."""
    newest: dict[str, post_pb2.Post] = {}
    for post in posts:
        newest.setdefault(post.room_id, post)
    return newest


def live_room_posts(
    rooms: Iterable[room_pb2.Room], posts: Iterable[post_pb2.Post]
) -> list[gateway_pb2.LiveRoomPost]:
    """Each room with its newest post, in the rooms' order; a room nobody posted is left out
    (the feed shows posts)."""
    newest = newest_posts(posts)
    return [
        gateway_pb2.LiveRoomPost(post=newest[room.room_id], room=room)
        for room in rooms
        if room.room_id in newest
    ]
