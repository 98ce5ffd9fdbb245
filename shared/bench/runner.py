"""What the benchmark measures, and in which order.

Which endpoints a step is measured on follows from the features the catalog
gives it, so a new step is benchmarked by adding its catalog entry.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from shared import catalog
from shared.bench import COUNTERS_PATH, DISPOSE_PATH, PROFILE_PATH, postgres
from shared.bench.driver import LoadResult, Request, run_load
from shared.bench.seed import PASSWORD, copy_sqlite, create_tables, seed, username
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
    # Sign-up and login on a step with passwords hash one (about 160 ms of
    # CPU): they are measured with fewer requests, after fewer warm-up ones.
    hashing_requests: int = 32
    hashing_warmup: int = 4
    # One hash and one token check, timed in this process (median of these).
    hash_samples: int = 10
    # The sync-vs-async A/B: requests per row, and the connections it is run at.
    async_requests: int = 500
    async_concurrency: tuple[int, ...] = (16, 64)
    # The server the A/B creates a throw-away database on ("": SQLite only).
    postgres_url: str = postgres.DEFAULT_URL
    # The A/B's two steps (sync, async); by default from the catalog. (6, 6)
    # runs step 6 against itself: the noise of the method.
    sync_async_steps: tuple[int, ...] = ()
    steps: tuple[int, ...] = ()


@dataclass(frozen=True)
class Data:
    """What a served step's database holds, and who the benchmark is logged in as."""

    user_ids: tuple[int, ...] = ()
    # A token of a user signed up and logged in through the API (steps with
    # passwords), and that user's id; the user has no posts.
    token: str = ""
    me: int = 0


RequestMaker = Callable[[int, str, Data], list[Request]]


@dataclass(frozen=True)
class Endpoint:
    name: str
    feature: str
    expected_status: int
    make: RequestMaker
    # Hashes a password on a step with passwords ("auth").
    hashing: bool = False

    def hashes(self, step: Step) -> bool:
        return self.hashing and step.offers("auth")


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _spread(user_ids: Sequence[int], count: int) -> Iterator[int]:
    """Every user in turn, in a scattered order (a prime stride), not only the first."""
    for n in range(count):
        yield user_ids[(n * 7919) % len(user_ids)]


def _bearer(data: Data) -> tuple[tuple[str, str], ...]:
    return (("Authorization", f"Bearer {data.token}"),)


def _log_in_form(name: str) -> bytes:
    return urllib.parse.urlencode({"username": name, "password": PASSWORD}).encode()


FORM = "application/x-www-form-urlencoded"

ENDPOINTS = (
    Endpoint(
        "GET /tasks?limit=100",
        "tasks",
        200,
        lambda count, _tag, _data: [Request("GET", "/tasks?limit=100")] * count,
    ),
    Endpoint(
        "GET /users/{id}",
        "users",
        200,
        lambda count, _tag, data: [
            Request("GET", f"/users/{i}") for i in _spread(data.user_ids, count)
        ],
    ),
    Endpoint(
        "GET /posts?limit=100",
        "posts",
        200,
        lambda count, _tag, _data: [Request("GET", "/posts?limit=100")] * count,
    ),
    Endpoint(
        "POST /tasks",
        "tasks",
        201,
        lambda count, tag, _data: [
            Request("POST", "/tasks", _json({"title": f"Task {tag} {n}"})) for n in range(count)
        ],
    ),
    Endpoint(
        "POST /users",
        "users",
        201,
        lambda count, tag, _data: [
            Request(
                "POST",
                "/users",
                # Steps before 6 ignore the password, as they ignore any unknown field.
                _json(
                    {
                        "username": f"{tag}{n}",
                        "email": f"{tag}{n}@example.com",
                        "password": PASSWORD,
                    }
                ),
            )
            for n in range(count)
        ],
        hashing=True,
    ),
    # Step 6 on: the same user read with a token and without one (the
    # difference is the token check), a write with a token, and the login.
    Endpoint(
        "GET /users/me",
        "auth",
        200,
        lambda count, _tag, data: [Request("GET", "/users/me", headers=_bearer(data))] * count,
    ),
    Endpoint(
        "GET /users/{own id}",
        "auth",
        200,
        lambda count, _tag, data: [Request("GET", f"/users/{data.me}")] * count,
    ),
    Endpoint(
        "PATCH /users/{own id}",
        "auth",
        200,
        lambda count, tag, data: [
            Request(
                "PATCH",
                f"/users/{data.me}",
                _json({"full_name": f"Bench {tag} {n}"}),
                headers=_bearer(data),
            )
            for n in range(count)
        ],
    ),
    Endpoint(
        "POST /auth/token",
        "auth",
        200,
        lambda count, _tag, data: [
            Request("POST", "/auth/token", _log_in_form(username(n)), content_type=FORM)
            for n in _spread(range(len(data.user_ids)), count)
        ],
        hashing=True,
    ),
)
ENDPOINTS_BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}
# An A/B's variants take turns in this many rounds (see Benchmark.turns).
AB_ROUNDS = 4
# The experiments whose rows are measured under load, like the endpoints.
LOAD_EXPERIMENTS = ("journal", "hops", "writers", "pool", "loading", "profile", "async")
# The endpoints the profile breaks down (besides the ceiling's).
PROFILED = ("GET /users/{id}", "GET /posts?limit=100", "POST /users")
PROFILE_MIN_REQUESTS = 100
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
# The hops experiment: the constant endpoint's paths (ceiling.py), how many
# thread-pool hops FastAPI makes for each, and what they are.
HOPS = (
    ("/async", 0, "async def"),
    ("/", 2, "def (the endpoint, then its response validation)"),
    ("/async-dependency", 2, "def + async dependency with yield"),
    ("/sync-dependency", 4, "def + sync dependency with yield, as get_db"),
)
CEILING = Endpoint("GET /", "", 200, lambda count, _tag, _data: [Request("GET", "/")] * count)


@dataclass(frozen=True)
class DataSet:
    tasks: int
    users: int
    posts_per_user: int


@dataclass(frozen=True)
class Measured:
    """One measured load: the driver's view, and what the server counted meanwhile."""

    load: LoadResult
    statements: int
    server_cpu_s: float
    driver_cpu_s: float
    # The ceiling's CPU per request, measured right after (None: not measured).
    ceiling_cpu_s: float | None = None

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
    summary["errors"] += warmup_errors
    done = max(combined.requests, 1)
    summary["statements_per_request"] = round(sum(m.statements for m in loads) / done, 2)
    # The server's own CPU does not depend on how fast the driver is; the
    # driver shares the machine, so its CPU is reported too. The median of
    # the rounds leaves out a round that something else on the machine slowed.
    summary["server_cpu_us"] = round(statistics.median(m.cpu_per_request_s for m in loads) * 1e6, 1)
    summary["driver_cpu_us"] = round(sum(m.driver_cpu_s for m in loads) * 1e6 / done, 1)
    # Each round against the ceiling's CPU measured right after it: both
    # under the same conditions, which a busy machine changes from minute
    # to minute.
    ratios = [m.cpu_per_request_s / m.ceiling_cpu_s for m in loads if m.ceiling_cpu_s]
    if ratios:
        summary["cpu_ratio"] = round(statistics.median(ratios), 2)
    return summary


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


def sync_async_steps(settings: Settings, steps: Sequence[Step]) -> tuple[Step, Step] | None:
    """The A/B's steps: the newest async step measured, and the newest sync step with passwords."""
    if settings.sync_async_steps:
        sync, other = settings.sync_async_steps
        return catalog.get(sync), catalog.get(other)
    async_step = next((step for step in reversed(steps) if step.offers("async")), None)
    if async_step is None:
        return None
    sync_step = next(
        (s for s in reversed(catalog.STEPS) if s.offers("auth") and not s.offers("async")), None
    )
    return (sync_step, async_step) if sync_step else None


def _rounds(count: int, concurrency: int) -> int:
    """Up to AB_ROUNDS rounds, each of at least one request per connection."""
    return max(1, min(AB_ROUNDS, count // max(concurrency, 1)))


class Benchmark:
    def __init__(self, settings: Settings, workdir: Path, log: Callable[[str], None]) -> None:
        self.settings = settings
        self.workdir = workdir
        self.log = log
        self._databases = 0
        self._templates: dict[tuple[str, DataSet], tuple[str, tuple[int, ...]]] = {}
        # The ceiling's server, up for the whole run (see measured_load).
        self._ceiling: UvicornServer | None = None
        # What was left out, and why (printed, and shown on the page).
        self.skipped: dict[str, str] = {}
        # Steps with passwords sign their tokens with it; never a key file in .data/.
        self.secret_key = secrets.token_urlsafe(32)
        self.steps = [
            step
            for step in catalog.STEPS
            if step.offers("persistent") and (not settings.steps or step.number in settings.steps)
        ]
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

    def _step_server(
        self, step: Step, url: str, variant: str = "", *, profile: bool = False
    ) -> UvicornServer:
        """The step served on `url` (not started yet)."""
        env = {
            "DATABASE_URL": url,
            "BENCH_STEP": step.package,
            "BENCH_VARIANT": variant,
            "BENCH_PROFILE": "1" if profile else "",
            "SECRET_KEY": self.secret_key,
            "SECRET_KEY_FILE": str(self.workdir / "unused.key"),
        }
        self._databases += 1
        name = f"{step.package}-{variant or 'as-shipped'}{'-profiled' * profile}-{self._databases}"
        return UvicornServer(
            "shared.bench.served:app",
            env=env,
            extra_args=SERVER_ARGS,
            log_path=self.workdir / f"{name}.log",
        )

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
        body = _json({"username": "bench-me", "email": "me@example.com", "password": PASSWORD})
        signed_up = urllib.request.Request(
            server.url + "/users", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(signed_up, timeout=30) as response:
            me = json.load(response)["id"]
        login = urllib.request.Request(
            server.url + "/auth/token", _log_in_form("bench-me"), {"Content-Type": FORM}
        )
        with urllib.request.urlopen(login, timeout=30) as response:
            token = json.load(response)["access_token"]
        return Data(user_ids, token, me)

    # -- one measurement --------------------------------------------------------

    def _load(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        requests: list[Request],
        concurrency: int | None = None,
    ) -> LoadResult:
        return run_load(
            server.port,
            requests,
            expected_status=endpoint.expected_status,
            concurrency=concurrency or self.settings.concurrency,
            time_limit_s=LOAD_TIME_LIMIT_S,
        )

    def _counts(self, endpoint: Endpoint, step: Step | None) -> tuple[int, int]:
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
        return self._load(server, endpoint, requests, concurrency).error_count

    def measured_load(
        self,
        server: UvicornServer,
        endpoint: Endpoint,
        requests: list[Request],
        concurrency: int | None = None,
    ) -> Measured:
        """One load, then as many requests to the ceiling, under the same conditions."""
        before = counters(server)
        driver_before = time.process_time()
        result = self._load(server, endpoint, requests, concurrency)
        driver_cpu = time.process_time() - driver_before
        after = counters(server)
        return Measured(
            result,
            statements=after["statements"] - before["statements"],
            server_cpu_s=after["cpu_seconds"] - before["cpu_seconds"],
            driver_cpu_s=driver_cpu,
            ceiling_cpu_s=self._ceiling_cpu(len(requests), concurrency),
        )

    def _ceiling_cpu(self, count: int, concurrency: int | None) -> float | None:
        """The ceiling server's CPU seconds per request, for `count` requests sent now."""
        if self._ceiling is None:
            return None
        before = counters(self._ceiling)
        result = self._load(self._ceiling, CEILING, CEILING.make(count, "", Data()), concurrency)
        after = counters(self._ceiling)
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
        count, warmup = self._counts(endpoint, step)
        count = max(count, at_least)
        warmup_errors = self.warm_up(server, endpoint, data, warmup)
        after_warmup()
        requests = endpoint.make(count, "bench", data)
        # In rounds, like an A/B: the median round leaves out a burst of other work.
        rounds = _rounds(len(requests), self.settings.concurrency)
        loads = [
            self.measured_load(server, endpoint, requests[number::rounds])
            for number in range(rounds)
        ]
        return summarize(loads, warmup_errors)

    def _ceiling_server(self, *, profile: bool = False) -> UvicornServer:
        return UvicornServer(
            "shared.bench.served:app",
            env={"BENCH_STEP": "", "BENCH_VARIANT": "", "BENCH_PROFILE": "1" if profile else ""},
            extra_args=SERVER_ARGS,
            log_path=self.workdir / f"ceiling{'-profiled' * profile}.log",
        )

    def measure_ceiling(self) -> dict[str, Any]:
        assert self._ceiling is not None
        return self.measure(self._ceiling, CEILING, Data())

    def hops_experiment(self) -> list[dict[str, Any]]:
        """The constant endpoint with no, two or four thread-pool hops, taking turns in rounds."""
        endpoints = [
            Endpoint(
                f"GET {path}", "", 200, lambda count, _t, _d, p=path: [Request("GET", p)] * count
            )
            for path, _hops, _how in HOPS
        ]
        rounds = _rounds(self.settings.requests, self.settings.concurrency)
        server = self._ceiling
        assert server is not None
        warmup_errors = [
            self.warm_up(server, endpoint, Data(), self.settings.warmup) for endpoint in endpoints
        ]
        measured: list[list[Measured]] = [[] for _ in endpoints]
        for _ in range(rounds):
            for endpoint, loads in zip(endpoints, measured, strict=True):
                requests = endpoint.make(self.settings.requests // rounds, "", Data())
                loads.append(self.measured_load(server, endpoint, requests))
        rows = []
        for (_path, hops, how), endpoint, loads, errors in zip(
            HOPS, endpoints, measured, warmup_errors, strict=True
        ):
            row = {"step": 0, "endpoint": endpoint.name, "variant": how, "hops": hops}
            row |= summarize(loads, errors)
            self.log(_line(row))
            rows.append(row)
        return rows

    # -- the runs ---------------------------------------------------------------

    def run_step(self, step: Step) -> list[dict[str, Any]]:
        url, data = self.fresh_database(step, self.full, step.package)
        rows = []
        with ExitStack() as stack:
            server = self._step_server(step, url)
            self.start_all(stack, [server])
            if step.offers("auth"):
                data = self.log_in(server, data.user_ids)
            for endpoint in ENDPOINTS:
                if not step.offers(endpoint.feature):
                    continue
                result = {"step": step.number, "endpoint": endpoint.name}
                result |= self.measure(server, endpoint, data, step)
                self.log(_line(result))
                rows.append(result)
        return rows

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
            count, _warmup = requests(endpoint)
            rounds = _rounds(count, concurrency)
            for number in range(rounds):
                for side in (side for side in sides if side.measures(endpoint)):
                    before_round(side, endpoint)
                    batch = endpoint.make(count // rounds, f"round{number}", side.data)
                    load = self.measured_load(side.server, endpoint, batch, concurrency)
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
                server = self._step_server(step, url, variant)
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
                self.log(_line(row))
                rows.append(row)
        return rows

    def loading_experiment(self, step: Step) -> list[dict[str, Any]]:
        """GET /users/{id} with many posts: one joined query, a second query, lazy loading."""
        read = ("GET /users/{id}",)
        rows = self.compare(
            step, {"": read, "selectin-posts": read, "lazy-posts": read}, self.loading
        )
        for row in rows:
            row["posts_per_user"] = self.loading.posts_per_user
        return rows

    def write_and_pool_experiments(self, step: Step) -> dict[str, list[dict[str, Any]]]:
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
        rows = self.compare(step, variants, self.full)

        def belongs(row: dict[str, Any], sides: dict[str, Sequence[str]]) -> bool:
            variant = "" if row["variant"] == "as shipped" else row["variant"]
            return row["endpoint"] in sides.get(variant, ())

        return {name: [r for r in rows if belongs(r, sides)] for name, sides in experiments.items()}

    def batch_experiment(self, step: Step) -> list[dict[str, Any]]:
        url, _data = self.fresh_database(step, self.full, f"{step.package}-batch")
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

    def profile_experiment(self, step: Step) -> list[dict[str, Any]]:
        """Where the server's CPU goes per request: the ceiling, then the step's endpoints."""
        url, data = self.fresh_database(step, self.full, f"{step.package}-profile")
        rows = []
        # One after the other: an idle profiler still samples every millisecond.
        with ExitStack() as stack:
            ceiling = self._ceiling_server(profile=True)
            self.start_all(stack, [ceiling])
            rows.append(self._profile(ceiling, CEILING, Data(), step=None))
        with ExitStack() as stack:
            server = self._step_server(step, url, profile=True)
            self.start_all(stack, [server])
            for name in PROFILED:
                endpoint = ENDPOINTS_BY_NAME[name]
                if step.offers(endpoint.feature) and not endpoint.hashes(step):
                    rows.append(self._profile(server, endpoint, data, step))
        return [row for row in rows if row["parts_us"] is not None]

    def _profile(
        self, server: UvicornServer, endpoint: Endpoint, data: Data, step: Step | None
    ) -> dict[str, Any]:
        # Enough requests for the profiler, which samples every millisecond, to see them.
        result = self.measure(
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
        self.log(f"profiled {_line(row)}")
        return row

    # -- sync against async -------------------------------------------------------

    @contextmanager
    def shared_database(self, backend: str, step: Step) -> Iterator[tuple[str, Data] | None]:
        """A database with `step`'s schema and the data set, for both sides; None: skipped."""
        if backend == "SQLite":
            yield self.fresh_database(step, self.full, f"{step.package}-sync-async")
            return
        reason = postgres.unavailable(self.settings.postgres_url)
        if reason is not None:
            self.log(f"sync vs async: PostgreSQL rows skipped: {reason}")
            self.skipped["PostgreSQL"] = reason
            yield None
            return
        with postgres.throwaway_database(self.settings.postgres_url) as url:
            yield url, Data(self.prepare(step, url, self.full))

    def sync_async_experiment(self, sync_step: Step, async_step: Step) -> list[dict[str, Any]]:
        """Step 6 (sync, thread pool) against step 7 (async): same endpoints, same data."""
        rows = []
        for backend in BACKENDS:
            endpoints = [
                ENDPOINTS_BY_NAME[name]
                for name in SYNC_ASYNC_ENDPOINTS
                if async_step.offers(ENDPOINTS_BY_NAME[name].feature)
                and (backend in LOGIN_BACKENDS or not ENDPOINTS_BY_NAME[name].hashing)
            ]
            with self.shared_database(backend, sync_step) as prepared, ExitStack() as stack:
                if prepared is None:
                    continue
                url, data = prepared
                pair = (sync_step, async_step)
                sides = [
                    Side(label, step, self._step_server(step, url), data)
                    for label, step in zip(_side_labels(pair), pair, strict=True)
                ]
                self.start_all(stack, [side.server for side in sides])
                for concurrency in self.settings.async_concurrency:
                    self.turns(
                        sides,
                        endpoints,
                        requests=lambda endpoint, c=concurrency: self._sync_async_counts(
                            endpoint, c
                        ),
                        concurrency=concurrency,
                        before_round=lambda side, _endpoint, s=sides, c=concurrency: (
                            self._only_pool(side, s, c)
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
                            self.log(_line(row))
                            rows.append(row)
        return rows

    def _sync_async_counts(self, endpoint: Endpoint, concurrency: int) -> tuple[int, int]:
        settings = self.settings
        if endpoint.hashing:
            return max(settings.hashing_requests, concurrency), min(
                settings.warmup, settings.hashing_warmup
            )
        return settings.async_requests, settings.warmup

    def _only_pool(self, side: Side, sides: Sequence[Side], concurrency: int) -> None:
        """Close the other sides' pooled connections, then open this side's again.

        Both sides' pools full at 64 connections would be 90 PostgreSQL
        connections, near its default limit of 100. The burst of cheap reads
        that reopens this side's connections is not measured.
        """
        for other in sides:
            if other is not side:
                dispose(other.server)
        read = ENDPOINTS_BY_NAME["GET /users/{id}"]
        self._load(side.server, read, read.make(concurrency, "reopen", side.data), concurrency)

    def run(self) -> dict[str, Any]:
        with ExitStack() as stack:
            ceiling = self._ceiling_server()
            self.start_all(stack, [ceiling])
            self.warm_up(ceiling, CEILING, Data(), self.settings.warmup)
            self._ceiling = ceiling
            try:
                return self._run()
            finally:
                self._ceiling = None

    def _run(self) -> dict[str, Any]:
        auth_costs = None
        if any(step.offers("auth") for step in self.steps):
            from shared.bench.auth import costs

            auth_costs = costs(self.settings.hash_samples)
            self.log(f"auth: {auth_costs}")
        ceiling_before = self.measure_ceiling()
        self.log(f"ceiling  GET /  {_numbers(ceiling_before)}")
        endpoints = [row for step in self.steps for row in self.run_step(step)]
        ceiling_between = self.measure_ceiling()
        self.log(f"ceiling  GET /  {_numbers(ceiling_between)}")
        experiments = self._experiments()
        ceiling_after = self.measure_ceiling()
        self.log(f"ceiling  GET /  {_numbers(ceiling_after)}")
        ceilings = (ceiling_before, ceiling_between, ceiling_after)
        ceiling_rps = statistics.median(c["requests_per_s"] for c in ceilings)
        ceiling_cpu = statistics.median(c["server_cpu_us"] for c in ceilings)
        for row in [*endpoints, *(row for name in LOAD_EXPERIMENTS for row in experiments[name])]:
            row["ceiling_ratio"] = round(row["requests_per_s"] / ceiling_rps, 3)
        return {
            "settings": asdict(self.settings),
            "ceiling": {
                "before": ceiling_before,
                "between": ceiling_between,
                "after": ceiling_after,
                "requests_per_s": ceiling_rps,
                "server_cpu_us": round(ceiling_cpu, 1),
            },
            "endpoints": endpoints,
            "auth": auth_costs,
            "experiments": experiments,
            "skipped": self.skipped,
        }

    def _experiments(self) -> dict[str, Any]:
        experiments: dict[str, Any] = {name: [] for name in (*LOAD_EXPERIMENTS, "batch")}
        step = experiment_step(self.steps)
        if step is None:
            self.skipped["experiments"] = "no step without async among those measured"
        else:
            with_posts = step if step.offers("posts") else None
            experiments |= self.write_and_pool_experiments(step)
            experiments |= {
                "batch": self.batch_experiment(step),
                "hops": self.hops_experiment(),
                "loading": self.loading_experiment(with_posts) if with_posts else [],
                "profile": self.profile_experiment(step),
            }
        pair = sync_async_steps(self.settings, self.steps)
        if pair is not None:
            experiments["async"] = self.sync_async_experiment(*pair)
        return experiments


def _side_labels(steps: Sequence[Step]) -> list[str]:
    labels = [f"{'async' if s.offers('async') else 'sync'} (step {s.number})" for s in steps]
    if len(set(labels)) < len(labels):  # the same step twice: the noise control
        labels = [f"{label} {'AB'[n]}" for n, label in enumerate(labels)]
    return labels


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


def _numbers(row: dict[str, Any]) -> str:
    return (
        f"{row['requests_per_s']:>7.0f} req/s  server CPU {row['server_cpu_us']:>6.0f} us/request"
        f"  p50 {row['p50_ms']:>6.1f} ms  p99 {row['p99_ms']:>7.1f} ms"
        f"  errors {row['errors']}  SQL/request {row['statements_per_request']}"
        f"  (driver CPU {row['driver_cpu_us']:.0f} us/request)"
    )


def _line(row: dict[str, Any]) -> str:
    variant = f" [{row['variant']}]" if "variant" in row else ""
    where = f" {row['backend']} x{row['concurrency']}" if "backend" in row else ""
    return f"step {row['step']}{where}  {row['endpoint']:<20}{variant}  {_numbers(row)}"
