"""The pieces of one webhook's intake, timed alone: `python -m bench.webhook_parts` (needs
DATABASE_URL: a fresh database is made on that server and dropped afterwards).

CPU pieces are timed in CPU time of the thread (µs per call, the median of 7 rounds of 1 000
calls, the pieces interleaved); database pieces as latency
percentiles of one call after another on one connection, the variants interleaved so that
whatever else the machine does falls on all of them alike. INSERT+COMMIT is the floor of one
room's intake: LiveKit sends a room's next webhook only after this one's answer."""

import argparse
import os
import random
import sys
import time
import timeit
from collections.abc import Awaitable, Callable

import uvloop
from google.protobuf.json_format import Parse
from livekit.api import TokenVerifier, WebhookReceiver
from livekit.protocol.webhook import WebhookEvent

from bench.webhooks import LEFT, Viewer, signed
from services.broadcast import domain
from services.broadcast.deliveries import accepted
from services.common.config import DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET
from services.common.db import Database
from services.common.migrations import migrate
from services.common.outbox import OutboxAppender
from services.common.validation import Violations
from services.room.client import check_livekit_event
from tools.local_postgres import create_database, drop_database

VIEWER = Viewer("0190a000-0000-7000-8000-000000000001", "RM_bench", "host", "viewer-1", "PA_1")


def cpu_pieces() -> list[tuple[str, float]]:
    body, headers = signed(LEFT, VIEWER)
    text, token = body.decode(), headers["Authorization"]
    verifier = TokenVerifier(DEV_LIVEKIT_API_KEY, DEV_LIVEKIT_API_SECRET)
    receiver = WebhookReceiver(verifier)
    event = receiver.receive(text, token)
    room_event = domain.to_room_event(event)
    assert room_event is not None

    def validate() -> None:
        check_livekit_event(Violations(), "event", room_event)

    pieces: dict[str, Callable[[], object]] = {
        "WebhookReceiver.receive (verify + hash + parse)": lambda: receiver.receive(text, token),
        "TokenVerifier.verify alone": lambda: verifier.verify(token),
        "json_format.Parse, whole WebhookEvent": lambda: Parse(
            text, WebhookEvent(), ignore_unknown_fields=True
        ),
        "to_room_event": lambda: domain.to_room_event(event),
        "check_livekit_event": validate,
        "accepted (the outbox row)": lambda: accepted(room_event),
    }
    # CPU time of this thread, not wall time: another process taking the CPU does not count.
    timer = timeit.Timer
    seen: dict[str, list[float]] = {name: [] for name in pieces}
    names = list(pieces)
    for _ in range(7):
        random.shuffle(names)
        for name in names:
            seen[name].append(timer(pieces[name], timer=time.thread_time).timeit(1000) / 1000)
    return [(name, sorted(times)[len(times) // 2] * 1e6) for name, times in seen.items()]


async def latencies(
    variants: dict[str, Callable[[], Awaitable[object]]], rounds: int
) -> dict[str, list[float]]:
    for call in variants.values():
        for _ in range(20):
            await call()
    seen: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for _ in range(rounds):
        random.shuffle(names)
        for name in names:
            started = time.perf_counter()
            await variants[name]()
            seen[name].append(time.perf_counter() - started)
    return seen


async def database_pieces(server_url: str, rounds: int) -> dict[str, list[float]]:
    url = await create_database(server_url, "bench_parts")
    try:
        await migrate(url)
        database = Database(url, 2)
        await database.open()
        connection = await database.connect()
        appender = OutboxAppender(database, "broadcast")
        left = Parse(signed(LEFT, VIEWER)[0].decode(), WebhookEvent())
        row = accepted(domain.to_room_event(left))
        payload = dict(row.payload)
        await connection.execute(
            "CREATE UNLOGGED TABLE scratch (LIKE broadcast.outbox INCLUDING DEFAULTS)"
        )
        insert = "INSERT INTO broadcast.outbox (kind, payload) VALUES ($1, $2)"
        try:
            return await latencies(
                {
                    "SELECT 1 (a round trip)": lambda: connection.fetchval("SELECT 1"),
                    "INSERT into an unlogged table (no WAL flush)": lambda: connection.execute(
                        "INSERT INTO scratch (kind, payload) VALUES ($1, $2)", row.kind, payload
                    ),
                    "INSERT+COMMIT, held connection (the floor)": lambda: connection.execute(
                        insert, row.kind, payload
                    ),
                    "INSERT+COMMIT, pool.execute (before)": lambda: database.pool.execute(
                        insert, row.kind, payload
                    ),
                    "OutboxAppender.append (after)": lambda: appender.append(row),
                },
                rounds,
            )
        finally:
            await appender.close()
            await connection.close()
            await database.close()
    finally:
        await drop_database(server_url, url)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_parts")
    parser.add_argument("--rounds", type=int, default=1000, help="calls per database piece")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        sys.exit("DATABASE_URL must name a PostgreSQL server")
    print(f"{'CPU piece':62} {'µs':>8}")
    for name, micros in cpu_pieces():
        print(f"{name:62} {micros:8.1f}")
    header = "database piece, one call after another"
    print(f"\n{header:46} {'p50 µs':>8} {'p99 µs':>8} {'mean':>8}")
    for name, seen in uvloop.run(database_pieces(server_url, args.rounds)).items():
        p50, p99 = percentile(seen, 0.5) * 1e6, percentile(seen, 0.99) * 1e6
        print(f"{name:46} {p50:8.0f} {p99:8.0f} {sum(seen) / len(seen) * 1e6:8.0f}")


if __name__ == "__main__":
    main()
