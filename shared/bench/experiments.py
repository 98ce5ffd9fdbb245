"""The A/B experiments on one step: what each choice the step made is worth, measured.

Each function serves variants of the step (served.py swaps one choice per
variant) on fresh copies of the same data, and returns their rows: the
thread-pool hops of the constant endpoint, the loading of posts, the SQLite
journal, how writers wait, the connection pool, the garbage collector,
commits without HTTP, and where the server's CPU goes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from shared.bench.driver import Request
from shared.bench.endpoints import CEILING, ENDPOINTS_BY_NAME, Data, Endpoint
from shared.bench.lab import Lab
from shared.bench.measure import Measured, line, profile_taken, round_count, summarize
from shared.catalog import ROOT, Step
from shared.server import UvicornServer

# The experiments whose rows are measured under load, like the endpoints.
LOAD_EXPERIMENTS = ("journal", "hops", "writers", "pool", "gc", "loading", "profile", "async")
# The endpoints the profile breaks down (besides the ceiling's).
PROFILED = ("GET /users/{id}", "GET /posts?limit=100", "POST /users")
PROFILE_MIN_REQUESTS = 100
# The hops experiment: the paths of its app (hops.py), how many
# thread-pool hops FastAPI makes for each, and what they are.
HOPS = (
    ("/async", 0, "async def"),
    ("/", 2, "def (the endpoint, then its response validation)"),
    ("/async-dependency", 2, "def + async dependency with yield"),
    ("/sync-dependency", 4, "def + sync dependency with yield, as get_db"),
)


def experiment_step(steps: Sequence[Step]) -> Step | None:
    """The step the experiments run on: the newest without passwords.

    A hash costs a hundred times a read, so on a step with passwords the
    writes would measure Argon2 rather than what an experiment changes.
    Without such a step (`--step 6`), the newest sync step, its endpoints
    that hash left out; an async step has none of the choices the variants
    swap.
    """
    plain = [step for step in steps if not step.offers("auth")]
    sync = [step for step in steps if not step.offers("async")]
    return (plain or sync or [None])[-1]


def hops_experiment(lab: Lab) -> list[dict[str, Any]]:
    """The ceiling's constant with no, two or four thread-pool hops, taking turns in rounds."""
    endpoints = [
        Endpoint(f"GET {path}", "", 200, lambda count, _t, _d, p=path: [Request("GET", p)] * count)
        for path, _hops, _how in HOPS
    ]
    rounds = round_count(lab.settings.requests, lab.settings.concurrency)
    measured: list[list[Measured]] = [[] for _ in endpoints]
    with ExitStack() as stack:
        server = lab.ceiling_server("hops")
        lab.start_all(stack, [server])
        warmup_errors = [
            lab.warm_up(server, endpoint, Data(), lab.settings.warmup) for endpoint in endpoints
        ]
        for _ in range(rounds):
            for endpoint, loads in zip(endpoints, measured, strict=True):
                requests = endpoint.make(lab.settings.requests // rounds, "", Data())
                warmup = lab.round_warmup(endpoint, Data(), "", lab.settings.warmup)
                loads.append(lab.measured_load(server, endpoint, requests, warmup=warmup))
    rows = []
    for (_path, hops, how), endpoint, loads, errors in zip(
        HOPS, endpoints, measured, warmup_errors, strict=True
    ):
        row = {"step": 0, "endpoint": endpoint.name, "variant": how, "hops": hops}
        row |= summarize(loads, errors)
        lab.log(line(row))
        rows.append(row)
    return rows


def gc_experiment(lab: Lab, step: Step) -> list[dict[str, Any]]:
    """The reads and the ceiling with the garbage collector as the plumbing sets it, or as
    Python ships it (served.py's `python-gc`).

    The ceiling's row with Python's thresholds is measured against the ceiling
    as served (the plumbing's): its ratio is what the setting saves the constant.
    """
    reads = ("GET /users/{id}", "GET /posts?limit=100", "GET /tasks?limit=100")
    rows = lab.compare(step, {"": reads, "python-gc": reads}, lab.full)
    with ExitStack() as stack:
        ceiling = lab.ceiling_server(variant="python-gc")
        lab.start_all(stack, [ceiling])
        row = {"step": 0, "endpoint": CEILING.name, "variant": "python-gc"}
        row |= lab.measure(ceiling, CEILING, Data())
    lab.log(line(row))
    return [*rows, row]


def loading_experiment(lab: Lab, step: Step) -> list[dict[str, Any]]:
    """GET /users/{id} with many posts: one joined query, a second query, lazy loading."""
    read = ("GET /users/{id}",)
    rows = lab.compare(step, {"": read, "selectin-posts": read, "lazy-posts": read}, lab.loading)
    for row in rows:
        row["posts_per_user"] = lab.loading.posts_per_user
    return rows


def write_and_pool_experiments(lab: Lab, step: Step) -> dict[str, list[dict[str, Any]]]:
    """The journal, writers and pool experiments: one A/B/C/D/E/F on the same data.

    Their sides "as shipped" are one server, measured once on every
    endpoint any of them needs, and shown in each table.
    - journal: the writes with the step's set-up (WAL + NORMAL), SQLite's
      defaults, and WAL + FULL;
    - writers: writers queued in the app, polling SQLite's lock, or behind
      one connection;
    - pool: the reads with a connection per thread, then with
      SQLAlchemy's default pool.
    """
    writes = ("POST /tasks", "POST /users")
    writers = (*writes, "GET /users/{id}")
    reads = ("GET /users/{id}", "GET /posts?limit=100")
    experiments = {
        "journal": {"": writes, "journal-delete": writes, "wal-full": writes},
        "writers": {"": writers, "polling-writers": writers, "one-connection": writers},
        "pool": {"": reads, "default-pool": reads},
    }
    variants: dict[str, list[str]] = {}
    for sides in experiments.values():
        for variant, names in sides.items():
            variants.setdefault(variant, [])
            variants[variant] += [n for n in names if n not in variants[variant]]
    rows = lab.compare(step, variants, lab.full)

    def belongs(row: dict[str, Any], sides: dict[str, Sequence[str]]) -> bool:
        variant = "" if row["variant"] == "as shipped" else row["variant"]
        return row["endpoint"] in sides.get(variant, ())

    return {name: [r for r in rows if belongs(r, sides)] for name, sides in experiments.items()}


def batch_experiment(lab: Lab, step: Step) -> list[dict[str, Any]]:
    url, _data = lab.fresh_database(step, lab.full, f"{step.package}-batch")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.bench.batch",
            step.package,
            str(lab.settings.batch_rows),
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    measured = json.loads(completed.stdout)
    rows = [{"step": step.number, "variant": name, **numbers} for name, numbers in measured.items()]
    for row in rows:
        lab.log(f"step {row['step']}  {row['variant']:<24} {row['rows_per_s']:>9.0f} rows/s")
    return rows


def profile_experiment(lab: Lab, step: Step) -> list[dict[str, Any]]:
    """Where the server's CPU goes per request: the ceiling, then the step's endpoints."""
    url, data = lab.fresh_database(step, lab.full, f"{step.package}-profile")
    rows = []
    # One after the other: an idle profiler still samples every millisecond.
    with ExitStack() as stack:
        ceiling = lab.ceiling_server(profile=True)
        lab.start_all(stack, [ceiling])
        rows.append(_profile(lab, ceiling, CEILING, Data(), step=None))
    with ExitStack() as stack:
        server = lab.step_server(step, url, profile=True)
        lab.start_all(stack, [server])
        for name in PROFILED:
            endpoint = ENDPOINTS_BY_NAME[name]
            if step.offers(endpoint.feature) and not endpoint.hashes(step):
                rows.append(_profile(lab, server, endpoint, data, step))
    return [row for row in rows if row["parts_us"] is not None]


def _profile(
    lab: Lab, server: UvicornServer, endpoint: Endpoint, data: Data, step: Step | None
) -> dict[str, Any]:
    # Enough requests for the profiler, which samples every millisecond, to see them.
    result = lab.measure(
        server, endpoint, data, step, lambda: profile_taken(server), PROFILE_MIN_REQUESTS
    )
    parts = profile_taken(server)
    done = max(result["requests"], 1)
    row = {"step": step.number if step else 0, "endpoint": endpoint.name, **result}
    row["parts_us"] = (
        {part: round(seconds * 1e6 / done, 1) for part, seconds in parts.items()}
        if parts is not None
        else None
    )
    lab.log(f"profiled {line(row)}")
    return row
