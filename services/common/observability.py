"""Prometheus metrics every service shares, served on METRICS_PORT at /metrics."""

import prometheus_client as prom

from services.common.config import Settings

RPC_COUNT = prom.Counter(
    "costream_rpc_total", "gRPC calls handled, by method and status code", ["method", "code"]
)
RPC_SECONDS = prom.Histogram(
    "costream_rpc_duration_seconds",
    "gRPC call latency, by method",
    ["method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_started_on: set[int] = set()


def observe_rpc(method: str, code: str, seconds: float) -> None:
    RPC_COUNT.labels(method, code).inc()
    RPC_SECONDS.labels(method).observe(seconds)


def start_metrics_server(settings: Settings) -> None:
    port = settings.metrics_port
    if port and port not in _started_on:
        prom.start_http_server(port, addr=settings.bind_host)
        _started_on.add(port)
