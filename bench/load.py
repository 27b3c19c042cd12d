"""Closed-loop load: N workers each calling as fast as answers come back, stopped by a request
count and a deadline, whichever comes first; every call timed and its status code counted."""

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2

from services.common.errors import peer_detail

# No call may hang a run: a server that stops answering costs this much, then DEADLINE_EXCEEDED.
CALL_TIMEOUT = 5.0

T = TypeVar("T")


class Recorder:
    """Latencies (ms) and outcomes (OK, or the status code and reason) of every call, by RPC
    name."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)

    async def call(self, rpc: str, start_call: Callable[[], Awaitable[T]]) -> T | None:
        """Make one call; its reply, or None when it failed with a gRPC status."""
        started = time.perf_counter()
        try:
            reply = await start_call()
            code = "OK"
        except grpc.aio.AioRpcError as error:
            reply, code = None, outcome_of(error)
        self.latencies[rpc].append((time.perf_counter() - started) * 1000.0)
        self.codes[rpc][code] += 1
        return reply


def outcome_of(error: grpc.aio.AioRpcError) -> str:
    """The status code, and the ErrorInfo reason when costream sent one: CODE:REASON."""
    info = peer_detail(error, error_details_pb2.ErrorInfo)
    # No costream details on, e.g., DEADLINE_EXCEEDED raised by the client itself.
    return f"{error.code().name}:{info.reason}" if info else error.code().name


@dataclass
class Result:
    scenario: str
    rpc: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    codes: Counter[str]
    notes: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        return self.requests - self.codes.get("OK", 0)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in ms (0 with no calls)."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "rpc": self.rpc,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "errors": self.errors,
            "codes": dict(self.codes),
            "throughput_rps": round(self.throughput, 1),
            "latency_ms": {f"p{p}": round(self.percentile(p), 2) for p in (50, 95, 99)}
            | {"max": round(max(self.latencies_ms, default=0.0), 2)},
            "notes": self.notes,
        }


async def drive(
    operation: Callable[[int], Awaitable[None]],
    *,
    concurrency: int,
    seconds: float,
    max_operations: int,
) -> float:
    """Run `operation(worker_index)` from `concurrency` workers until `seconds` have passed or
    `max_operations` have started; return the wall time from first start to last finish."""
    deadline = time.monotonic() + seconds
    started = 0

    async def worker(index: int) -> None:
        nonlocal started
        while started < max_operations and time.monotonic() < deadline:
            started += 1
            await operation(index)

    begin = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return time.perf_counter() - begin


def results_of(
    scenario: str, recorder: Recorder, concurrency: int, seconds: float, notes: str = ""
) -> list[Result]:
    """One result per RPC the scenario called, in the order they were first called."""
    return [
        Result(scenario, rpc, concurrency, seconds, latencies, recorder.codes[rpc], notes)
        for rpc, latencies in recorder.latencies.items()
    ]
