"""Calls to a peer that arrive together, sent as one batch call: a crowd asking the same thing
at once costs a few calls instead of one each (group commit). Every caller still gets its own
answer or error, read after its call began; only the trip is shared.

A key (a room, or one key for everything) with no batch on its way sends what waits at the
next turn of the event loop; one with a batch on its way lets what arrives meanwhile wait for
it to come back, or `linger` seconds at most, then sends it all at once."""

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

import grpc

from services.common.server import request_deadline

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 (an item asked about)
R = TypeVar("R")  # its answer


@dataclass
class Waiting(Generic[I, R]):
    """One call waiting for its batch: what it asks, until when (time.monotonic(), None for
    no deadline), and where its answer goes."""

    item: I
    deadline: float | None
    answer: asyncio.Future[R] = field(repr=False)


class Send(Enum):
    """When the calls waiting under a key go."""

    NOW = "now"  # at the next turn of the event loop: nothing of the key is on its way
    LATER = "later"  # when the key's batch on its way comes back, or after the linger


class Batches(Generic[K, I, R]):
    """The calls waiting, by key, and how many batches of each key are on their way. No I/O."""

    def __init__(self, max_batch: int) -> None:
        self._max_batch = max_batch
        self._waiting: dict[K, list[Waiting[I, R]]] = {}
        self._on_the_way: dict[K, int] = {}

    def add(self, key: K, waiting: Waiting[I, R]) -> Send | None:
        """Queue a call; for the key's first waiting call, when the key's calls must go."""
        queue = self._waiting.setdefault(key, [])
        queue.append(waiting)
        if len(queue) > 1:
            return None
        return Send.LATER if self._on_the_way.get(key) else Send.NOW

    def take(self, key: K) -> list[list[Waiting[I, R]]]:
        """The key's waiting calls in batches of at most `max_batch`, now on their way."""
        queue = self._waiting.pop(key, [])
        size = self._max_batch
        batches = [queue[i : i + size] for i in range(0, len(queue), size)]
        if batches:
            self._on_the_way[key] = self._on_the_way.get(key, 0) + len(batches)
        return batches

    def back(self, key: K) -> bool:
        """A batch of the key came back; True when calls wait for it."""
        left = self._on_the_way[key] - 1
        if left:
            self._on_the_way[key] = left
        else:
            del self._on_the_way[key]
        return key in self._waiting


def batch_deadline(batch: list[Waiting[I, R]]) -> float | None:
    """A batch waits as long as its most patient call (each call still ends at its own)."""
    deadlines = [w.deadline for w in batch]
    return None if None in deadlines else max(d for d in deadlines if d is not None)


def own_copy(error: Exception) -> Exception:
    """An error of its own for each call of a batch that failed as a whole (a raised error
    collects its raiser's traceback)."""
    if isinstance(error, grpc.aio.AioRpcError):
        return grpc.aio.AioRpcError(
            error.code(),
            error.initial_metadata(),
            error.trailing_metadata(),
            error.details(),
            error.debug_error_string(),
        )
    return error


class Coalescer(Generic[K, I, R]):
    """`await call(key, item)` for many callers, as `send(key, items)` for many items:
    `send` returns one answer per item, in order, each a value or the exception that caller
    raises; when `send` itself raises, every caller of the batch raises it. `send` runs in a
    context of its own (no caller's token or request id travels with it), within the latest
    deadline of its callers."""

    def __init__(
        self,
        send: Callable[[K, list[I]], Awaitable[list[R | Exception]]],
        *,
        max_batch: int,
        linger: float,
    ) -> None:
        self._send = send
        self._batches: Batches[K, I, R] = Batches(max_batch)
        self._linger = linger
        self._timers: dict[K, asyncio.Handle] = {}
        # Batches on their way; kept so they are not garbage collected.
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, key: K, item: I) -> R:
        loop = asyncio.get_running_loop()
        waiting: Waiting[I, R] = Waiting(item, request_deadline.get(), loop.create_future())
        send = self._batches.add(key, waiting)
        if send is Send.NOW:
            self._timers[key] = loop.call_soon(self._go, key)
        elif send is Send.LATER:
            self._timers[key] = loop.call_later(self._linger, self._go, key)
        return await waiting.answer

    def _go(self, key: K) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        for batch in self._batches.take(key):
            task = loop.create_task(self._ask(key, batch), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _ask(self, key: K, batch: list[Waiting[I, R]]) -> None:
        request_deadline.set(batch_deadline(batch))
        answers: list[R | Exception]
        try:
            answers = await self._send(key, [w.item for w in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to a batch of {len(batch)}")
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.answer.cancel()
            raise
        except Exception as error:
            answers = [own_copy(error) for _ in batch]
        finally:
            if self._batches.back(key):
                self._go(key)
        for waiting, answer in zip(batch, answers, strict=True):
            if waiting.answer.done():  # its caller went away
                continue
            if isinstance(answer, Exception):
                waiting.answer.set_exception(answer)
            else:
                waiting.answer.set_result(answer)
