"""Where the benchmark's processes run: a server on a core of its own, the load on the others.

A uvicorn worker runs its event loop in one thread and a `def` endpoint in
another (FastAPI's thread pool), and hands each request from one to the other
and back several times. With two idle cores the two threads land on different
cores, and every hand-off wakes a core: measured in-process, one request at a
time, step 4's `GET /users/{id}` cost 1,946 us of CPU on two cores and 1,213
on one (docs/benchmark.md, "A server on a core of its own"). A load generator
on the server's cores takes CPU from it too. So the benchmark gives each
one-process server one core, and keeps itself and the load generator (wrk, or
the Python driver in this process) on the other cores. A server with several
workers (step 8 as deployed) gets every core, as it would in production; so
do the two sides of the sync-vs-async A/B, whose logins at 64 connections
hash in parallel on every core (Argon2 runs outside the GIL): on one core
they answered half as fast, after 10 to 16 s in the queue. (wrk counted failed
reads among them, 2 and 26 in one run: uvicorn closed the connections left
waiting that long, see KEEP_ALIVE_S in lab.py.)

Where the system cannot pin a process (macOS has no `sched_setaffinity`), on
one core, or with `--no-pin`, nothing is pinned, and the report says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """The cores of a one-process server, of the load, and of a server with several workers
    (None: wherever the system schedules them)."""

    server: frozenset[int] | None = None
    load: frozenset[int] | None = None
    every: frozenset[int] | None = None

    def describe(self) -> str:
        if self.server is None or self.load is None:
            return "the servers and the load share every core (not pinned)"
        return (
            f"the server measured on {_cores(self.server)}, the load generator and the "
            f"benchmark on {_cores(self.load)}; step 8's workers and the sync-vs-async "
            "A/B on every core"
        )


def _cores(cores: frozenset[int]) -> str:
    numbers = sorted(cores)
    return f"core{'s' * (len(numbers) > 1)} {', '.join(map(str, numbers))}"


def plan(pin: bool) -> Placement:
    """The first core this process may use for the servers, the others for the load."""
    if not pin or not hasattr(os, "sched_setaffinity"):
        return Placement()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return Placement()
    return Placement(frozenset(cores[:1]), frozenset(cores[1:]), frozenset(cores))


@contextmanager
def kept_on(cores: frozenset[int] | None) -> Iterator[None]:
    """This process (and what it starts: wrk) on `cores` until the block ends."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
