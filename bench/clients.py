"""The client processes: the load comes from them, not from the process that supervises the
stack. Each is started once with the spawn method and runs one job at a time in a fresh event
loop, in three steps the supervisor paces for all of them at once: prepare (connect, warm up,
mint tokens, sign webhooks), answer "ready" and wait for "go", then run and answer the result.
"""

import asyncio
import multiprocessing
import signal
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

READY, GO, STOP = "ready", "go", "stop"
# Set on Ctrl-C or SIGTERM: the supervisor stops waiting for its client processes.
INTERRUPTED = threading.Event()


@dataclass(frozen=True)
class Job:
    """This process's part of a scenario."""

    scenario: str
    target: str  # host:port of the gateway or the echo service, or the webhook URL
    part: int
    parts: int
    concurrency: int  # calls in flight in this process
    seconds: float  # most time for the timed part
    max_requests: int  # most operations in all processes together
    params: dict[str, Any]

    def indices(self) -> Iterator[int]:
        """This process's share of the operation numbers 0 .. max_requests - 1."""
        return iter(range(self.part, self.max_requests, self.parts))


class ClientFailed(Exception):
    """A client process could not prepare or run its part."""


Ready = Callable[[], Awaitable[None]]
Runner = Callable[[Job, Ready], Awaitable[dict[str, Any]]]


class _Stopped(Exception):
    pass


def serve(pipe: Connection) -> None:
    """A client process's main loop: jobs in, results out, until None."""
    from bench.scenarios import RUNNERS  # imported here: the parent never needs them

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    while (job := pipe.recv()) is not None:
        try:
            reply = asyncio.run(RUNNERS[job.scenario](job, lambda: _ready(pipe)))
        except _Stopped:
            reply = {"error": "stopped by the supervisor"}
        except Exception:
            reply = {"error": traceback.format_exc(limit=6)}
        pipe.send(reply)


async def _ready(pipe: Connection) -> None:
    pipe.send(READY)
    if await asyncio.to_thread(pipe.recv) != GO:
        raise _Stopped


class ClientPool:
    def __init__(self, size: int) -> None:
        self.size = size
        self._context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self._broken = False
        self._start()

    def _start(self) -> None:
        self._pipes, self.processes, self._broken = [], [], False
        for _ in range(self.size):
            ours, theirs = self._context.Pipe()
            process = self._context.Process(target=serve, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            self._pipes.append(ours)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    async def run(
        self,
        jobs: list[Job],
        *,
        seconds: float,
        on_ready: Callable[[], None] = lambda: None,
        on_go: Callable[[], Awaitable[None]] | None = None,
    ) -> list[dict[str, Any]]:
        """Every process's part of a scenario: all prepare, `on_ready()`, all go at once, then
        `on_go()` runs in the supervisor while they work; their replies, within `seconds`."""
        if self._broken:  # a process missed its deadline last time: start afresh
            self.close()
            self._start()
        deadline = time.monotonic() + seconds
        for pipe, job in zip(self._pipes, jobs, strict=True):
            pipe.send(job)
        readies = await asyncio.to_thread(self._receive, deadline)
        failed = [r["error"] for r in readies if r != READY]
        for pipe, reply in zip(self._pipes, readies, strict=True):
            if reply == READY:
                pipe.send(STOP if failed else GO)
        if not failed:
            on_ready()
            if on_go is not None:
                await on_go()
        replies = await asyncio.to_thread(self._receive, deadline, readies)
        failed += [r["error"] for r in replies if "error" in r and r["error"] not in failed]
        if failed:
            raise ClientFailed(failed[0])
        return replies

    def _receive(self, deadline: float, waiting: list[Any] | None = None) -> list[Any]:
        """One message from each process (only from those that answered READY to `waiting`)."""
        replies: list[Any] = []
        for index, pipe in enumerate(self._pipes):
            if waiting is not None and waiting[index] != READY:
                replies.append(waiting[index])  # it failed before getting ready: done
                continue
            while not pipe.poll(0.2):  # in steps, so an interrupted run stops waiting
                if INTERRUPTED.is_set() or time.monotonic() > deadline:
                    self._broken = True
                    raise ClientFailed(f"client process {index} did not answer in time")
            try:
                replies.append(pipe.recv())
            except (EOFError, OSError) as error:
                self._broken = True
                raise ClientFailed(f"client process {index} is gone") from error
        return replies

    def close(self) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
