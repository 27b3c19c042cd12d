"""`make bench`: start the real stack on free ports with a fresh database, an echo service as the
ceiling, and client processes; run every scenario through the gateway from the client
processes; print the table (ratios to the echo baseline of this run) and write it as JSON to
bench/results/; stop it all.

Progress goes to stderr, the report to stdout. Every loop is bounded by a count and a
duration, every call by a deadline; nothing here asserts anything: errors are reported."""

import argparse
import asyncio
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import grpc
from costream.gateway.v1 import gateway_service_pb2_grpc
from costream.room.v1 import room_pb2
from costream.room.v1 import room_service_pb2 as rs
from google.protobuf import field_mask_pb2, struct_pb2

from bench import webhooks
from bench.clients import INTERRUPTED, ClientFailed, ClientPool, Job
from bench.echo import ECHO_METHOD, PUBLISH_METHOD
from bench.live_rooms import (
    IN_FLIGHT,
    LiveRoom,
    counts_converge,
    create_rooms,
    open_live_rooms,
    rooms_of,
    viewers_of,
    without_webhooks,
)
from bench.load import CALL_TIMEOUT, Recorder, Result, merged
from bench.report import OTHERS, Usage, table, write_json
from bench.scenarios import READERS, UPDATE_NUMBER, UPDATE_SENT, auth
from services.common.logging import configure_logging
from tools.devstack import Stack, free_port
from tools.livekit_emulator.client import AsyncEmulatorClient
from tools.local_postgres import LOCAL_DIR, create_database, drop_database, start_local_postgres

PGDATA = LOCAL_DIR / "bench-pgdata"
LOG_DIR = LOCAL_DIR / "bench-logs"
# Time a client process may take to prepare its part (connect, warm up, mint, sign, open).
PREPARE_SECONDS = 60.0


@dataclass(frozen=True)
class Mode:
    name: str
    seconds: float  # the timed part of each steady scenario
    max_requests: int  # the most operations of each steady scenario
    live_rooms: int  # the live feed's rooms; the other live-room scenarios use some of them
    storm_viewers: int
    storm_seconds: float
    cohost_rooms: int
    race_rooms: int
    webhook_viewers: int  # joins of the one-room scenarios (then half of them leave)
    viewers_per_room: int  # joins of each room of webhooks_100_rooms
    webhook_seconds: float
    converge_seconds: float
    watchers: int
    watch_updates: int


QUICK = Mode(
    "quick",
    seconds=2.5,
    max_requests=20_000,
    live_rooms=500,
    storm_viewers=5000,
    storm_seconds=25,
    cohost_rooms=40,
    race_rooms=8,
    webhook_viewers=600,
    viewers_per_room=16,
    webhook_seconds=20,
    converge_seconds=15,
    watchers=1000,
    watch_updates=5,
)
FULL = Mode(
    "full",
    seconds=10,
    max_requests=100_000,
    live_rooms=500,
    storm_viewers=5000,
    storm_seconds=40,
    cohost_rooms=150,
    race_rooms=20,
    webhook_viewers=2000,
    viewers_per_room=40,
    webhook_seconds=60,
    converge_seconds=30,
    watchers=1000,
    watch_updates=10,
)
WEBHOOK_ROOMS = 100
WATCH_CHANNELS = 8  # per client process
WATCH_INTERVAL = 1.0  # seconds between two updates of the watched room


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Throughput, latency and memory of the costream stack through the gateway, "
        "as ratios to a gRPC echo service measured in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller run, under two minutes")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument(
        "--concurrency", type=int, default=64, help="calls in flight in all (default 64)"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated scenarios to run, of: {', '.join(SCENARIOS)}"
    )
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    if unknown := set(args.only) - set(SCENARIOS):
        parser.error(f"--only: unknown scenarios {', '.join(sorted(unknown))}")
    if not 1 <= args.clients <= 16:
        parser.error("--clients: from 1 to 16")
    if not args.clients <= args.concurrency <= 1000:
        parser.error("--concurrency: at least --clients, at most 1000")
    return args


class Bench:
    """One run: the stack, the client processes, and what every scenario reported."""

    def __init__(
        self,
        stack: Stack,
        echo_addr: str,
        pool: ClientPool,
        usage: Usage,
        mode: Mode,
        concurrency: int,
    ) -> None:
        self.stack = stack
        self.echo_addr = echo_addr
        self.pool = pool
        self.usage = usage
        self.mode = mode
        self.concurrency = concurrency
        self.emulator = AsyncEmulatorClient(stack.emulator_url)
        self.webhook_url = f"http://127.0.0.1:{stack.settings.broadcast_http_port}/livekit/webhook"
        self.results: list[Result] = []
        self.notes: dict[str, list[str]] = {}
        self.live: list[LiveRoom] = []
        self.setup = ""
        self.gateway: gateway_service_pb2_grpc.GatewayServiceStub

    def note(self, scenario: str, line: str) -> None:
        self.notes.setdefault(scenario, []).append(line)

    def shares(self, total: int) -> list[int]:
        """`total` calls in flight split over the client processes."""
        size = self.pool.size
        return [total // size + (part < total % size) for part in range(size)]

    async def run_jobs(
        self,
        scenario: str,
        kind: str,
        target: str,
        params: list[dict[str, Any]],
        *,
        concurrency: list[int],
        seconds: float,
        max_requests: int = 0,
        on_go: Callable[[], Awaitable[None]] | None = None,
    ) -> list[dict[str, Any]]:
        """Every client process's part (`params[part]`) of a scenario; the CPU time of every
        process during the timed part is counted for `scenario`."""
        jobs = [
            Job(kind, target, part, self.pool.size, concurrency[part], seconds, max_requests, p)
            for part, p in enumerate(params)
        ]
        replies = await self.pool.run(
            jobs,
            seconds=PREPARE_SECONDS + seconds + 30,
            on_ready=self.usage.begin,
            on_go=on_go,
        )
        self.usage.end(scenario)
        return replies

    async def steady(
        self,
        scenario: str,
        params: dict[str, Any],
        *,
        target: str = "",
        kind: str = "",
        max_requests: int | None = None,
        seconds: float | None = None,
    ) -> list[Result]:
        """A scenario of one-call operations (the client runner `kind`, by default the
        scenario's own) at the run's concurrency."""
        replies = await self.run_jobs(
            scenario,
            kind or scenario,
            target or self.stack.addr("gateway"),
            [params] * self.pool.size,
            concurrency=self.shares(self.concurrency),
            seconds=seconds or self.mode.seconds,
            max_requests=max_requests or self.mode.max_requests,
        )
        results = merged(scenario, replies, self.concurrency)
        self.results += results
        return results


# --- the scenarios, as the supervisor sets them up and reads them back ---


async def open_rooms(b: Bench) -> None:
    began = time.monotonic()
    say(f"Opening {b.mode.live_rooms} live rooms (a post each, hosts joining LiveKit) ...")
    b.live, failures = await open_live_rooms(b.gateway, b.emulator, b.mode.live_rooms, seconds=120)
    took = time.monotonic() - began
    failed = ", ".join(f"{k} {n}" for k, n in failures.items() if n)
    say(f"{len(b.live)} rooms live in {took:.1f} s{'; ' + failed if failed else ''}.")
    b.setup = f"{len(b.live)} of {b.mode.live_rooms} live rooms set up in {took:.1f} s"


async def baseline(b: Bench, scenario: str = "baseline") -> None:
    # The request a GetRoom sends, echoed back: the same client code and metadata.
    payload = rs.GetRoomRequest(room_id=b.live[0].room_id).SerializeToString()
    await b.steady(scenario, {"payload": payload}, target=b.echo_addr, kind="baseline")
    b.note(scenario, f"grpc.aio echo of {ECHO_METHOD}")


async def baseline_end(b: Bench) -> None:
    """The ceiling again, at the end: the ratios divide by the mean of both runs."""
    await baseline(b, "baseline_end")


def set_server_cpu(b: Bench, clients: set[str]) -> None:
    """On each scenario's first rated row, the CPU time of every process but the clients, the
    supervisor and the rest of the machine (the stack and PostgreSQL; the echo service for the
    baselines) per operation: steadier from run to run than throughput."""
    done: set[str] = set()
    for result in b.results:
        cpu = b.usage.by_scenario.get(result.scenario)
        if not result.rated or not result.requests or cpu is None or result.scenario in done:
            continue
        done.add(result.scenario)
        servers = sum(s for name, s in cpu.items() if name not in clients)
        result.server_cpu_ms = 1000 * servers / result.requests


def set_ratios(b: Bench) -> None:
    """Every rated result's throughput over the mean of the baseline runs."""
    rates = [r.throughput for r in b.results if r.scenario in ("baseline", "baseline_end")]
    if not rates:
        return
    ceiling = sum(rates) / len(rates)
    for result in b.results:
        if result.rated:
            result.ratio = result.throughput / ceiling
    note = f"ratios are to {ceiling:.0f} calls/s, the mean of the baseline runs"
    if max(rates) > 1.15 * min(rates):
        note += (
            f", which differ by {100 * (max(rates) / min(rates) - 1):.0f} %: something else "
            "used the machine (see 'others' below) and the ratios are less sure"
        )
    b.note("baseline", note)


async def create_room(b: Bench) -> None:
    await b.steady("create_room", {})


def few_live_rooms(b: Bench) -> list[LiveRoom]:
    return b.live[:5]


async def get_room(b: Bench) -> None:
    await b.steady("get_room", {"room_ids": [r.room_id for r in few_live_rooms(b)]})
    b.note("get_room", f"GetRoom of {len(few_live_rooms(b))} live rooms by {READERS} readers")


async def get_room_view(b: Bench) -> None:
    await b.steady("get_room_view", {"room_ids": [r.room_id for r in few_live_rooms(b)]})


async def get_broadcast_data(b: Bench) -> None:
    rooms = [(r.room_id, r.host_user_id) for r in few_live_rooms(b)]
    await b.steady("get_broadcast_data", {"rooms": rooms})
    b.note("get_broadcast_data", "the hosts of 5 live rooms asking for their credentials")


async def viewer_join_storm(b: Bench) -> None:
    room = b.live[5]
    [result] = await b.steady(
        "viewer_join_storm",
        {"room_id": room.room_id},
        max_requests=b.mode.storm_viewers,
        seconds=b.mode.storm_seconds,
    )
    b.note(
        "viewer_join_storm",
        f"{result.requests} of {b.mode.storm_viewers} distinct viewers, each once, one live room",
    )


async def live_feed(b: Bench) -> None:
    await b.steady("live_feed", {})
    b.note("live_feed", f"ListLiveRoomPosts, page of 20, {len(b.live)} live rooms")


async def seats_taken(b: Bench, scenario: str, rooms: list[tuple[str, str]]) -> None:
    """Co-hosts seated per room the scenario reached, read back: none may be over max_co_hosts."""
    after = await rooms_of(b.gateway, [room_id for room_id, _ in rooms], rooms[0][1])
    seated = {
        r.room_id: sum(p.role == room_pb2.PARTICIPANT_ROLE_CO_HOST for p in r.participants)
        for r in after
    }
    reached = [n for n in seated.values() if n]
    over = sum(seated[r.room_id] > r.max_co_hosts for r in after)
    b.note(
        scenario,
        f"{len(reached)} of {len(rooms)} rooms reached, co-hosts seated in each "
        f"{min(reached, default=0)}-{max(reached, default=0)} of {after[0].max_co_hosts}; "
        f"rooms over max_co_hosts: {over}",
    )


async def cohost_flow(b: Bench) -> None:
    """Hosts invite and invitees accept, rooms taking turns, as many as the rooms have seats."""
    rooms = await create_rooms(b.gateway, b.mode.cohost_rooms, "cohost")
    room = await b.gateway.GetRoom(
        rs.GetRoomRequest(room_id=rooms[0][0]), metadata=auth(rooms[0][1]), timeout=CALL_TIMEOUT
    )
    params = {"rooms": rooms, "prefix": "co"}
    await b.steady("cohost_flow", params, max_requests=len(rooms) * room.max_co_hosts)
    await seats_taken(b, "cohost_flow", rooms)


async def seat_race(b: Bench) -> None:
    """All calls in flight on one room at a time: a room's invitees race for its few seats."""
    rooms = await create_rooms(b.gateway, b.mode.race_rooms, "race")
    params = {"rooms": rooms, "prefix": "racer", "per_room": b.concurrency}
    await b.steady("seat_race", params, max_requests=len(rooms) * b.concurrency)
    await seats_taken(b, "seat_race", rooms)
    b.note("seat_race", f"{b.concurrency} invitees per room at once; the late ones are refused")


async def announce(b: Bench, scenario: str, viewers: list[webhooks.Viewer], senders: int) -> None:
    """Post the surge's webhooks from `senders` senders spread over the client processes, then
    poll the rooms until their viewer counts are what the acknowledged events make them."""
    lanes = webhooks.senders_of(viewers, senders)
    parts = b.pool.size
    replies = await b.run_jobs(
        scenario,
        "webhooks",
        b.webhook_url,
        [{"lanes": lanes[part::parts]} for part in range(parts)],
        concurrency=[len(lanes[part::parts]) for part in range(parts)],
        seconds=b.mode.webhook_seconds,
    )
    sent_at = time.monotonic()
    results = merged(scenario, replies, senders)
    b.results += results
    expected: Counter[str] = Counter({v.room_id: 0 for v in viewers})
    retries: Counter[str] = Counter()
    for reply in replies:
        expected.update(reply["expected"])
        retries.update(reply["retries"])
    unsent = sum(reply["unsent"] for reply in replies)
    host = viewers[0].host_user_id
    took, seen = await counts_converge(b.gateway, dict(expected), host, b.mode.converge_seconds)
    waited = time.monotonic() - sent_at
    if took is not None:
        b.note(
            scenario,
            f"final viewer counts EXACT in {len(expected)} room(s) "
            f"({sum(expected.values())} viewers), {took:.2f} s after the last answer",
        )
    else:
        counts = {room_id: seen.get(room_id, (-1, 0))[0] for room_id in expected}
        off = [
            f"{room_id[-8:]}: {counts[room_id]} of {n}"
            for room_id, n in expected.items()
            if counts[room_id] != n
        ]
        b.note(
            scenario,
            f"final viewer counts NOT exact after {waited:.0f} s in {len(off)} of "
            f"{len(expected)} room(s): {', '.join(off[:3])}",
        )
    peaks = {peak for _, peak in seen.values()}
    b.note(
        scenario,
        f"peak_viewer_count {min(peaks)}-{max(peaks)}; "
        f"events per room {len(viewers) * 3 // 2 // len(expected)}",
    )
    if retries or unsent:
        b.note(scenario, f"retried: {dict(retries) or 0}; not sent before the deadline: {unsent}")


async def surge(b: Bench, scenario: str, rooms: list[LiveRoom], per_room: int, senders: int):
    """`per_room` viewers join each room, then half of them leave. The ones that stay are
    joined in the emulator first, with its webhooks off (the bench sends them instead)."""
    urls = await without_webhooks(b.emulator)
    try:
        by_room = await asyncio.gather(
            *(
                viewers_of(b.emulator, room, f"{scenario}-{n}", per_room)
                for n, room in enumerate(rooms)
            )
        )
    finally:
        await b.emulator.post("webhooks/urls", urls=urls)
    # Rooms side by side, so with a sender per room each room's events are on its own sender.
    viewers = [viewers[n] for n in range(per_room) for viewers in by_room]
    await announce(b, scenario, viewers, senders)


async def webhooks_one_room(b: Bench) -> None:
    await surge(b, "webhooks_one_room", [b.live[-1]], b.mode.webhook_viewers, senders=1)


async def webhooks_32_senders(b: Bench) -> None:
    await surge(b, "webhooks_32_senders", [b.live[-2]], b.mode.webhook_viewers, senders=32)


async def webhooks_100_rooms(b: Bench) -> None:
    rooms = b.live[: min(WEBHOOK_ROOMS, len(b.live) - 3)]
    await surge(b, "webhooks_100_rooms", rooms, b.mode.viewers_per_room, senders=len(rooms))


async def get_room_crowded(b: Bench) -> None:
    """GetRoom of the room webhooks_one_room left with its viewers connected: a popular room."""
    room = b.live[-1]
    got = await b.gateway.GetRoom(
        rs.GetRoomRequest(room_id=room.room_id),
        metadata=auth(room.host_user_id),
        timeout=CALL_TIMEOUT,
    )
    await b.steady("get_room_crowded", {"room_ids": [room.room_id]}, kind="get_room")
    b.note("get_room_crowded", f"GetRoom of one live room with {got.stats.viewer_count} viewers")


def update_metadata(number: int) -> struct_pb2.Struct:
    """Update `number`'s room metadata: its number and when it was sent."""
    metadata = struct_pb2.Struct()
    metadata.update({UPDATE_NUMBER: number, UPDATE_SENT: time.time()})
    return metadata


async def fanout(
    b: Bench,
    scenario: str,
    kind: str,
    target: str,
    update: Callable[[Recorder, int], Awaitable[None]],
) -> None:
    """Watchers open their streams; then `update(rec, number)` every WATCH_INTERVAL s."""
    updates = Recorder()

    async def update_all() -> None:
        for number in range(1, b.mode.watch_updates + 1):
            await update(updates, number)
            await asyncio.sleep(WATCH_INTERVAL)

    seconds = b.mode.watch_updates * WATCH_INTERVAL + 10
    params = {
        "room_id": b.live[-3].room_id,
        "watchers": b.mode.watchers,
        "channels": WATCH_CHANNELS,
        "updates": b.mode.watch_updates,
        "open_seconds": 40.0,
        "stream_seconds": 40.0 + seconds + 10,
    }
    replies = await b.run_jobs(
        scenario,
        kind,
        target,
        [params] * b.pool.size,
        concurrency=b.shares(b.mode.watchers),
        seconds=seconds,
        on_go=update_all,
    )
    results = merged(scenario, replies, b.mode.watchers)
    results += merged(scenario, [{"rpcs": updates.as_dict(), "elapsed": 0.0}], 1)
    for result in results:
        result.rated = False
    b.results += results
    counted: Counter[str] = Counter()
    for reply in replies:
        counted.update(reply["counted"])
    b.note(
        scenario,
        f"{b.mode.watch_updates} updates {WATCH_INTERVAL:g} s apart to {b.mode.watchers} "
        f"watchers over {WATCH_CHANNELS * b.pool.size} channels, opened in "
        f"{max(reply['opening'] for reply in replies):.1f} s",
    )
    b.note(scenario, "; ".join(f"{k} {n}" for k, n in sorted(counted.items())))


async def watch_baseline(b: Bench) -> None:
    """The same watchers on the echo service, which sends each update to every stream."""
    async with grpc.aio.insecure_channel(b.echo_addr) as channel:
        publish = channel.unary_unary(PUBLISH_METHOD)

        async def update(rec: Recorder, number: int) -> None:
            event = room_pb2.RoomEvent(
                kind=room_pb2.ROOM_EVENT_KIND_UPDATED,
                room=room_pb2.Room(room_id=b.live[-3].room_id, metadata=update_metadata(number)),
            )
            event.room.update_time.GetCurrentTime()
            payload = event.SerializeToString()
            await rec.call("Publish", lambda: publish(payload, timeout=CALL_TIMEOUT))

        await fanout(b, "watch_baseline", "watch_echo", b.echo_addr, update)
    b.note("watch_baseline", "the echo service's Watch: the floor of a fan-out to these streams")


async def watch_fanout(b: Bench) -> None:
    """The host updates a live room its watchers follow through the gateway."""
    room = b.live[-3]

    async def update(rec: Recorder, number: int) -> None:
        request = rs.UpdateRoomRequest(
            room=room_pb2.Room(room_id=room.room_id, metadata=update_metadata(number)),
            update_mask=field_mask_pb2.FieldMask(paths=["metadata"]),
        )
        await rec.call(
            "UpdateRoom",
            lambda: b.gateway.UpdateRoom(
                request, metadata=auth(room.host_user_id), timeout=CALL_TIMEOUT
            ),
        )

    await fanout(b, "watch_fanout", "watch", b.stack.addr("gateway"), update)


STEPS: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "baseline": baseline,
    "create_room": create_room,
    "get_room": get_room,
    "get_room_view": get_room_view,
    "get_broadcast_data": get_broadcast_data,
    "viewer_join_storm": viewer_join_storm,
    "live_feed": live_feed,
    "cohost_flow": cohost_flow,
    "seat_race": seat_race,
    "webhooks_one_room": webhooks_one_room,
    "webhooks_32_senders": webhooks_32_senders,
    "webhooks_100_rooms": webhooks_100_rooms,
    "get_room_crowded": get_room_crowded,
    "watch_baseline": watch_baseline,
    "watch_fanout": watch_fanout,
    "baseline_end": baseline_end,
}
SCENARIOS = tuple(STEPS)


async def run_scenarios(b: Bench, wanted: list[str]) -> None:
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(IN_FLIGHT + 4))
    async with grpc.aio.insecure_channel(b.stack.addr("gateway")) as channel:
        b.gateway = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        await open_rooms(b)
        if len(b.live) < 9:
            say(f"Only {len(b.live)} live rooms went live: nothing to measure.")
            return
        for scenario in [s for s in STEPS if s in wanted]:
            try:
                say(f"{scenario} ...")
                await STEPS[scenario](b)
            except (ClientFailed, grpc.aio.AioRpcError) as error:
                reason = error if isinstance(error, ClientFailed) else error.code().name
                say(f"{scenario} failed: {reason}")
                b.note(scenario, f"FAILED: {str(reason).strip().splitlines()[-1]}")


def start_echo(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "bench.echo", str(port)])  # noqa: S603
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    return process


def _interrupt(*_: object) -> NoReturn:
    INTERRUPTED.set()
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    mode = QUICK if args.quick else FULL
    # Only warnings from this process (the migrations' info lines): stdout is for the report.
    configure_logging("bench", "console", level=logging.WARNING)
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGTERM cleans up as Ctrl-C does
        signal.signal(signum, _interrupt)
    began, started = time.monotonic(), datetime.now(UTC)
    pool = ClientPool(args.clients)  # they start while the stack does
    server_url = os.environ.get("DATABASE_URL")
    database = "DATABASE_URL" if server_url else "embedded PostgreSQL"
    if not server_url:
        say(f"Starting embedded PostgreSQL in {PGDATA} ...")
        server_url = start_local_postgres(PGDATA, delete=True)
    database_url = asyncio.run(create_database(server_url, "costream_bench"))
    shutil.rmtree(LOG_DIR, ignore_errors=True)  # the last run's logs
    stack = Stack.isolated(database_url, log_dir=LOG_DIR, say=say)
    echo: subprocess.Popen | None = None
    try:
        try:
            stack.start()  # applies the migrations, then starts the emulator and the services
        except RuntimeError as e:
            say(f"{e}\n{_log_tails()}")
            return 1
        echo_port = free_port()
        echo = start_echo(echo_port)
        pids = {name: process.pid for name, process in stack.processes.items()}
        pids |= {"echo": echo.pid, "supervisor": os.getpid()}
        pids |= {f"client {n}": pid for n, pid in enumerate(pool.pids)}
        usage = Usage(pids, database_url.rsplit("/", 1)[1])
        bench = Bench(stack, f"127.0.0.1:{echo_port}", pool, usage, mode, args.concurrency)
        asyncio.run(run_scenarios(bench, args.only))
        processes = usage.summary(stack.services)
        stopped = stack.exited()
    except KeyboardInterrupt:
        say("Interrupted.")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        pool.close()
        if echo is not None:
            echo.terminate()
            echo.wait(10)
        say("Stopping the stack ...")
        stack.stop()
        asyncio.run(drop_database(server_url, database_url))
        signal.signal(signal.SIGINT, signal.default_int_handler)

    set_ratios(bench)
    set_server_cpu(bench, {"supervisor", OTHERS, *(name for name in pids if "client" in name)})
    context = {
        "mode": mode.name,
        "time": started.isoformat(timespec="seconds"),
        "settings": mode.__dict__,
        "concurrency": args.concurrency,
        "client_processes": args.clients,
        "database": database,
        "live_rooms": len(bench.live),
        "setup": bench.setup,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "wall_seconds": round(time.monotonic() - began, 1),
        "notes": bench.notes,
        "exited_early": dict(stopped),
    }
    print(table(context, bench.results, processes, usage.by_scenario))
    say(f"Wrote {write_json(context, bench.results, processes, usage.by_scenario, started)}")
    return 0


def _log_tails() -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        for path in sorted(LOG_DIR.glob("*.log"))
    )


if __name__ == "__main__":
    sys.exit(main())
