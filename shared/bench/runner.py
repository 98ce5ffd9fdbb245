"""What the benchmark measures, and in which order.

Which endpoints a step is measured on follows from the features the catalog
gives it, so a new step is benchmarked by adding its catalog entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shared import catalog
from shared.bench import STATEMENTS_PATH
from shared.bench.driver import LoadResult, Request, run_load
from shared.bench.seed import seed
from shared.catalog import ROOT, Step
from shared.server import UvicornServer, venv_command

SERVER_ARGS = ("--no-access-log", "--workers", "1", "--log-level", "warning")
LOAD_TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class Settings:
    requests: int = 1000
    concurrency: int = 16
    warmup: int = 100
    tasks: int = 1000
    users: int = 1000
    posts_per_user: int = 10
    # The lazy-vs-selectinload experiment: fewer users, many posts each.
    loading_users: int = 100
    loading_posts_per_user: int = 50
    batch_rows: int = 500
    steps: tuple[int, ...] = ()


RequestMaker = Callable[[int, str, Sequence[int]], list[Request]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    feature: str
    expected_status: int
    make: RequestMaker


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _spread(user_ids: Sequence[int], count: int) -> Iterator[int]:
    """Every user in turn, in a scattered order (a prime stride), not only the first."""
    for n in range(count):
        yield user_ids[(n * 7919) % len(user_ids)]


ENDPOINTS = (
    Endpoint(
        "GET /tasks?limit=100",
        "tasks",
        200,
        lambda count, _tag, _ids: [Request("GET", "/tasks?limit=100")] * count,
    ),
    Endpoint(
        "GET /users/{id}",
        "users",
        200,
        lambda count, _tag, ids: [Request("GET", f"/users/{i}") for i in _spread(ids, count)],
    ),
    Endpoint(
        "GET /posts?limit=100",
        "posts",
        200,
        lambda count, _tag, _ids: [Request("GET", "/posts?limit=100")] * count,
    ),
    Endpoint(
        "POST /tasks",
        "tasks",
        201,
        lambda count, tag, _ids: [
            Request("POST", "/tasks", _json({"title": f"Task {tag} {n}"})) for n in range(count)
        ],
    ),
    Endpoint(
        "POST /users",
        "users",
        201,
        lambda count, tag, _ids: [
            Request(
                "POST",
                "/users",
                _json({"username": f"{tag}{n}", "email": f"{tag}{n}@example.com"}),
            )
            for n in range(count)
        ],
    ),
)
ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}


class Benchmark:
    def __init__(self, settings: Settings, workdir: Path, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.workdir = workdir
        self.log = log
        self.steps = [
            step
            for step in catalog.STEPS
            if step.offers("persistent") and (not settings.steps or step.number in settings.steps)
        ]

    # -- servers --------------------------------------------------------------

    def _database(self, name: str) -> str:
        return f"sqlite:///{self.workdir / name}.db"

    @contextmanager
    def _step_server(self, step: Step, url: str, variant: str = "") -> Iterator[UvicornServer]:
        env = {"DATABASE_URL": url, "BENCH_STEP": step.package, "BENCH_VARIANT": variant}
        if step.offers("migrations"):
            subprocess.run(
                [venv_command("alembic"), "-c", str(step.alembic_ini), "upgrade", "head"],
                cwd=ROOT,
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
        log_path = self.workdir / f"{step.package}-{variant or 'as-shipped'}.log"
        server = UvicornServer(
            "shared.bench.served:app", env=env, extra_args=SERVER_ARGS, log_path=log_path
        )
        with server:
            yield server

    # -- one measurement --------------------------------------------------------

    def _load(
        self, server: UvicornServer, endpoint: Endpoint, requests: list[Request]
    ) -> LoadResult:
        return run_load(
            server.port,
            requests,
            expected_status=endpoint.expected_status,
            concurrency=self.settings.concurrency,
            time_limit_s=LOAD_TIME_LIMIT_S,
        )

    def measure(
        self, server: UvicornServer, endpoint: Endpoint, user_ids: Sequence[int]
    ) -> dict[str, Any]:
        """Warm up, then run the endpoint's requests and count their statements."""
        settings = self.settings
        warmup = self._load(server, endpoint, endpoint.make(settings.warmup, "warmup", user_ids))
        before = statements_sent(server)
        result = self._load(server, endpoint, endpoint.make(settings.requests, "bench", user_ids))
        after = statements_sent(server)
        summary = result.summary()
        summary["errors"] += warmup.error_count
        summary["statements_per_request"] = round((after - before) / max(result.requests, 1), 2)
        return summary

    def measure_ceiling(self) -> dict[str, Any]:
        endpoint = Endpoint("GET /", "", 200, lambda count, _t, _i: [Request("GET", "/")] * count)
        with UvicornServer(
            "shared.bench.ceiling:app",
            extra_args=SERVER_ARGS,
            log_path=self.workdir / "ceiling.log",
        ) as server:
            self._load(server, endpoint, endpoint.make(self.settings.warmup, "", ()))
            return self._load(
                server, endpoint, endpoint.make(self.settings.requests, "", ())
            ).summary()

    # -- the runs ---------------------------------------------------------------

    def run_step(self, step: Step) -> list[dict[str, Any]]:
        settings = self.settings
        url = self._database(step.package)
        rows = []
        with self._step_server(step, url) as server:
            user_ids = seed(
                url,
                step,
                tasks=settings.tasks,
                users=settings.users,
                posts_per_user=settings.posts_per_user,
            )
            for endpoint in ENDPOINTS:
                if not step.offers(endpoint.feature):
                    continue
                result = {"step": step.number, "endpoint": endpoint.name}
                result |= self.measure(server, endpoint, user_ids)
                self.log(_line(result))
                rows.append(result)
        return rows

    def loading_experiment(self, step: Step) -> list[dict[str, Any]]:
        """GET /users/{id} with many posts: the step as shipped, then with lazy loading."""
        settings = self.settings
        url = self._database(f"{step.package}-loading")
        endpoint = ENDPOINTS_BY_NAME["GET /users/{id}"]
        rows = []
        for variant in ("", "lazy-posts"):
            with self._step_server(step, url, variant) as server:
                if not variant:
                    user_ids = seed(
                        url,
                        step,
                        tasks=0,
                        users=settings.loading_users,
                        posts_per_user=settings.loading_posts_per_user,
                    )
                result = {
                    "step": step.number,
                    "endpoint": endpoint.name,
                    "posts_per_user": settings.loading_posts_per_user,
                    "variant": variant or "as shipped",
                }
                result |= self.measure(server, endpoint, user_ids)
                self.log(_line(result))
                rows.append(result)
        return rows

    def journal_experiment(self, step: Step) -> list[dict[str, Any]]:
        """The writes with the step's set-up (WAL + NORMAL), SQLite's defaults, and WAL + FULL."""
        writes = [e for e in ENDPOINTS if e.name in ("POST /tasks", "POST /users")]
        rows = []
        for variant in ("", "journal-delete", "wal-full"):
            url = self._database(f"{step.package}-{variant or 'as-shipped'}")
            with self._step_server(step, url, variant) as server:
                for endpoint in writes:
                    if not step.offers(endpoint.feature):
                        continue
                    result = {
                        "step": step.number,
                        "endpoint": endpoint.name,
                        "variant": variant or "as shipped",
                    }
                    result |= self.measure(server, endpoint, ())
                    self.log(_line(result))
                    rows.append(result)
        return rows

    def batch_experiment(self, step: Step) -> list[dict[str, Any]]:
        url = self._database(f"{step.package}-batch")
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "shared.bench.batch",
                step.package,
                str(self.settings.batch_rows),
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        measured = json.loads(completed.stdout)
        rows = [
            {"step": step.number, "variant": name, **numbers} for name, numbers in measured.items()
        ]
        for row in rows:
            self.log(f"step {row['step']}  {row['variant']:<24} {row['rows_per_s']:>9.0f} rows/s")
        return rows

    def run(self) -> dict[str, Any]:
        newest = self.steps[-1]
        newest_with_posts = next((s for s in reversed(self.steps) if s.offers("posts")), None)
        ceiling_before = self.measure_ceiling()
        self.log(f"ceiling  GET /  {ceiling_before['requests_per_s']:.0f} req/s")
        endpoints = [row for step in self.steps for row in self.run_step(step)]
        experiments = {
            "journal": self.journal_experiment(newest),
            "batch": self.batch_experiment(newest),
            "loading": self.loading_experiment(newest_with_posts) if newest_with_posts else [],
        }
        ceiling_after = self.measure_ceiling()
        self.log(f"ceiling  GET /  {ceiling_after['requests_per_s']:.0f} req/s")
        ceiling_rps = (ceiling_before["requests_per_s"] + ceiling_after["requests_per_s"]) / 2
        for row in [*endpoints, *experiments["journal"], *experiments["loading"]]:
            row["ceiling_ratio"] = round(row["requests_per_s"] / ceiling_rps, 3)
        return {
            "settings": asdict(self.settings),
            "ceiling": {
                "before": ceiling_before,
                "after": ceiling_after,
                "requests_per_s": ceiling_rps,
            },
            "endpoints": endpoints,
            "experiments": experiments,
        }


def statements_sent(server: UvicornServer) -> int:
    with urllib.request.urlopen(server.url + STATEMENTS_PATH, timeout=10) as response:
        return json.load(response)["statements"]


def _line(row: dict[str, Any]) -> str:
    variant = f" [{row['variant']}]" if "variant" in row else ""
    return (
        f"step {row['step']}  {row['endpoint']:<20}{variant}  {row['requests_per_s']:>7.0f} req/s"
        f"  p50 {row['p50_ms']:>6.1f} ms  p99 {row['p99_ms']:>7.1f} ms"
        f"  errors {row['errors']}  SQL/request {row['statements_per_request']}"
    )
