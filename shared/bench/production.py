"""Step 8 as it is deployed: one and two workers on PostgreSQL, and what the login limit costs.

- workers: the newest step with the production feature, served by uvicorn
  with one worker, then two, on the same PostgreSQL database, taking turns.
  Each row's server CPU is the sum over all the server's processes (the
  supervisor and its workers), read from /proc.
- limiter: the same step's login with its counters in Redis, against the same
  login with the counters in the process's memory (no REDIS_URL), taking
  turns on the same database; and one Redis round trip of the limiter's
  pipeline, timed in this process, beside one Argon2 hash.

Without PostgreSQL, both are left out; without Redis, the limiter's rows
are; each with its reason, printed and shown on the page.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import redis

from shared.bench import postgres
from shared.bench.endpoints import ENDPOINTS_BY_NAME, Data
from shared.bench.lab import Lab
from shared.bench.measure import Side, line, summarize
from shared.catalog import Step

# The server the limiter's rows keep their counters on. Database 0: the
# tests empty databases 1-15 of the same server for their own counters.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = (1, 2)
WORKERS_ENDPOINTS = ("GET /users/{id}", "GET /posts?limit=100", "POST /tasks")
LOGIN = "POST /auth/token"
# Round trips of the limiter's pipeline timed in-process (median kept).
ROUND_TRIPS = 200


def production_step(steps: Sequence[Step]) -> Step | None:
    """The newest measured step that is ready for production."""
    return next((step for step in reversed(steps) if step.offers("production")), None)


def redis_unavailable(url: str) -> str | None:
    """Why no Redis answers at `url`; None when one does."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as error:
        return f"no Redis answers at {url}: {error}"
    return None


def redis_round_trip_us(url: str, samples: int = ROUND_TRIPS) -> float:
    """The median wall time of the limiter's pipeline (INCR, EXPIRE NX, TTL), in this process."""
    key = f"bench:round-trip:{os.getpid()}"
    times = []
    with redis.Redis.from_url(url, socket_timeout=2) as client:
        for _ in range(samples):
            started = time.perf_counter()
            with client.pipeline(transaction=True) as pipe:
                pipe.incr(key).expire(key, 60, nx=True).ttl(key)
                pipe.execute()
            times.append(time.perf_counter() - started)
        client.delete(key)
    return round(statistics.median(times) * 1e6, 1)


@contextmanager
def _postgres_database(lab: Lab, step: Step, what: str) -> Iterator[tuple[str, Data] | None]:
    """A throw-away PostgreSQL database with the step's schema and data; None: left out."""
    reason = postgres.unavailable(lab.settings.postgres_url)
    if reason is not None:
        lab.log(f"{what}: left out: {reason}")
        lab.skipped[what] = reason
        yield None
        return
    with postgres.throwaway_database(lab.settings.postgres_url) as url:
        yield url, Data(lab.prepare(step, url, lab.full))


def _rows(lab: Lab, sides: Sequence[Side], names: Sequence[str], **fields: Any) -> list[dict]:
    rows = []
    for name in names:
        for side in sides:
            row = {
                "step": side.step.number,
                "endpoint": name,
                "variant": side.label,
                "backend": "PostgreSQL",
                "concurrency": lab.settings.concurrency,
                **fields,
            }
            row |= summarize(side.loads[name], side.warmup_errors[name])
            lab.log(line(row))
            rows.append(row)
    return rows


def workers_experiment(lab: Lab, step: Step) -> list[dict[str, Any]]:
    """The step with one worker, then two, on the same PostgreSQL database, taking turns."""
    with _postgres_database(lab, step, "step 8 workers") as prepared, ExitStack() as stack:
        if prepared is None:
            return []
        url, data = prepared
        sides = [
            Side(f"{n} worker{'s' * (n > 1)}", step, lab.step_server(step, url, workers=n), data)
            for n in WORKERS
        ]
        lab.start_all(stack, [side.server for side in sides])
        endpoints = [ENDPOINTS_BY_NAME[name] for name in WORKERS_ENDPOINTS]
        lab.turns(
            sides,
            endpoints,
            requests=lambda endpoint: lab.counts(endpoint, step),
            concurrency=lab.settings.concurrency,
        )
        rows = _rows(lab, sides, WORKERS_ENDPOINTS)
    for row, workers in zip(rows, WORKERS * len(WORKERS_ENDPOINTS), strict=True):
        row["workers"] = workers
    return rows


def limiter_experiment(lab: Lab, step: Step) -> dict[str, Any]:
    """The login with its counters in Redis against the login with them in memory."""
    reason = redis_unavailable(REDIS_URL)
    if reason is not None:
        lab.log(f"login limiter: left out: {reason}")
        lab.skipped["login limiter"] = reason
        return {"rows": []}
    with _postgres_database(lab, step, "login limiter") as prepared, ExitStack() as stack:
        if prepared is None:
            return {"rows": []}
        url, data = prepared
        sides = [
            Side(label, step, lab.step_server(step, url, env={"REDIS_URL": redis_url}), data)
            for label, redis_url in (("Redis counters", REDIS_URL), ("in-process counters", ""))
        ]
        lab.start_all(stack, [side.server for side in sides])
        login = ENDPOINTS_BY_NAME[LOGIN]
        lab.turns(
            sides,
            [login],
            requests=lambda endpoint: lab.counts(endpoint, step),
            concurrency=lab.settings.concurrency,
        )
        rows = _rows(lab, sides, [LOGIN])
    round_trip = redis_round_trip_us(REDIS_URL)
    lab.log(f"login limiter: one Redis round trip {round_trip:.0f} us (in-process)")
    return {"rows": rows, "redis_round_trip_us": round_trip, "redis_url": REDIS_URL}
