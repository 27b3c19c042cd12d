"""Prometheus metrics every service shares, served on METRICS_PORT at /metrics."""

from collections.abc import Callable

import prometheus_client as prom

from services.common.config import Settings

RPC_COUNT = prom.Counter(
    "costream_rpc", "gRPC calls handled, by method and status code", ["method", "code"]
)
RPC_SECONDS = prom.Histogram(
    "costream_rpc_duration_seconds",
    "gRPC call latency, by method",
    ["method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_POOL = prom.Gauge(
    "costream_db_pool_connections", "Database pool connections, by state", ["state"]
)
OUTBOX_BACKLOG = prom.Gauge(
    "costream_outbox_backlog", "Side effects written but not delivered yet", ["schema"]
)
OUTBOX_OLDEST_AGE = prom.Gauge(
    "costream_outbox_oldest_age_seconds", "Age of the oldest undelivered side effect", ["schema"]
)
WEBHOOKS = prom.Counter(
    "costream_livekit_webhooks",
    "LiveKit webhooks received, by event and result",
    ["event", "result"],
)
LIVEKIT_RECONCILED = prom.Counter(
    "costream_livekit_reconciled_events",
    "Events LiveKit's webhooks lost, found by comparing rooms with LiveKit, by event",
    ["event"],
)
ROOMS_BY_STATUS = prom.Gauge("costream_rooms", "Rooms not deleted, by status", ["status"])
WATCHERS = prom.Gauge("costream_watchers", "Open Watch streams, by stream", ["stream"])

_started_on: set[int] = set()


def observe_rpc(method: str, code: str, seconds: float) -> None:
    RPC_COUNT.labels(method, code).inc()
    RPC_SECONDS.labels(method).observe(seconds)


def watch_pool(in_use: Callable[[], int], size: Callable[[], int]) -> None:
    """Read the pool's state at scrape time."""
    DB_POOL.labels("in_use").set_function(in_use)
    DB_POOL.labels("open").set_function(size)


def start_metrics_server(settings: Settings) -> None:
    port = settings.metrics_port
    if port and port not in _started_on:
        prom.start_http_server(port, addr=settings.bind_host)
        _started_on.add(port)
