"""Closed-loop load: workers each calling as fast as answers come back, stopped when their
share of operations is done or a deadline passes, whichever comes first; every call timed and
its outcome counted. The same code drives the echo baseline and the gateway."""

import asyncio
import math
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
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
    name, in the order the RPCs were first called."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)

    def record(self, rpc: str, started: float, outcome: str) -> None:
        """One outcome of a call started at `started` (time.perf_counter())."""
        self.add(rpc, (time.perf_counter() - started) * 1000.0, outcome)

    def add(self, rpc: str, latency_ms: float, outcome: str = "OK") -> None:
        self.latencies[rpc].append(latency_ms)
        self.codes[rpc][outcome] += 1

    async def call(self, rpc: str, start_call: Callable[[], Awaitable[T]]) -> T | None:
        """Make one call; its reply, or None when it failed with a gRPC status."""
        started = time.perf_counter()
        try:
            reply = await start_call()
        except grpc.aio.AioRpcError as error:
            self.record(rpc, started, outcome_of(error))
            return None
        self.record(rpc, started, "OK")
        return reply

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            rpc: {"latencies_ms": latencies, "codes": dict(self.codes[rpc])}
            for rpc, latencies in self.latencies.items()
        }


def outcome_of(error: grpc.aio.AioRpcError) -> str:
    """The status code, and the ErrorInfo reason when costream sent one: CODE:REASON."""
    info = peer_detail(error, error_details_pb2.ErrorInfo)
    # No costream details on, e.g., DEADLINE_EXCEEDED raised by the client itself.
    return f"{error.code().name}:{info.reason}" if info else error.code().name


async def drive(
    operation: Callable[[int], Awaitable[None]],
    indices: Iterator[int],
    *,
    concurrency: int,
    seconds: float,
) -> float:
    """Run `operation(i)` for each i of `indices` from `concurrency` workers until they run out
    or `seconds` have passed; return the wall time from first start to last finish."""
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            index = next(indices, None)
            if index is None:
                return
            await operation(index)

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - begin


@dataclass
class Result:
    """One RPC of one scenario, merged over every client process."""

    scenario: str
    rpc: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    codes: Counter[str]
    ratio: float | None = None  # throughput over the baseline's, set once both are known
    server_cpu_ms: float | None = None  # CPU time of the servers per operation, the same way
    rated: bool = True  # False where a rate means nothing (stream deliveries)

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
            "throughput_per_s": round(self.throughput, 1) if self.rated else None,
            "ratio_to_baseline": round(self.ratio, 3) if self.ratio is not None else None,
            "server_cpu_ms_per_operation": (
                round(self.server_cpu_ms, 3) if self.server_cpu_ms is not None else None
            ),
            "latency_ms": {f"p{p}": round(self.percentile(p), 2) for p in (50, 95, 99)}
            | {"max": round(max(self.latencies_ms, default=0.0), 2)},
        }


def merged(scenario: str, replies: list[dict[str, Any]], concurrency: int) -> list[Result]:
    """One result per RPC from the client processes' replies: latencies concatenated, counts
    summed, the time from the common start to the last process's finish."""
    seconds = max((reply["elapsed"] for reply in replies), default=0.0)
    results: dict[str, Result] = {}
    for reply in replies:
        for rpc, part in reply["rpcs"].items():
            result = results.setdefault(
                rpc, Result(scenario, rpc, concurrency, seconds, [], Counter())
            )
            result.latencies_ms += part["latencies_ms"]
            result.codes.update(part["codes"])
    return list(results.values())
