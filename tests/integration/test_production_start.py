"""A service started with unsafe settings (production on a default secret, or a client secret
equal to the internal one anywhere) refuses to start with one clear message."""

import os
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tools.devstack import free_port

SAFE_PRODUCTION = {
    "COSTREAM_ENV": "production",
    "DATABASE_URL": "postgresql://costream@db.invalid/costream",
    "AUTH_JWT_SECRET": "a" * 40,
    "INTERNAL_AUTH_SECRET": "b" * 40,
    "LIVEKIT_API_SECRET": "c" * 40,
    "LIVEKIT_PUBLIC_URL": "wss://livekit.example.com",
}


@pytest.mark.parametrize(
    ("unsafe", "named"),
    [
        ({"AUTH_JWT_SECRET": "dev-auth-secret-change-me-0123456789"}, "AUTH_JWT_SECRET"),
        ({"LIVEKIT_PUBLIC_URL": "ws://livekit.example.com"}, "LIVEKIT_PUBLIC_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        (
            {"INTERNAL_AUTH_SECRET": "a" * 40},
            "AUTH_JWT_SECRET and INTERNAL_AUTH_SECRET must differ",
        ),
    ],
)
def test_room_service_with_unsafe_production_settings_exits_with_one_clear_message(unsafe, named):
    env = {k: v for k, v in os.environ.items() if k not in SAFE_PRODUCTION}
    env.update(SAFE_PRODUCTION)
    env.update(unsafe)
    result = subprocess.run(
        [sys.executable, "-m", "services.room"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "refusing to start in production" in lines[0] and named in lines[0]


def test_room_service_in_test_mode_with_equal_secrets_exits_with_one_clear_message():
    env = {k: v for k, v in os.environ.items() if k not in SAFE_PRODUCTION}
    env.update(
        {"COSTREAM_ENV": "test", "AUTH_JWT_SECRET": "x" * 40, "INTERNAL_AUTH_SECRET": "x" * 40}
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.room"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "refusing to start: AUTH_JWT_SECRET and INTERNAL_AUTH_SECRET must differ" in lines[0]


def _serving(address: str, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and process.poll() is None:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    return False


def test_gateway_starts_in_production_without_the_database_url_or_the_livekit_secret():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SAFE_PRODUCTION}
    env.update(SAFE_PRODUCTION)
    del env["DATABASE_URL"], env["LIVEKIT_API_SECRET"]
    env.update({"GATEWAY_PORT": str(port), "METRICS_PORT": "0", "BIND_HOST": "127.0.0.1"})
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _serving(f"127.0.0.1:{port}", process, 30), process.poll()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
