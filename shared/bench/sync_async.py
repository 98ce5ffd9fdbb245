"""The sync-vs-async A/B: the newest sync step with passwords against the newest async step.

Both serve the same database, side by side, and take turns in rounds at each
concurrency, on SQLite and (where a server answers) PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from shared import catalog
from shared.bench import postgres
from shared.bench.endpoints import ENDPOINTS_BY_NAME, Data, Endpoint
from shared.bench.lab import Lab
from shared.bench.measure import Side, dispose, line, summarize
from shared.bench.settings import Settings
from shared.catalog import Step

# The sync-vs-async A/B: endpoints both steps have, and the databases.
SYNC_ASYNC_ENDPOINTS = (
    "GET /users/{id}",
    "GET /posts?limit=100",
    "POST /tasks",
    "POST /auth/token",
)
BACKENDS = ("SQLite", "PostgreSQL")
# A login is one indexed SELECT and ~170 ms of Argon2 on any database: it is
# compared on SQLite only, which halves the A/B's hashes.
LOGIN_BACKENDS = ("SQLite",)


def sync_async_steps(settings: Settings, steps: Sequence[Step]) -> tuple[Step, Step] | None:
    """The A/B's steps: the newest async step measured, and the newest sync step with passwords.

    An async step ready for production (step 8) adds logging, request ids and
    the login limit to every request: it is the async side only when no
    plainer async step is measured.
    """
    if settings.sync_async_steps:
        sync, other = settings.sync_async_steps
        return catalog.get(sync), catalog.get(other)
    async_steps = [step for step in steps if step.offers("async")]
    plain = [step for step in async_steps if not step.offers("production")]
    if not async_steps:
        return None
    async_step = (plain or async_steps)[-1]
    sync_step = next(
        (s for s in reversed(catalog.STEPS) if s.offers("auth") and not s.offers("async")), None
    )
    return (sync_step, async_step) if sync_step else None


@contextmanager
def shared_database(lab: Lab, backend: str, step: Step) -> Iterator[tuple[str, Data] | None]:
    """A database with `step`'s schema and the data set, for both sides; None: skipped."""
    if backend == "SQLite":
        yield lab.fresh_database(step, lab.full, f"{step.package}-sync-async")
        return
    reason = postgres.unavailable(lab.settings.postgres_url)
    if reason is not None:
        lab.log(f"sync vs async: PostgreSQL rows skipped: {reason}")
        lab.skipped["PostgreSQL"] = reason
        yield None
        return
    with postgres.throwaway_database(lab.settings.postgres_url) as url:
        yield url, Data(lab.prepare(step, url, lab.full))


def sync_async_experiment(lab: Lab, sync_step: Step, async_step: Step) -> list[dict[str, Any]]:
    """Step 6 (sync, thread pool) against step 7 (async): same endpoints, same data."""
    rows = []
    for backend in BACKENDS:
        endpoints = [
            ENDPOINTS_BY_NAME[name]
            for name in SYNC_ASYNC_ENDPOINTS
            if async_step.offers(ENDPOINTS_BY_NAME[name].feature)
            and (backend in LOGIN_BACKENDS or not ENDPOINTS_BY_NAME[name].hashing)
        ]
        with shared_database(lab, backend, sync_step) as prepared, ExitStack() as stack:
            if prepared is None:
                continue
            url, data = prepared
            pair = (sync_step, async_step)
            sides = [
                Side(label, step, lab.step_server(step, url, every_core=True), data)
                for label, step in zip(_side_labels(pair), pair, strict=True)
            ]
            lab.start_all(stack, [side.server for side in sides])
            for concurrency in lab.settings.async_concurrency:
                lab.turns(
                    sides,
                    endpoints,
                    requests=lambda endpoint, c=concurrency: _counts(lab, endpoint, c),
                    concurrency=concurrency,
                    before_round=lambda side, _endpoint, s=sides, c=concurrency: _only_pool(
                        lab, side, s, c
                    ),
                )
                for endpoint in endpoints:
                    for side in sides:
                        row = {
                            "step": side.step.number,
                            "endpoint": endpoint.name,
                            "variant": side.label,
                            "backend": backend,
                            "concurrency": concurrency,
                        }
                        row |= summarize(
                            side.loads[endpoint.name], side.warmup_errors[endpoint.name]
                        )
                        lab.log(line(row))
                        rows.append(row)
    return rows


def _counts(lab: Lab, endpoint: Endpoint, concurrency: int) -> tuple[int, int]:
    settings = lab.settings
    if endpoint.hashing:
        return max(settings.hashing_requests, concurrency), min(
            settings.warmup, settings.hashing_warmup
        )
    return settings.async_requests, settings.warmup


def _only_pool(lab: Lab, side: Side, sides: Sequence[Side], concurrency: int) -> None:
    """Close the other sides' pooled connections, then open this side's again.

    Both sides' pools full at 64 connections would be 90 PostgreSQL
    connections, near its default limit of 100. The burst of cheap reads
    that reopens this side's connections is not measured.
    """
    for other in sides:
        if other is not side:
            dispose(other.server)
    read = ENDPOINTS_BY_NAME["GET /users/{id}"]
    lab.load(side.server, read, read.make(concurrency, "reopen", side.data), concurrency)


def _side_labels(steps: Sequence[Step]) -> list[str]:
    labels = [f"{'async' if s.offers('async') else 'sync'} (step {s.number})" for s in steps]
    if len(set(labels)) < len(labels):  # the same step twice: the noise control
        labels = [f"{label} {'AB'[n]}" for n, label in enumerate(labels)]
    return labels
