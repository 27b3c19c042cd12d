"""`make bench`: start the real stack on free ports with a fresh database, run each scenario at
each concurrency through the gateway, print a table (and write JSON with --json), stop it all.

Progress goes to stderr, the report to stdout. Every loop is bounded by a request count and a
duration, every call by a deadline; nothing here asserts anything."""

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import grpc
from costream.gateway.v1 import gateway_service_pb2_grpc

from bench.load import Result
from bench.scenarios import (
    LIVE_ROOMS,
    NEEDS_LIVE_ROOMS,
    SEAT_RACE,
    STEADY,
    Target,
    open_live_rooms,
    run_seat_race,
    run_steady,
)
from services.common.logging import configure_logging
from tools.devstack import Stack
from tools.livekit_emulator.client import AsyncEmulatorClient
from tools.local_postgres import (
    LOCAL_DIR,
    create_database,
    drop_database,
    start_local_postgres,
)

PGDATA = LOCAL_DIR / "bench-pgdata"
LOG_DIR = LOCAL_DIR / "bench-logs"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Speed and memory of the costream stack, measured through the gateway.",
    )
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="duration of each scenario run (default 3)"
    )
    parser.add_argument(
        "--concurrency",
        default="16,64",
        help="comma-separated numbers of concurrent workers (default 16,64)",
    )
    parser.add_argument(
        "--max-requests",
        type=int,
        default=20_000,
        help="most operations per scenario run, whatever the time left (default 20000)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=80.0,
        help="seconds for the whole run; runs that would end later are skipped (default 80)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    try:
        args.concurrency = [int(n) for n in args.concurrency.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--concurrency takes numbers like 16,64, got {args.concurrency!r}")
    if not args.concurrency or min(args.concurrency) < 1 or max(args.concurrency) > 1000:
        parser.error("--concurrency: each number from 1 to 1000")
    if not 0 < args.seconds <= 60:
        parser.error("--seconds: more than 0, at most 60")
    if args.budget <= 0:
        parser.error("--budget: more than 0")
    if args.max_requests < 1:
        parser.error("--max-requests: at least 1")
    return args


# --- the database: a fresh one for the run, dropped after ---


def make_stack(database_url: str) -> Stack:
    shutil.rmtree(LOG_DIR, ignore_errors=True)  # the last run's logs
    return Stack.isolated(database_url, log_dir=LOG_DIR, say=say)


def _log_tails() -> str:
    return "\n".join(
        f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-15:])
        for path in sorted(LOG_DIR.glob("*.log"))
    )


# --- memory and CPU of each process, from /proc ---


def process_usage(pid: int) -> dict[str, float]:
    """Resident and peak resident memory (MB) and CPU time used so far (s) of one process;
    zeros for a process that is gone."""
    usage = {"VmRSS": 0.0, "VmHWM": 0.0, "cpu_s": 0.0}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return usage
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            usage[key] = int(value.split()[0]) / 1024  # kB
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rpartition(")")[2].split()
    usage["cpu_s"] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return usage


def usage_of(stack: Stack) -> dict[str, dict[str, Any]]:
    pids = {name: process.pid for name, process in stack.processes.items()}
    pids["benchmark client"] = os.getpid()
    return {name: {"pid": pid, **process_usage(pid)} for name, pid in pids.items()}


# --- the run ---


async def run_scenarios(
    stack: Stack, args: argparse.Namespace, budget_end: float
) -> tuple[list[Result], int, list[str]]:
    """Every scenario at every concurrency that fits before `budget_end` (time.monotonic); also
    how many live rooms the reads spread over, and the runs skipped."""
    results: list[Result] = []
    skipped: list[str] = []
    async with grpc.aio.insecure_channel(stack.addr("gateway")) as channel:
        gateway = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        say(f"Opening {LIVE_ROOMS} live rooms (posts, hosts joining the LiveKit emulator) ...")
        live_rooms = await open_live_rooms(
            gateway, AsyncEmulatorClient(stack.emulator_url), LIVE_ROOMS
        )
        say(f"{len(live_rooms)} of {LIVE_ROOMS} rooms are live.")
        target = Target(gateway, live_rooms)
        for name in [*STEADY, SEAT_RACE]:
            for concurrency in args.concurrency:
                if name in NEEDS_LIVE_ROOMS and not live_rooms:
                    skipped.append(f"{name} x{concurrency} (no room went live)")
                    continue
                if time.monotonic() + args.seconds > budget_end:
                    skipped.append(f"{name} x{concurrency} (over the --budget)")
                    continue
                say(f"{name} with {concurrency} workers for {args.seconds:g} s ...")
                bounds = {
                    "concurrency": concurrency,
                    "seconds": args.seconds,
                    "max_requests": args.max_requests,
                }
                if name == SEAT_RACE:
                    results += await run_seat_race(target, **bounds)
                else:
                    results += await run_steady(name, target, **bounds)
    for run in skipped:
        say(f"Skipped {run}.")
    return results, len(live_rooms), skipped


def _interrupt(*_: object) -> NoReturn:
    raise KeyboardInterrupt


def main() -> int:
    args = parse_args()
    # Only warnings from this process (the migrations' info lines): stdout is for the report.
    configure_logging("bench", "console", level=logging.WARNING)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM cleans up as Ctrl-C does
    began = time.monotonic()
    server_url = os.environ.get("DATABASE_URL")
    database = "DATABASE_URL" if server_url else "embedded PostgreSQL"
    if not server_url:
        say(f"Starting embedded PostgreSQL in {PGDATA} ...")
        server_url = start_local_postgres(PGDATA, delete=True)
    database_url = asyncio.run(create_database(server_url, "costream_bench"))
    stack: Stack | None = None
    try:
        stack = make_stack(database_url)
        try:
            stack.start()  # applies the migrations, then starts the emulator and the services
        except RuntimeError as e:
            say(f"{e}\n{_log_tails()}")
            return 1
        before = usage_of(stack)
        results, live_rooms, skipped = asyncio.run(run_scenarios(stack, args, began + args.budget))
        after = usage_of(stack)
        stopped = stack.exited()
    except KeyboardInterrupt:
        say("Interrupted.")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        if stack is not None:
            say("Stopping the stack ...")
            stack.stop()
        asyncio.run(drop_database(server_url, database_url))
        signal.signal(signal.SIGINT, signal.default_int_handler)

    memory = {
        process: {
            "pid": usage["pid"],
            "rss_mb_start": round(usage["VmRSS"], 1),
            "peak_rss_mb_start": round(usage["VmHWM"], 1),
            "rss_mb_end": round(after[process]["VmRSS"], 1),
            "peak_rss_mb_end": round(after[process]["VmHWM"], 1),
            "cpu_s_during_run": round(after[process]["cpu_s"] - usage["cpu_s"], 2),
        }
        for process, usage in before.items()
    }
    context = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds_per_run": args.seconds,
        "concurrency": args.concurrency,
        "max_requests_per_run": args.max_requests,
        "database": database,
        "live_rooms": live_rooms,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "wall_seconds": round(time.monotonic() - began, 1),
        "skipped": skipped,
        "exited_early": dict(stopped),
    }
    print(report(context, results, memory))
    if args.json:
        document = {
            "context": context,
            "results": [r.as_dict() for r in results],
            "memory": memory,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        say(f"Wrote {args.json}")
    return 0


def report(context: dict[str, Any], results: list[Result], memory: dict[str, Any]) -> str:
    lines = [
        f"costream bench: {context['seconds_per_run']:g} s per run, concurrency "
        f"{','.join(map(str, context['concurrency']))}, {context['cpus']} CPUs, "
        f"{context['database']}, {context['live_rooms']} live rooms, "
        f"{context['wall_seconds']:g} s in all",
        "",
        f"{'call':<26} {'conc':>4} {'requests':>8} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  errors",
    ]
    notes = []
    for r in results:
        call = r.rpc if r.rpc == r.scenario else f"{r.scenario}/{r.rpc}"
        errors = ", ".join(f"{code} {n}" for code, n in sorted(r.codes.items()) if code != "OK")
        lines.append(
            f"{call:<26} {r.concurrency:>4} {r.requests:>8} {r.throughput:>7.0f} "
            f"{r.percentile(50):>7.1f} {r.percentile(95):>7.1f} {r.percentile(99):>7.1f}  "
            f"{errors or '-'}"
        )
        if r.notes and (r.scenario, r.concurrency, r.notes) not in notes:
            notes.append((r.scenario, r.concurrency, r.notes))
    lines += [f"  {scenario} x{conc}: {note}" for scenario, conc, note in notes]
    lines += [
        "",
        f"{'process':<18} {'pid':>7} {'RSS MB start':>12} {'end':>7} "
        f"{'peak RSS MB start':>17} {'end':>7} {'CPU s':>6}",
    ]
    for process, m in memory.items():
        lines.append(
            f"{process:<18} {m['pid']:>7} {m['rss_mb_start']:>12.1f} {m['rss_mb_end']:>7.1f} "
            f"{m['peak_rss_mb_start']:>17.1f} {m['peak_rss_mb_end']:>7.1f} "
            f"{m['cpu_s_during_run']:>6.1f}"
        )
    lines.append(
        "  start: once every process is SERVING; end: after the last run; "
        "peak RSS is VmHWM; CPU s: used between the two"
    )
    if context["skipped"]:
        lines.append(f"skipped: {', '.join(context['skipped'])}")
    if context["exited_early"]:
        lines.append(f"exited during the run: {context['exited_early']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
