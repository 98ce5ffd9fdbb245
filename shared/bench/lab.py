"""The benchmark's workbench: the databases and servers it makes, and how it measures them.

Everything an experiment needs to serve a step on a seeded database and put it
under load is here; what is measured, and in which order, is elsewhere
(runner.py, experiments.py, sync_async.py).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path
from typing import Any

from shared import catalog
from shared.bench import cores
from shared.bench.driver import REQUEST_TIMEOUT_S, LoadResult, Request, run_load
from shared.bench.endpoints import (
    CEILING,
    ENDPOINTS_BY_NAME,
    FORM,
    Data,
    Endpoint,
    json_body,
    log_in_form,
)
from shared.bench.measure import (
    Measured,
    Side,
    counters,
    line,
    process_tree_cpu_s,
    round_count,
    summarize,
)
from shared.bench.seed import PASSWORD, copy_sqlite, create_tables, seed
from shared.bench.settings import DataSet, Settings
from shared.bench.wrk import run_wrk
from shared.catalog import ROOT, Step
from shared.server import UvicornServer, venv_command

LOAD_TIME_LIMIT_S = 60.0
# How long uvicorn keeps an idle connection open: longer than any load. wrk
# leaves a connection waiting once every request of a load is promised to
# another, and uvicorn closes one idle for 5 s by default; wrk counted that as
# a failed read, and its reconnection asked the script again, which then took
# the run for over while the last answers were still on their way (logins at
# 64 connections on a loaded machine: errors counted, 1.08 statements a request).
KEEP_ALIVE_S = round(LOAD_TIME_LIMIT_S + REQUEST_TIMEOUT_S)


def server_args(workers: int) -> tuple[str, ...]:
    """uvicorn's flags for every server of the benchmark, steps and ceiling alike."""
    return (
        "--no-access-log",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--timeout-keep-alive",
        str(KEEP_ALIVE_S),
    )


# Before each measured round, each server gets this many requests per
# connection, unmeasured: the servers share one core, and the other's round
# has just left its caches cold. Without them the ceiling's short rounds (150
# requests, 30 ms) cost it 10 to 20 % more than its steady state, which made
# every ratio look better than it was.
ROUND_WARMUP_PER_CONNECTION = 2
# A login limit no run reaches: the limiter is measured, never let to refuse.
UNREACHED_RATE = "1000000/minute"


class Lab:
    def __init__(self, settings: Settings, workdir: Path, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.workdir = workdir
        self.log = log
        self._databases = 0
        self._templates: dict[tuple[str, DataSet], tuple[str, tuple[int, ...]]] = {}
        # The ceiling's server, up for the whole run (see measured_load).
        self.ceiling: UvicornServer | None = None
        # The ports of servers whose CPU is read from /proc over all their
        # processes (several workers), not from the wrapper's counters.
        self._process_tree_ports: set[int] = set()
        # What was left out, and why (printed, and shown on the page).
        self.skipped: dict[str, str] = {}
        # Steps with passwords sign their tokens with it; never a key file in .data/.
        self.secret_key = secrets.token_urlsafe(32)
        self.steps = [
            step
            for step in catalog.STEPS
            if step.offers("persistent") and (not settings.steps or step.number in settings.steps)
        ]
        # Which cores the servers and the load run on (see cores.py).
        self.placement = cores.plan(settings.pin)
        self.full = DataSet(settings.tasks, settings.users, settings.posts_per_user)
        self.loading = DataSet(0, settings.loading_users, settings.loading_posts_per_user)

    # -- databases ---------------------------------------------------------------

    def _database(self, name: str) -> str:
        self._databases += 1
        return f"sqlite:///{self.workdir / f'{name}-{self._databases}'}.db"

    @cached_property
    def password_hash(self) -> str:
        from shared.bench.auth import password_hash

        return password_hash()

    def prepare(self, step: Step, url: str, data_set: DataSet) -> tuple[int, ...]:
        """Give an empty database the step's schema and the data set; return the user ids."""
        if step.offers("migrations"):
            subprocess.run(
                [venv_command("alembic"), "-c", str(step.alembic_ini), "upgrade", "head"],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": url},
                check=True,
                capture_output=True,
            )
        else:
            create_tables(url, step)
        user_ids = seed(
            url,
            step,
            tasks=data_set.tasks,
            users=data_set.users,
            posts_per_user=data_set.posts_per_user,
            password_hash=self.password_hash if step.offers("auth") else None,
        )
        return tuple(user_ids)

    def fresh_database(self, step: Step, data_set: DataSet, name: str) -> tuple[str, Data]:
        """A new SQLite database with the step's schema and data: a copy of one made once."""
        key = (step.package, data_set)
        if key not in self._templates:
            template = self._database(f"{step.package}-template")
            self._templates[key] = (template, self.prepare(step, template, data_set))
        template, user_ids = self._templates[key]
        url = self._database(name)
        copy_sqlite(template, url)
        return url, Data(user_ids)

    # -- servers --------------------------------------------------------------

    def step_server(
        self,
        step: Step,
        url: str,
        variant: str = "",
        *,
        profile: bool = False,
        workers: int | None = None,
        env: dict[str, str] | None = None,
        every_core: bool = False,
    ) -> UvicornServer:
        """The step served on `url` (not started yet).

        With `workers`, uvicorn runs that many worker processes, and the
        server's CPU is the sum over all its processes (read from /proc);
        without, one process that counts its own CPU (served.py). A server
        with several workers, or `every_core`, runs on every core; the others
        on the servers' core (cores.py).
        """
        environment = {
            "DATABASE_URL": url,
            "BENCH_STEP": step.package,
            "BENCH_VARIANT": variant,
            "BENCH_PROFILE": "1" if profile else "",
            "SECRET_KEY": self.secret_key,
            "SECRET_KEY_FILE": str(self.workdir / "unused.key"),
            "LOGIN_RATE_LIMIT": UNREACHED_RATE,
            "LOGIN_IP_RATE_LIMIT": UNREACHED_RATE,
            "REDIS_URL": "",
            **(env or {}),
        }
        self._databases += 1
        name = f"{step.package}-{variant or 'as-shipped'}{'-profiled' * profile}-{self._databases}"
        server = UvicornServer(
            "shared.bench.served:app",
            env=environment,
            extra_args=server_args(workers or 1),
            log_path=self.workdir / f"{name}.log",
            cores=self.placement.every
            if every_core or (workers or 1) > 1
            else self.placement.server,
        )
        if workers is not None:
            self._process_tree_ports.add(server.port)
        return server

    @staticmethod
    def start_all(stack: ExitStack, servers: Sequence[UvicornServer]) -> None:
        """Start the servers side by side (each spends a second importing); stop them on exit."""
        for server in servers:
            stack.callback(server.stop)
        with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
            for started in [pool.submit(server.start) for server in servers]:
                started.result()

    def log_in(self, server: UvicornServer, user_ids: tuple[int, ...]) -> Data:
        """Sign up a user through the API, then log in for real: that user's token."""
        body = json_body({"username": "bench-me", "email": "me@example.com", "password": PASSWORD})
        signed_up = urllib.request.Request(
            server.url + "/users", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(signed_up, timeout=30) as response:
            me = json.load(response)["id"]
        login = urllib.request.Request(
            server.url + "/auth/token", log_in_form("bench-me"), {"Content-Type": FORM}
        )
        with urllib.request.urlopen(login, timeout=30) as response:
            token = json.load(response)["access_token"]
        return Data(user_ids, token, me)

    # -- one measurement --------------------------------------------------------

    def load(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        requests: list[Request],
        concurrency: int | None = None,
    ) -> LoadResult:
        run = run_wrk if self.settings.generator == "wrk" else run_load
        return run(
            server.port,
            requests,
            expected_status=endpoint.expected_status,
            concurrency=concurrency or self.settings.concurrency,
            time_limit_s=LOAD_TIME_LIMIT_S,
        )

    def counts(self, endpoint: Endpoint, step: Step | None) -> tuple[int, int]:
        """How many requests, and warm-up requests, a row of this endpoint gets."""
        settings = self.settings
        if step is not None and endpoint.hashes(step):
            return settings.hashing_requests, min(settings.warmup, settings.hashing_warmup)
        return settings.requests, settings.warmup

    def warm_up(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        data: Data,
        count: int,
        concurrency: int | None = None,
    ) -> int:
        """Send the warm-up requests; return how many failed."""
        requests = endpoint.make(count, "warmup", data)
        return self.load(server, endpoint, requests, concurrency).error_count

    def round_warmup(
        self, endpoint: Endpoint, data: Data, tag: str, warmup: int, concurrency: int | None = None
    ) -> list[Request]:
        """The unmeasured requests before a round (ROUND_WARMUP_PER_CONNECTION), at most the
        endpoint's warm-up count; `tag` keeps a write's names apart from every other round's."""
        per_connection = ROUND_WARMUP_PER_CONNECTION * (concurrency or self.settings.concurrency)
        return endpoint.make(min(warmup, per_connection), tag, data)

    def measured_load(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        requests: list[Request],
        concurrency: int | None = None,
        warmup: Sequence[Request] = (),
    ) -> Measured:
        """`warmup`, unmeasured; one load; then as many requests to the ceiling, under the same
        conditions, after a warm-up of its own."""
        warmup_errors = self.load(server, endpoint, list(warmup), concurrency).error_count
        before = self._server_counters(server)
        driver_before = self.generator_cpu_s()
        result = self.load(server, endpoint, requests, concurrency)
        driver_cpu = self.generator_cpu_s() - driver_before
        after = self._server_counters(server)
        return Measured(
            result,
            statements=after["statements"] - before["statements"],
            server_cpu_s=after["cpu_seconds"] - before["cpu_seconds"],
            driver_cpu_s=driver_cpu,
            ceiling_cpu_s=self._ceiling_cpu(len(requests), concurrency),
            warmup_errors=warmup_errors,
        )

    def generator_cpu_s(self) -> float:
        """The CPU seconds the load generator has used so far: the Python driver runs in this
        process; wrk in a child (once it has ended: writing its script is not load)."""
        if self.settings.generator != "wrk":
            return time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return children.ru_utime + children.ru_stime

    def _server_counters(self, server: UvicornServer) -> dict[str, float]:
        """The server's statements and CPU seconds so far (statements: 0 over several workers,
        whose wrapper answers for one worker at a time)."""
        if server.port not in self._process_tree_ports:
            return counters(server)
        assert server.process is not None
        return {"statements": 0, "cpu_seconds": process_tree_cpu_s(server.process.pid)}

    def _ceiling_cpu(self, count: int, concurrency: int | None) -> float | None:
        """The ceiling server's CPU seconds per request, for `count` requests sent now."""
        if self.ceiling is None:
            return None
        warmup = self.round_warmup(CEILING, Data(), "", self.settings.warmup, concurrency)
        self.load(self.ceiling, CEILING, warmup, concurrency)
        before = counters(self.ceiling)
        result = self.load(self.ceiling, CEILING, CEILING.make(count, "", Data()), concurrency)
        after = counters(self.ceiling)
        return (after["cpu_seconds"] - before["cpu_seconds"]) / max(result.requests, 1)

    def measure(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        data: Data,
        step: Step | None = None,
        after_warmup: Callable[[], object] = lambda: None,
        at_least: int = 0,
    ) -> dict[str, Any]:
        """Warm up, then run the endpoint's requests; count their statements and CPU."""
        count, warmup = self.counts(endpoint, step)
        count = max(count, at_least)
        warmup_errors = self.warm_up(server, endpoint, data, warmup)
        after_warmup()
        requests = endpoint.make(count, "bench", data)
        # In rounds, like an A/B: the median round leaves out a burst of other work.
        rounds = round_count(len(requests), self.settings.concurrency)
        loads = [
            self.measured_load(
                server,
                endpoint,
                requests[number::rounds],
                warmup=self.round_warmup(endpoint, data, f"warm{number}", warmup),
            )
            for number in range(rounds)
        ]
        return summarize(loads, warmup_errors)

    def ceiling_server(
        self, app: str = "", *, profile: bool = False, variant: str = ""
    ) -> UvicornServer:
        """The ceiling (ceiling.py), or with `app="hops"` the hops experiment's app (hops.py);
        `variant`: one of served.py's PROCESS_VARIANTS."""
        env = {"BENCH_STEP": app, "BENCH_VARIANT": variant, "BENCH_PROFILE": "1" if profile else ""}
        name = f"{app or 'ceiling'}{f'-{variant}' * bool(variant)}{'-profiled' * profile}"
        return UvicornServer(
            "shared.bench.served:app",
            env=env,
            extra_args=server_args(1),
            log_path=self.workdir / f"{name}.log",
            cores=self.placement.server,
        )

    def measure_ceiling(self) -> dict[str, Any]:
        assert self.ceiling is not None
        return self.measure(self.ceiling, CEILING, Data())

    def turns(
        self,
        sides: Sequence[Side],
        endpoints: Sequence[Endpoint],
        *,
        requests: Callable[[Endpoint], tuple[int, int]],
        concurrency: int,
        before_round: Callable[[Side, Endpoint], object] = lambda _side, _endpoint: None,
    ) -> None:
        """Every side warms up, then the sides take turns, a round of requests each.

        Whatever else the machine does then falls on all of them alike; a
        row's server CPU is the median of its rounds. `requests` gives an
        endpoint's (requests, warm-up requests).
        """
        for endpoint in endpoints:
            count, warmup = requests(endpoint)
            for side in (side for side in sides if side.measures(endpoint)):
                side.warmup_errors[endpoint.name] = self.warm_up(
                    side.server, endpoint, side.data, warmup, concurrency
                )
                side.loads[endpoint.name] = []
        for endpoint in endpoints:
            count, warmup = requests(endpoint)
            rounds = round_count(count, concurrency)
            for number in range(rounds):
                for side in (side for side in sides if side.measures(endpoint)):
                    before_round(side, endpoint)
                    batch = endpoint.make(count // rounds, f"round{number}", side.data)
                    warm = self.round_warmup(
                        endpoint, side.data, f"warm{number}", warmup, concurrency
                    )
                    load = self.measured_load(side.server, endpoint, batch, concurrency, warm)
                    side.loads[endpoint.name].append(load)

    def compare(
        self, step: Step, variants: dict[str, Sequence[str]], data_set: DataSet
    ) -> list[dict[str, Any]]:
        """An A/B (or A/B/C...): each variant of the step on its own fresh copy of the data set.

        `variants` maps each variant to the endpoints it is measured on; the
        endpoints that hash a password on this step are left out.
        """

        def wanted(name: str) -> bool:
            endpoint = ENDPOINTS_BY_NAME[name]
            return step.offers(endpoint.feature) and not endpoint.hashes(step)

        measured = {variant: [n for n in names if wanted(n)] for variant, names in variants.items()}
        endpoints = [
            ENDPOINTS_BY_NAME[name]
            for name in dict.fromkeys(n for names in measured.values() for n in names)
        ]
        if not endpoints:
            return []
        with ExitStack() as stack:
            sides = []
            for variant, names in measured.items():
                url, data = self.fresh_database(step, data_set, f"{step.package}-{variant}")
                server = self.step_server(step, url, variant)
                sides.append(Side(variant, step, server, data, frozenset(names)))
            self.start_all(stack, [side.server for side in sides])
            self.turns(
                sides,
                endpoints,
                requests=lambda _endpoint: (self.settings.requests, self.settings.warmup),
                concurrency=self.settings.concurrency,
            )
        rows = []
        for endpoint in endpoints:
            for side in (side for side in sides if side.measures(endpoint)):
                row = {
                    "step": step.number,
                    "endpoint": endpoint.name,
                    "variant": side.label or "as shipped",
                }
                row |= summarize(side.loads[endpoint.name], side.warmup_errors[endpoint.name])
                self.log(line(row))
                rows.append(row)
        return rows
