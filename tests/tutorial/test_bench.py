"""`make bench` runs: a tiny data set, a few requests, two steps, every experiment.

How fast is never asserted (the numbers belong to the machine, see
docs/benchmark.md); that it runs, that nothing fails and that the report's
arithmetic holds (every ratio is the quotient of the two figures printed
beside it, a target is met only by the ratio shown) are. The run is as small
as the benchmark allows: the newest step, the step the experiments run on
(the newest without passwords), every experiment (--experiments) with two
connections and a handful of requests, the sync-vs-async A/B on SQLite only.
Step 8's rows on PostgreSQL and Redis run in a test of their own, where both
answer.
"""

import gc
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from shared import catalog
from shared.bench import ceiling, cores, driver, lab, postgres, production
from shared.bench.driver import LoadResult, Request
from shared.bench.endpoints import CEILING, ENDPOINTS_BY_NAME, Data
from shared.bench.experiments import experiment_step
from shared.bench.lab import ROUND_WARMUP_PER_CONNECTION, Lab, server_args
from shared.bench.measure import Measured, process_tree_cpu_s, summarize
from shared.bench.settings import Settings as BenchSettings
from shared.bench.sync_async import sync_async_steps
from shared.bench.targets import CPU_RATIO_TARGETS, hashes
from shared.bench.wrk import run_wrk
from shared.catalog import ROOT
from shared.server import UvicornServer
from tests.support import once

REQUESTS = 4  # two rounds of one request per connection: the A/B turns, at their cheapest
HASHING_REQUESTS = 2
ASYNC_REQUESTS = 4
NEWEST = catalog.latest()
EXPERIMENTS_STEP = experiment_step(catalog.STEPS)
MEASURED = sorted({NEWEST.number, EXPERIMENTS_STEP.number})
SYNC_ASYNC = sync_async_steps(BenchSettings(), [NEWEST])
TINY = [
    "--requests", str(REQUESTS), "--warmup", "2", "--concurrency", "2",
    "--tasks", "10", "--users", "6", "--posts-per-user", "2",
    "--loading-users", "3", "--loading-posts-per-user", "5", "--batch-rows", "10",
    "--hashing-requests", str(HASHING_REQUESTS), "--hashing-warmup", "0", "--hash-samples", "1",
    "--async-requests", str(ASYNC_REQUESTS), "--async-concurrency", "2", "--postgres", "",
    "--experiments",
    *(arg for number in MEASURED for arg in ("--step", str(number))),
    *(() if SYNC_ASYNC else ("--sync-async", "6", "6")),
]  # fmt: skip


# On PYTHONPATH, its sitecustomize makes Argon2 cheap in every process it
# starts (see the module). What these tests check does not depend on what a
# hash costs: that the rows are there, that no request fails, the arithmetic.
# Real hashes (about 0.2 s of CPU each) cost the run 3 s more, for nothing.
CHEAP_HASHING = {
    "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT / "tests" / "full" / "cheap_hashing"), os.environ.get("PYTHONPATH")])
    )
}


@pytest.fixture(scope="session")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run's folder, once in the run (tests/support/once.py): pytest-xdist hands
    this module's tests to both workers, and each ran the whole benchmark again."""

    def tiny_run(folder: Path) -> dict:
        completed = subprocess.run(
            [sys.executable, "-m", "shared.bench", *TINY, "--output", str(folder)],
            cwd=ROOT,
            env={**os.environ, **CHEAP_HASHING},
            capture_output=True,
            text=True,
            timeout=240,
        )
        return {"returncode": completed.returncode, "output": completed.stdout + completed.stderr}

    result, folder = once.once_per_run(tmp_path_factory, "tiny-bench", tiny_run)
    assert result["returncode"] == 0, result["output"]
    return folder


@pytest.fixture(scope="session")
def results(output: Path) -> dict:
    return json.loads((output / "results.json").read_text())


def test_each_measured_step_is_measured_on_its_endpoints(results: dict) -> None:
    measured = {(row["step"], row["endpoint"]) for row in results["endpoints"]}
    assert {row["step"] for row in results["endpoints"]} == set(MEASURED)
    for number in MEASURED:
        step = catalog.get(number)
        assert (number, "POST /tasks") in measured
        assert (number, "GET /tasks?limit=100") in measured
        assert ((number, "POST /users") in measured) == step.offers("users")
        assert ((number, "GET /posts?limit=100") in measured) == step.offers("posts")
        for endpoint in ("GET /users/me", "GET /users/{own id}", "POST /auth/token"):
            assert ((number, endpoint) in measured) == step.offers("auth")


def load_rows(results: dict) -> list[dict]:
    experiments = results["experiments"]
    return [
        *results["endpoints"],
        *(
            row
            for name in ("journal", "writers", "pool", "loading", "async")
            for row in experiments[name]
        ),
    ]


def expected_requests(row: dict) -> int:
    if hashes(row):
        return max(HASHING_REQUESTS, row.get("concurrency", 0))
    return ASYNC_REQUESTS if "backend" in row else REQUESTS


def test_no_request_fails(results: dict) -> None:
    for row in [*load_rows(results), *results["experiments"]["hops"]]:
        assert row["errors"] == 0, row
        assert row["requests"] == (expected_requests(row) if row["step"] else REQUESTS), row
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    for row in load_rows(results):
        assert row["statements_per_request"] >= 1
    for moment in ("before", "between", "after"):
        assert results["ceiling"][moment]["errors"] == 0
    assert next(t for t in results["targets"] if t["target"] == "no request fails")["met"]


def test_server_and_driver_cpu_are_reported_per_request(results: dict) -> None:
    assert results["ceiling"]["server_cpu_us"] > 0
    for row in load_rows(results):
        assert row["server_cpu_us"] > 0, row
        assert row["driver_cpu_us"] > 0, row
        # Each round against the ceiling measured right after it.
        assert row["cpu_ratio"] > 0, row


def test_the_profile_breaks_the_cpu_down_by_part(results: dict) -> None:
    profile = results["experiments"]["profile"]
    assert profile, "the profiler runs on Linux"
    assert profile[0]["endpoint"] == "GET /"
    for row in profile:
        assert sum(row["parts_us"].values()) > 0, row
    step_parts = {part for row in profile[1:] for part, us in row["parts_us"].items() if us}
    assert "SQLite itself (statement, fetch)" in step_parts


def test_every_experiment_has_every_side_on_a_step_without_passwords(results: dict) -> None:
    experiments = results["experiments"]
    for name in ("journal", "writers", "pool", "loading", "profile", "batch"):
        assert {row["step"] for row in experiments[name]} - {0} == {EXPERIMENTS_STEP.number}
    journal = {(row["endpoint"], row["variant"]) for row in experiments["journal"]}
    for variant in ("as shipped", "journal-delete", "wal-full"):
        assert ("POST /tasks", variant) in journal
    writers = {(row["endpoint"], row["variant"]) for row in experiments["writers"]}
    for variant in ("as shipped", "polling-writers", "one-connection"):
        assert ("POST /tasks", variant) in writers
    pool = {row["variant"] for row in experiments["pool"]}
    assert pool == {"as shipped", "default-pool"}
    assert [row["hops"] for row in experiments["hops"]] == [0, 2, 2, 4]
    assert {row["rows"] for row in experiments["batch"]} == {10}
    assert [row["variant"] for row in experiments["loading"]] == [
        "as shipped",
        "selectin-posts",
        "lazy-posts",
    ]
    collector = {(row["step"], row["endpoint"], row["variant"]) for row in experiments["gc"]}
    assert collector == {
        (number, endpoint, variant)
        for number, endpoint in [
            *((EXPERIMENTS_STEP.number, name) for name in GC_READS),
            (0, CEILING.name),  # the ceiling at Python's thresholds, against the ceiling as served
        ]
        for variant in ("as shipped", "python-gc")
        if number or variant == "python-gc"
    }


GC_READS = ("GET /users/{id}", "GET /posts?limit=100", "GET /tasks?limit=100")


def test_a_rows_spread_is_its_lowest_and_highest_round_ratio() -> None:
    def round_of(server_cpu_s: float, ceiling_cpu_s: float) -> Measured:
        load = LoadResult(100, 1.0, (0.01,) * 100, {})
        return Measured(load, 100, server_cpu_s, 0.0, ceiling_cpu_s)

    # Each round: 100 requests, the server's CPU in all, the ceiling's per request.
    row = summarize([round_of(0.09, 200e-6), round_of(0.08, 200e-6), round_of(0.1, 250e-6)], 0)
    assert (row["server_cpu_us"], row["ceiling_cpu_us"], row["cpu_ratio"]) == (900, 200, 4.5)
    assert row["round_ratios"] == [4.0, 4.5]  # 800/200, 900/200 and 1000/250


def test_every_measured_round_comes_after_a_warm_up_of_its_own_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The step's server and the ceiling's share a core: neither's CPU is counted before it
    has answered a few requests since the other's round."""
    events: list[tuple] = []

    def load(
        _lab: Lab, server: object, _endpoint: object, requests: list, _c: object
    ) -> LoadResult:
        events.append(("load", server, len(requests)))
        return LoadResult(len(requests), 0.01, (0.001,) * len(requests), {})

    def counters(server: object) -> dict[str, float]:
        events.append(("counters", server))
        return {"statements": 0, "cpu_seconds": 0.0}

    monkeypatch.setattr(Lab, "load", load)
    monkeypatch.setattr(lab, "counters", counters)
    bench = Lab(BenchSettings(requests=64, concurrency=16), tmp_path, log=lambda _line: None)
    step, bench.ceiling = SimpleNamespace(port=1), SimpleNamespace(port=2)
    bench.measure(step, ENDPOINTS_BY_NAME["GET /users/{id}"], Data((1, 2, 3)))

    # A round: the server's counters, its load, its counters again.
    starts = [
        i
        for i, event in enumerate(events)
        if event[0] == "counters" and events[i + 2 : i + 3] == [event]
    ]
    assert [(events[i][1], events[i + 1][2]) for i in starts] == [
        (step, 16),
        (bench.ceiling, 16),
    ] * 4
    warm = ROUND_WARMUP_PER_CONNECTION * 16
    assert [events[i - 1] for i in starts] == [("load", events[i][1], warm) for i in starts]


def test_a_hash_and_a_token_check_are_timed(results: dict) -> None:
    costs = results["auth"]
    assert costs["parameters"].startswith("m=")
    assert costs["hash_ms"] > 0
    assert costs["verify_ms"] > 0
    assert costs["token_check_us"] > 0
    targets = " ".join(t["target"] for t in results["targets"])
    assert "POST /auth/token" not in targets  # a hash is held to no write target


def test_sync_and_async_take_turns_on_the_same_endpoints(results: dict) -> None:
    rows = results["experiments"]["async"]
    sides = {row["variant"] for row in rows}
    assert len(sides) == 2
    cells = {(row["backend"], row["concurrency"], row["endpoint"]) for row in rows}
    assert cells == {
        ("SQLite", 2, endpoint)
        for endpoint in (
            "GET /users/{id}",
            "GET /posts?limit=100",
            "POST /tasks",
            "POST /auth/token",
        )
    }
    assert len(rows) == 2 * len(cells)
    assert "PostgreSQL" in results["skipped"]  # --postgres '': printed and shown, not failed


def test_the_table_and_the_chart_are_written(output: Path, results: dict) -> None:
    table = (output / "results.md").read_text()
    for row in results["endpoints"]:
        assert f"| {row['step']} | `{row['endpoint']}` |" in table
    for heading in (
        "**Where the CPU goes**",
        "**Writers**",
        "**Thread-pool hops**",
        "**Connection pool**",
        "**Loading posts**",
        "**SQLite journal**",
        "**Commits**",
        "**Passwords and tokens**",
        "**Sync or async**",
        "Left out: PostgreSQL",
    ):
        assert heading in table
    chart = ElementTree.parse(output / "chart.svg").getroot()
    assert chart.tag == "{http://www.w3.org/2000/svg}svg"
    charted = [row for row in results["endpoints"] if not hashes(row)]
    assert len(chart.findall("{http://www.w3.org/2000/svg}rect")) == 1 + len(charted)


def test_experiments_leave_out_steps_with_passwords() -> None:
    by_number = {step.number: step for step in catalog.STEPS}
    assert experiment_step([by_number[5], by_number[6]]).number == 5
    assert experiment_step([by_number[6]]).number == 6  # its hashing endpoints left out
    assert experiment_step([by_number[3]]).number == 3


def test_no_postgresql_is_a_reason_not_a_failure() -> None:
    assert postgres.unavailable("") is not None
    reason = postgres.unavailable("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "127.0.0.1" in (reason or "")


def test_step_8_rows_are_left_out_with_their_reason_without_postgresql(results: dict) -> None:
    assert results["experiments"]["workers"] == []
    assert results["experiments"]["limiter"] == []
    assert "step 8 workers" in results["skipped"]
    assert "login limiter" in results["skipped"]


def test_no_redis_is_a_reason_not_a_failure() -> None:
    reason = production.redis_unavailable("redis://127.0.0.1:1/0")
    assert "127.0.0.1:1" in (reason or "")


def test_a_servers_cpu_is_summed_over_its_processes() -> None:
    # A parent that only waits, and a child that burns 0.3 s of CPU, then stays.
    child = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    child += "time.sleep(60)"
    parent_code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    parent = subprocess.Popen([sys.executable, "-c", parent_code], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while process_tree_cpu_s(parent.pid) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process_tree_cpu_s(parent.pid) >= 0.3
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def test_step_8_with_one_and_two_workers_and_its_login_limit_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = BenchSettings(
        requests=REQUESTS, warmup=2, concurrency=2, tasks=10, users=6, posts_per_user=2,
        hashing_requests=2, hashing_warmup=0, steps=(NEWEST.number,),
        # The Python driver here; the run of the other tests uses wrk where it is installed.
        generator="python",
    )  # fmt: skip
    for reason in (
        postgres.unavailable(settings.postgres_url),
        production.redis_unavailable(production.REDIS_URL),
    ):
        if reason is not None:
            pytest.skip(reason)
    for name, value in CHEAP_HASHING.items():  # for the servers the lab starts
        monkeypatch.setenv(name, value)
    lab = Lab(settings, tmp_path, log=lambda _line: None)
    workers = production.workers_experiment(lab, NEWEST)
    assert [(row["endpoint"], row["workers"]) for row in workers] == [
        (endpoint, n) for endpoint in production.WORKERS_ENDPOINTS for n in (1, 2)
    ]
    limiter = production.limiter_experiment(lab, NEWEST)
    assert [row["variant"] for row in limiter["rows"]] == ["Redis counters", "in-process counters"]
    assert limiter["redis_round_trip_us"] > 0
    for row in [*workers, *limiter["rows"]]:
        assert row["errors"] == 0, row
        assert row["server_cpu_us"] > 0, row


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table of a Markdown text: its rows (the header first), each a list of cells."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(cells)
        previous = line
    return tables


def test_every_ratio_is_the_quotient_of_the_two_cpu_figures_beside_it(output: Path) -> None:
    checked = 0
    for header, *rows in markdown_tables((output / "results.md").read_text()):
        if "x ceiling CPU" not in header:
            continue
        cpu = header.index("server CPU us/request")
        ceiling = header.index("ceiling CPU us/request")
        ratio = header.index("x ceiling CPU")
        for row in rows:
            # The sync-vs-async table shows both sides in one cell: "a / b".
            sides = zip(*(row[i].split(" / ") for i in (cpu, ceiling, ratio)), strict=True)
            for row_cpu, ceiling_cpu, shown in sides:
                assert shown == f"{int(row_cpu) / int(ceiling_cpu):.1f}", row
                checked += 1
    assert checked >= 10


def test_a_target_is_met_only_by_the_ratio_shown_beside_it(output: Path, results: dict) -> None:
    tables = markdown_tables((output / "results.md").read_text())
    targets = next(table for table in tables if table[0] == ["target", "measured", "met"])
    checked = 0
    for target, measured, met in targets[1:]:
        most = re.search(r"costs <= ([\d.]+) x the ceiling", target)
        if most is None:
            continue
        shown, row_cpu, ceiling_cpu, lowest, highest = re.fullmatch(
            r"([\d.]+) x \((\d+) us / (\d+) us\); its rounds ([\d.]+) to ([\d.]+)", measured
        ).groups()
        assert shown == f"{int(row_cpu) / int(ceiling_cpu):.1f}"
        assert float(lowest) <= float(highest)
        assert (met == "yes") == (float(shown) <= float(most[1]))
        checked += 1
    assert checked == sum(
        1
        for row in results["endpoints"]
        if row["endpoint"] in CPU_RATIO_TARGETS and catalog.get(row["step"]).offers("posts")
    )


def test_each_table_names_the_load_generator_that_produced_it(output: Path, results: dict) -> None:
    table = (output / "results.md").read_text()
    assert results["generator"].startswith("wrk" if shutil.which("wrk") else "the Python driver")
    for caption in ("**Endpoints**", "**Thread-pool hops**", "**Writers**", "**Sync or async**"):
        line = next(line for line in table.splitlines() if line.startswith(caption))
        assert f"load: {results['generator']}" in line


def test_the_ceiling_is_one_def_route_returning_a_constant_with_no_middleware() -> None:
    routes = [route for route in ceiling.app.routes if isinstance(route, APIRoute)]
    assert [(route.path, route.methods) for route in routes] == [("/", {"GET"})]
    assert not inspect.iscoroutinefunction(routes[0].endpoint)
    assert ceiling.app.user_middleware == []
    with TestClient(ceiling.app) as client:
        answer = client.get("/")
    assert answer.json() == ceiling.CONSTANT
    assert 180 <= len(answer.content) <= 200


def test_the_python_driver_keeps_connections_alive_and_closes_every_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[driver._Connection] = []
    connect = driver._Connection.connect

    async def counted(port: int) -> driver._Connection:
        opened.append(await connect(port))
        return opened[-1]

    monkeypatch.setattr(driver._Connection, "connect", counted)
    closing = Request("GET", "/", headers=(("Connection", "close"),))
    with UvicornServer("shared.bench.ceiling:app", log_path=tmp_path / "ceiling.log") as server:
        kept = driver.run_load(server.port, [Request("GET", "/")] * 12, expected_status=200,
                               concurrency=3)  # fmt: skip
        kept_connections = len(opened)
        ended = driver.run_load(server.port, [closing] * 6, expected_status=200, concurrency=2)
        ended_connections = len(opened) - kept_connections
        refused = driver.run_load(server.port, [Request("GET", "/")] * 2, expected_status=201,
                                  concurrency=2)  # fmt: skip
    assert (kept.requests, kept.errors, kept_connections) == (12, {}, 3)  # one per client
    assert (ended.requests, ended.errors, ended_connections) == (6, {}, 6)  # one per request
    assert refused.errors == {"HTTP 200": 2}
    gc.collect()  # an unclosed StreamWriter warns when collected: an error in this suite
    assert all(connection.writer.is_closing() for connection in opened)


def test_the_servers_get_the_first_core_and_the_load_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cores: None, raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5, 2, 3}, raising=False)
    placement = cores.plan(pin=True)
    assert (placement.server, placement.load, placement.every) == ({2}, {3, 5}, {2, 3, 5})
    lab = Lab(BenchSettings(), tmp_path, log=lambda _line: None)
    assert lab.step_server(NEWEST, "sqlite://").cores == {2}
    assert lab.step_server(NEWEST, "sqlite://", workers=2).cores == {2, 3, 5}
    assert lab.step_server(NEWEST, "sqlite://", every_core=True).cores == {2, 3, 5}
    assert lab.ceiling_server().cores == {2}
    assert cores.plan(pin=False) == cores.Placement()  # --no-pin
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert cores.plan(pin=True) == cores.Placement()  # one core: nothing to keep apart
    assert (
        Lab(BenchSettings(), tmp_path, log=lambda _line: None)
        .step_server(NEWEST, "sqlite://")
        .cores
        is None
    )


def test_the_report_says_where_the_servers_and_the_load_ran(output: Path, results: dict) -> None:
    assert results["placement"] == cores.plan(pin=True).describe()
    assert results["placement"] in (output / "results.md").read_text().splitlines()[0]


@pytest.mark.skipif(
    len(getattr(os, "sched_getaffinity", lambda pid: ())(0)) < 2,
    reason="pinning a server needs sched_setaffinity (Linux) and two cores",
)
def test_a_pinned_server_and_every_thread_it_starts_stay_on_its_core(tmp_path: Path) -> None:
    core = min(os.sched_getaffinity(0))
    log = tmp_path / "ceiling.log"
    with UvicornServer("shared.bench.ceiling:app", log_path=log, cores={core}) as server:
        with urllib.request.urlopen(f"{server.url}/") as response:  # a `def` route: a thread
            assert response.status == 200
        assert server.process is not None
        threads = [int(task.name) for task in Path(f"/proc/{server.process.pid}/task").iterdir()]
        placed = {thread: os.sched_getaffinity(thread) for thread in threads}
    assert len(placed) > 1  # the event loop's and the thread pool's
    assert set(map(frozenset, placed.values())) == {frozenset({core})}


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed")
def test_wrk_sends_each_request_once_and_stops_at_the_last_answer(tmp_path: Path) -> None:
    with UvicornServer("shared.bench.ceiling:app", log_path=tmp_path / "ceiling.log") as server:
        started = time.monotonic()
        constant = [Request("GET", "/")] * 37
        found = run_wrk(server.port, constant, expected_status=200, concurrency=16)
        missing = [Request("GET", f"/{n}") for n in range(5)]
        not_found = run_wrk(server.port, missing, expected_status=200, concurrency=16)
    assert time.monotonic() - started < 30  # not wrk's whole --duration
    assert (found.requests, found.errors, len(found.latencies_s)) == (37, {}, 37)
    assert (not_found.requests, not_found.errors) == (5, {"HTTP 400 or more": 5})


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed")
def test_a_connection_left_waiting_longer_than_the_servers_keep_alive(tmp_path: Path) -> None:
    """Three answers come at once, the fourth 1.5 s later: meanwhile wrk keeps three connections
    waiting. A server that closes a connection idle for 1 s made wrk count failed reads and end
    the run before the last answer, as uvicorn's default of 5 s did to long loads; with a
    keep-alive longer than the wait every answer is counted, and the benchmark's servers keep a
    connection open longer than any load lasts."""
    requests = [Request("GET", "/wait/0")] * 3 + [Request("GET", "/wait/1500")]
    results = {}
    for keep_alive in (1, 3):
        args = ("--timeout-keep-alive", str(keep_alive))
        log = tmp_path / f"keep-alive-{keep_alive}.log"
        with UvicornServer("tests.support.slow_app:app", log_path=log, extra_args=args) as server:
            results[keep_alive] = run_wrk(server.port, requests, expected_status=200, concurrency=4)
    assert results[1].errors.get("read")
    assert (results[3].requests, results[3].errors) == (4, {})
    flags = server_args(1)
    kept_s = int(flags[flags.index("--timeout-keep-alive") + 1])
    assert kept_s >= lab.LOAD_TIME_LIMIT_S + driver.REQUEST_TIMEOUT_S


def test_sync_against_async_is_step_6_against_the_plainest_async_step() -> None:
    pair = sync_async_steps(BenchSettings(), catalog.STEPS)
    assert pair is not None
    sync, other = pair
    assert sync.offers("auth")
    assert not sync.offers("async")
    assert other.offers("async")
    assert not other.offers("production")
