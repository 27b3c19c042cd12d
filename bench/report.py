"""What a run reports: memory and CPU time of every process (from /proc), the results table,
and the same as JSON under bench/results/."""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.load import Result

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RSS_LIMIT_MB = 150.0  # issue 12's goal for every service
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_usage(pid: int) -> dict[str, float]:
    """Resident and peak resident memory (MB) and CPU time used so far (s) of one process;
    zeros for a process that is gone."""
    usage = {"rss_mb": 0.0, "peak_rss_mb": 0.0, "cpu_s": 0.0}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return usage
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            usage["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = int(value.split()[0]) / 1024
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rpartition(")")[2].split()
    usage["cpu_s"] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return usage


def postgres_cpu_s(database: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving `database` (the bench's own) on this
    machine, by pid; none when the server is elsewhere."""
    backends: dict[int, float] = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes()
            if title.startswith(b"postgres:") and f" {database} ".encode() in title:
                pid = int(cmdline.parent.name)
                backends[pid] = process_usage(pid)["cpu_s"]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return backends


def machine_busy_s() -> float:
    """CPU time the whole machine was busy so far (every CPU, every process), from /proc/stat."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / _CLK_TCK


POSTGRES, OTHERS = "postgres", "others"


@dataclass
class CpuSample:
    ours: dict[str, float]  # by process name
    postgres: dict[int, float]  # by backend pid
    machine: float

    def since(self, before: "CpuSample") -> dict[str, float]:
        """CPU seconds of each of our processes, of the PostgreSQL backends (those that were
        gone by now are missed), and of the rest of the machine, from `before` to this."""
        used = {name: s - before.ours.get(name, s) for name, s in self.ours.items()}
        used[POSTGRES] = sum(s - before.postgres.get(pid, 0.0) for pid, s in self.postgres.items())
        used[OTHERS] = self.machine - before.machine - sum(used.values())
        # max: the samples are not taken at one instant, so a tiny "others" can go below 0
        return {name: round(max(0.0, s), 2) for name, s in used.items()}


class Usage:
    """Every process's usage at the start, and CPU seconds per scenario (its timed part): of
    each of ours, of PostgreSQL's backends for the bench's database, and of everything else
    on the machine (other work going on skews the numbers: compare runs with little)."""

    def __init__(self, pids: dict[str, int], database: str) -> None:
        self.pids = pids
        self.database = database
        self.start = self.cpu()
        self.by_scenario: dict[str, dict[str, float]] = {}
        self._mark = self.start

    def cpu(self) -> CpuSample:
        ours = {name: process_usage(pid)["cpu_s"] for name, pid in self.pids.items()}
        return CpuSample(ours, postgres_cpu_s(self.database), machine_busy_s())

    def begin(self) -> None:
        self._mark = self.cpu()

    def end(self, scenario: str) -> None:
        self.by_scenario[scenario] = self.cpu().since(self._mark)

    def summary(self, services: list[str]) -> dict[str, Any]:
        """Each process's memory at the end and CPU time over the whole run."""
        cpu = self.cpu().since(self.start)
        summary: dict[str, Any] = {}
        for name, pid in self.pids.items():
            usage = process_usage(pid)
            summary[name] = {
                "pid": pid,
                "service": name in services,
                "rss_mb_end": round(usage["rss_mb"], 1),
                "peak_rss_mb": round(usage["peak_rss_mb"], 1),
                "cpu_s_during_run": cpu[name],
            }
        for name in (POSTGRES, OTHERS):  # many processes, shared memory: CPU time only
            summary[name] = {
                "pid": None,
                "service": False,
                "rss_mb_end": None,
                "peak_rss_mb": None,
                "cpu_s_during_run": cpu[name],
            }
        return summary


def table(
    context: dict[str, Any],
    results: list[Result],
    processes: dict[str, Any],
    cpu: dict[str, dict[str, float]],
) -> str:
    lines = [
        f"costream bench ({context['mode']}): {context['cpus']} CPUs, "
        f"{context['client_processes']} client processes, {context['concurrency']} calls in "
        f"flight, {context['database']}, {context['live_rooms']} live rooms, "
        f"{context['wall_seconds']:g} s in all; {context['setup']}",
        "",
        f"{'scenario':<20} {'rpc':<21} {'conc':>4} {'count':>6} {'rate/s':>7} {'ratio':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cpu ms':>6}  errors",
    ]
    notes_shown: set[str] = set()
    for r in results:
        errors = ", ".join(f"{code} {n}" for code, n in sorted(r.codes.items()) if code != "OK")
        rate = f"{r.throughput:>7.0f}" if r.rated else f"{'-':>7}"
        ratio = f"{r.ratio:>5.2f}x" if r.ratio is not None else f"{'-':>6}"
        cpu_ms = f"{r.server_cpu_ms:>6.2f}" if r.server_cpu_ms is not None else f"{'-':>6}"
        lines.append(
            f"{r.scenario:<20} {r.rpc:<21} {r.concurrency:>4} {r.requests:>6} {rate} {ratio} "
            f"{r.percentile(50):>7.1f} {r.percentile(95):>7.1f} {r.percentile(99):>7.1f} "
            f"{cpu_ms}  {errors or '-'}"
        )
        if r.scenario not in notes_shown:
            notes_shown.add(r.scenario)
            lines += [f"{'':<4}{note}" for note in context["notes"].get(r.scenario, [])]
    for scenario, notes in context["notes"].items():
        if scenario not in notes_shown:  # a scenario that produced no rows: why
            lines += [f"{scenario:<20} {note}" for note in notes]
    lines += [
        "",
        f"{'process':<18} {'pid':>7} {'peak RSS MB':>11} {'RSS MB end':>10} {'CPU s':>7}",
    ]
    for name, p in processes.items():
        if p["pid"] is None:  # postgres, others
            lines.append(f"{name:<18} {'-':>7} {'-':>11} {'-':>10} {p['cpu_s_during_run']:>7.1f}")
            continue
        lines.append(
            f"{name:<18} {p['pid']:>7} {p['peak_rss_mb']:>11.1f} {p['rss_mb_end']:>10.1f} "
            f"{p['cpu_s_during_run']:>7.1f}"
        )
    over = [
        f"{n} {p['rss_mb_end']:.0f} MB"
        for n, p in processes.items()
        if p["service"] and p["rss_mb_end"] > RSS_LIMIT_MB
    ]
    peak_over = [
        f"{n} {p['peak_rss_mb']:.0f} MB"
        for n, p in processes.items()
        if p["service"] and p["peak_rss_mb"] > RSS_LIMIT_MB
    ]
    lines.append(
        f"services over {RSS_LIMIT_MB:.0f} MB RSS at the end: {', '.join(over) or 'none'}; "
        f"peak over {RSS_LIMIT_MB:.0f} MB: {', '.join(peak_over) or 'none'}"
    )
    if cpu:
        names = list(processes)
        short = {"livekit-emulator": "emulator", "invitation": "invitatn", "supervisor": "superv."}
        lines += [
            "",
            "CPU s during each scenario's timed part (postgres: the bench database's backends; "
            "others: the rest of the machine)",
        ]
        lines.append(f"{'scenario':<20}" + "".join(f" {short.get(n, n):>8}" for n in names))
        for scenario, by_process in cpu.items():
            lines.append(
                f"{scenario:<20}" + "".join(f" {by_process.get(n, 0.0):>8.1f}" for n in names)
            )
    if context["exited_early"]:
        lines.append(f"exited during the run: {context['exited_early']}")
    return "\n".join(lines)


def write_json(
    context: dict[str, Any],
    results: list[Result],
    processes: dict[str, Any],
    cpu: dict[str, dict[str, float]],
    began: datetime,
) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{began:%Y%m%dT%H%M%SZ}.json"
    document = {
        "context": context,
        "results": [r.as_dict() for r in results],
        "processes": processes,
        "cpu_s_by_scenario": cpu,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path
