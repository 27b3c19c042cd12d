"""`make run`: the whole local stack in one terminal. PostgreSQL (embedded unless DATABASE_URL
is set), migrations, the LiveKit emulator (unless LIVEKIT_URL is set), every service, and a
clean stop of all of it on Ctrl-C or SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import GRPC_PORTS, load_settings
from services.common.local_postgres import start_local_postgres
from services.common.migrations import migrate

# Start order: peers before the services that call them, the gateway last.
STACK = ("room", "post", "invitation", "broadcast", "gateway")
EMULATOR_URL = "http://127.0.0.1:7880"
START_TIMEOUT = 60.0


SERVICES_DIR = Path(__file__).resolve().parent


def _exists(package: str) -> bool:
    """Whether `python -m services.<package>` can start (services land one issue at a time)."""
    return (SERVICES_DIR / package / "__main__.py").is_file()


def _wait_serving(name: str, address: str, process: subprocess.Popen, deadline: float) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not become SERVING at {address}")


def _stop(processes: list[tuple[str, subprocess.Popen]], grace: float) -> None:
    """Stop in reverse start order: the gateway first, so nothing new comes in."""
    for _, process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 5
    for name, process in reversed(processes):
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", file=sys.stderr)
            process.kill()
            process.wait()


def main() -> None:
    settings = load_settings("devstack")
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        print("Starting embedded PostgreSQL under .local/pgdata ...", flush=True)
        env["DATABASE_URL"] = start_local_postgres()
    applied = asyncio.run(migrate(env["DATABASE_URL"]))
    print(f"Migrations: {len(applied)} applied.", flush=True)

    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    processes: list[tuple[str, subprocess.Popen]] = []

    def spawn(name: str, module: str) -> subprocess.Popen:
        # Own process group: Ctrl-C reaches this supervisor, which stops children in order.
        process = subprocess.Popen(  # noqa: S603 (our own modules)
            [sys.executable, "-m", module], env=env, start_new_session=True
        )
        processes.append((name, process))
        return process

    try:
        if not env.get("LIVEKIT_URL") and _exists("livekit_emulator"):
            spawn("livekit-emulator", "services.livekit_emulator")
            env["LIVEKIT_URL"] = EMULATOR_URL
        deadline = time.monotonic() + START_TIMEOUT
        started = []
        for name in STACK:
            if not _exists(name):
                continue
            process = spawn(name, f"services.{name}")
            _wait_serving(name, settings.addr(name), process, deadline)
            started.append(name)
        _banner(started, env, settings.addr("gateway"))
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.2)
    finally:
        print("Stopping ...", flush=True)
        _stop(processes, settings.shutdown_grace)
        print("Stopped.", flush=True)


def _banner(started: list[str], env: dict[str, str], gateway: str) -> None:
    lines = ["", "costream is running:"]
    for name in started:
        lines.append(
            f"  {name:<11} 127.0.0.1:{env.get(f'{name.upper()}_PORT') or GRPC_PORTS[name]}"
        )
    lines.append(f"  livekit     {env.get('LIVEKIT_URL', '(not configured)')}")
    if "gateway" in started:
        lines += [
            "",
            f"Clients dial the gateway at {gateway}. Try the main flow in another terminal:",
            "  .venv/bin/costream demo",
        ]
    lines += ["", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
