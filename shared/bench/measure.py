"""One measured load and its row: the server's counters before and after, and the arithmetic.

A row's figures come from one or more rounds of the same endpoint on the same
server; this module turns them into the numbers the report prints.
"""

from __future__ import annotations

import ctypes
import functools
import json
import statistics
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.bench import COUNTERS_PATH, DISPOSE_PATH, PROFILE_PATH
from shared.bench.driver import LoadResult
from shared.bench.endpoints import Data, Endpoint
from shared.catalog import Step
from shared.server import UvicornServer

# An A/B's variants take turns in this many rounds (see Lab.turns).
AB_ROUNDS = 4


@dataclass(frozen=True)
class Measured:
    """One measured load: the driver's view, and what the server counted meanwhile."""

    load: LoadResult
    statements: int
    server_cpu_s: float
    driver_cpu_s: float
    # The ceiling's CPU per request, measured right after (None: not measured).
    ceiling_cpu_s: float | None = None
    # Failed requests of the round's unmeasured warm-up.
    warmup_errors: int = 0

    @property
    def cpu_per_request_s(self) -> float:
        return self.server_cpu_s / max(self.load.requests, 1)


@dataclass
class Side:
    """One side of an A/B: a served step (or a variant of it) and its data."""

    def measures(self, endpoint: Endpoint) -> bool:
        return self.endpoints is None or endpoint.name in self.endpoints

    label: str
    step: Step
    server: UvicornServer
    data: Data
    # The endpoints this side is measured on (None: every endpoint of the A/B).
    endpoints: frozenset[str] | None = None
    loads: dict[str, list[Measured]] = field(default_factory=dict)
    warmup_errors: dict[str, int] = field(default_factory=dict)


def summarize(loads: Sequence[Measured], warmup_errors: int) -> dict[str, Any]:
    """One row from one or more loads (rounds) of the same endpoint on the same server."""
    latencies = tuple(latency for m in loads for latency in m.load.latencies_s)
    errors: dict[str, int] = {}
    for m in loads:
        for kind, count in m.load.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    combined = LoadResult(
        sum(m.load.requests for m in loads), sum(m.load.seconds for m in loads), latencies, errors
    )
    summary = combined.summary()
    summary["errors"] += warmup_errors + sum(m.warmup_errors for m in loads)
    done = max(combined.requests, 1)
    summary["statements_per_request"] = round(sum(m.statements for m in loads) / done, 2)
    # The server's own CPU does not depend on how fast the driver is; the
    # driver shares the machine, so its CPU is reported too. The median of
    # the rounds leaves out a round that something else on the machine slowed.
    summary["server_cpu_us"] = round(statistics.median(m.cpu_per_request_s for m in loads) * 1e6)
    summary["driver_cpu_us"] = round(sum(m.driver_cpu_s for m in loads) * 1e6 / done, 1)
    # Each round is followed by as many requests to the ceiling, under the
    # same conditions (a busy machine changes them from minute to minute).
    # The row keeps the median of those, and its ratio is the quotient of
    # the two figures as printed (whole microseconds), nothing else.
    ceilings = [m.ceiling_cpu_s for m in loads if m.ceiling_cpu_s]
    if ceilings:
        summary["ceiling_cpu_us"] = round(statistics.median(ceilings) * 1e6)
        summary["cpu_ratio"] = cpu_ratio(summary["server_cpu_us"], summary["ceiling_cpu_us"])
        # How far the rounds' own ratios spread (each round's CPU over the
        # ceiling's right after it): the noise of this one run.
        own = [m.cpu_per_request_s / m.ceiling_cpu_s for m in loads if m.ceiling_cpu_s]
        summary["round_ratios"] = [round(min(own), 1), round(max(own), 1)]
    return summary


def cpu_ratio(server_cpu_us: int, ceiling_cpu_us: int) -> float:
    """A row's server CPU per request in units of the ceiling's, to one decimal, as printed."""
    return round(server_cpu_us / max(ceiling_cpu_us, 1), 1)


def round_count(count: int, concurrency: int) -> int:
    """Up to AB_ROUNDS rounds, each of at least one request per connection."""
    return max(1, min(AB_ROUNDS, count // max(concurrency, 1)))


def process_cpu_ns(pid: int) -> int | None:
    """CPU nanoseconds used so far by process `pid`, every thread included, ended ones too.

    Read from the process's own CPU clock (POSIX clock_getcpuclockid), the
    clock `time.process_time()` reads inside it, to the nanosecond. /proc's
    utime and stime count 10 ms clock ticks, too coarse for a round of a few
    requests of a few milliseconds each; /proc/<pid>/schedstat counts
    nanoseconds but for the main thread only. None: the process has ended.
    """
    clock = ctypes.c_int()
    if _libc().clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return None
    try:
        return time.clock_gettime_ns(clock.value)
    except OSError:  # it ended meanwhile
        return None


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)  # the C library this Python runs on


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by process `pid` and every process below it (Linux).

    uvicorn with several workers is a supervisor and its worker processes;
    each counts its own CPU (process_cpu_ns), found below `pid` through /proc.
    """
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        # The command's name, in parentheses, may hold spaces: split after it.
        parents[int(stat.parent.name)] = int(text.rpartition(")")[2].split()[1])
    tree, found = {pid}, True
    while found:
        below = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= below
        found = bool(below)
    return sum(process_cpu_ns(p) or 0 for p in tree) / 1e9


def counters(server: UvicornServer) -> dict[str, float]:
    """The statements the step has sent and the CPU seconds its server has used."""
    with urllib.request.urlopen(server.url + COUNTERS_PATH, timeout=10) as response:
        return json.load(response)


def profile_taken(server: UvicornServer) -> dict[str, float] | None:
    """The server's CPU seconds per part since the last call (None: no profiler)."""
    with urllib.request.urlopen(server.url + PROFILE_PATH, timeout=10) as response:
        return json.load(response)["profile"]


def dispose(server: UvicornServer) -> None:
    """Close the connections the server's pool keeps."""
    with urllib.request.urlopen(server.url + DISPOSE_PATH, timeout=30) as response:
        response.read()


def numbers(row: dict[str, Any]) -> str:
    return (
        f"{row['requests_per_s']:>7.0f} req/s  server CPU {row['server_cpu_us']:>6.0f} us/request"
        f"  p50 {row['p50_ms']:>6.1f} ms  p99 {row['p99_ms']:>7.1f} ms"
        f"  errors {row['errors']}  SQL/request {row['statements_per_request']}"
        f"  (driver CPU {row['driver_cpu_us']:.0f} us/request)"
    )


def line(row: dict[str, Any]) -> str:
    variant = f" [{row['variant']}]" if "variant" in row else ""
    where = f" {row['backend']} x{row['concurrency']}" if "backend" in row else ""
    return f"step {row['step']}{where}  {row['endpoint']:<20}{variant}  {numbers(row)}"
