"""`make run`: the whole local stack in one terminal. PostgreSQL (embedded unless DATABASE_URL
is set), migrations, the LiveKit emulator (unless LIVEKIT_URL is set), every service, and a
clean stop of all of it on Ctrl-C or SIGTERM. `make migrate` (`python -m tools.devstack
migrate`) does only the first two.

`Stack` is also what the end-to-end tests start, with free ports in its environment."""

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.config import GRPC_PORTS, LOCAL_LIVEKIT_PORT, Settings, load_settings
from services.common.migrations import migrate
from tools.local_postgres import start_local_postgres

# Start order: peers before the services that call them, the gateway last.
STACK = ("room", "post", "invitation", "broadcast", "gateway")
EMULATOR = "livekit-emulator"
START_TIMEOUT = 60.0


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


def _wait_http(name: str, url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (our own 127.0.0.1 URL)
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer at {url}")


def _terminate(processes: list[tuple[str, subprocess.Popen]], grace: float) -> None:
    """SIGTERM them all, wait for each (their drain included), kill what is left."""
    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace + 5
    for name, process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", file=sys.stderr)
            process.kill()
            process.wait()


# Ports for stacks on free ports come from below the kernel's ephemeral range (32768+ on
# Linux): a port the kernel handed out can be taken again by an outgoing connection before
# the service binds it.
_PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never handed out before by this process."""
    while True:
        port = random.randint(*_PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


# Settings a stack on its own ports must not inherit from the caller's environment.
_NOT_INHERITED = ("LIVEKIT_URL", "LIVEKIT_PUBLIC_URL", "AUTH_JWKS_FILE", "METRICS_PORT",
                  "EMULATOR_WEBHOOK_URLS", "EMULATOR_URL", "CORS_ALLOWED_ORIGINS")  # fmt: skip


class Stack:
    """PostgreSQL, migrations, the LiveKit emulator and every service, each in its own
    process, all configured by one environment (plus per-service additions)."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        log_dir: Path | None = None,
        names: tuple[str, ...] = STACK,
        say=print,  # type: ignore[no-untyped-def]
    ) -> None:
        self.env = dict(env)
        self.names = tuple(name for name in STACK if name in names)
        self.service_env = {k: dict(v) for k, v in (service_env or {}).items()}
        self.log_dir = log_dir
        self._say = say
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self.settings: Settings = load_settings("devstack", self.env)

    @classmethod
    def isolated(cls, database_url: str, *, log_dir: Path, say=print) -> "Stack":  # type: ignore[no-untyped-def]
        """A stack on free ports (metrics too) next to anything else running, for the
        end-to-end tests and the benchmarks."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _NOT_INHERITED and not k.endswith("_SERVICE_ADDR")
        }
        env.update(
            {
                "COSTREAM_ENV": "test",
                "DATABASE_URL": database_url,
                "LOG_FORMAT": "json",
                "EMULATOR_PORT": str(free_port()),
                "BROADCAST_HTTP_PORT": str(free_port()),
                "GATEWAY_HTTP_PORT": str(free_port()),
                "SHUTDOWN_GRACE_SECONDS": "2",
                "RATE_LIMIT_PER_MINUTE": "100000",
                # Recordings write HLS too, and an egress that never starts fails soon.
                "RECORDING_HLS": "true",
                "EGRESS_START_TIMEOUT": "3",
                **{f"{name.upper()}_PORT": str(free_port()) for name in STACK},
            }
        )
        metrics = {name: {"METRICS_PORT": str(free_port())} for name in STACK}
        return cls(env, service_env=metrics, log_dir=log_dir, say=say)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('EMULATOR_PORT') or LOCAL_LIVEKIT_PORT}"

    @property
    def web_url(self) -> str:
        """The gateway's HTTP port: Connect, gRPC-Web and the console."""
        return f"http://127.0.0.1:{self.settings.gateway_http_port}"

    def addr(self, name: str) -> str:
        return self.settings.addr(name)

    @property
    def services(self) -> list[str]:
        return [name for name in STACK if name in self.processes]

    def start(self) -> None:
        """Start everything; if any part fails, stop what started and raise."""
        migrate_database(self.env, self._say)
        try:
            if not self.env.get("LIVEKIT_URL"):
                self._start_emulator()
            deadline = time.monotonic() + START_TIMEOUT
            for name in self.names:
                self.start_service(name, deadline)
        except BaseException:
            self.stop()
            raise

    def _start_emulator(self) -> None:
        port = self.env.get("EMULATOR_PORT") or str(LOCAL_LIVEKIT_PORT)
        http_port = self.settings.broadcast_http_port
        self.env.setdefault("EMULATOR_PORT", port)
        self.env.setdefault(
            "EMULATOR_WEBHOOK_URLS", f"http://127.0.0.1:{http_port}/livekit/webhook"
        )
        self.env.setdefault("LIVEKIT_PUBLIC_URL", f"ws://127.0.0.1:{port}")
        process = self._spawn(EMULATOR, "tools.livekit_emulator")
        _wait_http(
            EMULATOR, f"{self.emulator_url}/emulator/state", process,
            time.monotonic() + START_TIMEOUT,
        )  # fmt: skip
        self.env["LIVEKIT_URL"] = self.emulator_url

    def start_service(self, name: str, deadline: float | None = None) -> None:
        """Start one service and wait until it answers its health check as SERVING."""
        process = self._spawn(name, f"services.{name}")
        _wait_serving(name, self.addr(name), process, deadline or time.monotonic() + START_TIMEOUT)

    @property
    def _drain_seconds(self) -> float:
        return self.settings.shutdown_delay + self.settings.shutdown_grace

    def stop_service(self, name: str) -> None:
        """SIGTERM one service and wait for its drain."""
        process = self.processes.pop(name)
        _terminate([(name, process)], self._drain_seconds)
        self._close_log(name)

    def kill_service(self, name: str) -> None:
        """SIGKILL one service: a crash, nothing drained or given back."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()
        self._close_log(name)

    def exited(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.processes.items() if p.poll() is not None]

    def stop(self) -> None:
        """Stop in reverse start order: the gateway first, so nothing new comes in."""
        running = list(reversed(self.processes.items()))
        _terminate(running, self._drain_seconds)
        self.processes.clear()
        for name in list(self._logs):
            self._close_log(name)

    def _spawn(self, name: str, module: str) -> subprocess.Popen:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = self._logs[name] = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        # Own process group: Ctrl-C reaches the supervisor, which stops children in order.
        process = subprocess.Popen(  # noqa: S603 (our own modules)
            [sys.executable, "-m", module],
            env={**self.env, **self.service_env.get(name, {})},
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        self.processes[name] = process
        return process

    def _close_log(self, name: str) -> None:
        log = self._logs.pop(name, None)
        if log is not None:
            log.close()


def migrate_database(env: dict[str, str], say=print) -> None:  # type: ignore[no-untyped-def]
    """Apply every migration to DATABASE_URL, first setting it to the embedded PostgreSQL's
    when it is unset."""
    if not env.get("DATABASE_URL"):
        say("Starting embedded PostgreSQL under .local/pgdata ...")
        env["DATABASE_URL"] = start_local_postgres()
    applied = asyncio.run(migrate(env["DATABASE_URL"]))
    say(f"Migrations: {len(applied)} applied.")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.devstack")
    parser.add_argument("command", nargs="?", choices=("run", "migrate"), default="run")
    if parser.parse_args().command == "migrate":
        migrate_database(dict(os.environ))
    else:
        run()


def run() -> None:
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack = Stack(os.environ, say=lambda line: print(line, flush=True))
    try:
        stack.start()
        _banner(stack)
        while not stopping:
            for name, code in stack.exited():
                print(f"{name} exited with code {code}; stopping", flush=True)
                stopping = True
            time.sleep(0.2)
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def _banner(stack: Stack) -> None:
    env = stack.env
    lines = ["", "costream is running:"]
    for name in stack.services:
        lines.append(
            f"  {name:<11} 127.0.0.1:{env.get(f'{name.upper()}_PORT') or GRPC_PORTS[name]}"
        )
    lines.append(f"  livekit     {env.get('LIVEKIT_URL', '(not configured)')}")
    if "gateway" in stack.services:
        web = stack.web_url
        lines += [
            f"  web         {web} (Connect, gRPC-Web; the console at {web}/console/)",
            "",
            f"Clients dial the gateway at {stack.addr('gateway')}. In another terminal:",
            "  .venv/bin/costream demo                  # the whole main flow, step by step",
            "  .venv/bin/costream --user alice whoami   # or one call at a time (--help)",
        ]
    lines += ["", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
