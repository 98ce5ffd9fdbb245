"""`make bench` runs: a tiny data set, a few requests, every persistent step.

Only that it runs and that nothing fails is checked here; how fast is never
asserted (the numbers belong to the machine, see docs/benchmark.md).
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from shared import catalog
from shared.catalog import ROOT

TINY = [
    "--requests", "24", "--warmup", "4", "--concurrency", "4",
    "--tasks", "10", "--users", "6", "--posts-per-user", "2",
    "--loading-users", "3", "--loading-posts-per-user", "5", "--batch-rows", "10",
]  # fmt: skip


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "shared.bench", *TINY, "--output", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return folder


@pytest.fixture(scope="module")
def results(output: Path) -> dict:
    return json.loads((output / "results.json").read_text())


def test_every_persistent_step_is_measured_on_its_endpoints(results: dict) -> None:
    measured = {(row["step"], row["endpoint"]) for row in results["endpoints"]}
    for step in catalog.STEPS:
        if not step.offers("persistent"):
            continue
        assert (step.number, "POST /tasks") in measured
        assert (step.number, "GET /tasks?limit=100") in measured
        assert ((step.number, "POST /users") in measured) == step.offers("users")
        assert ((step.number, "GET /posts?limit=100") in measured) == step.offers("posts")


def test_no_request_fails(results: dict) -> None:
    experiments = results["experiments"]
    for row in [*results["endpoints"], *experiments["journal"], *experiments["loading"]]:
        assert row["errors"] == 0, row
        assert row["requests"] == 24
        assert row["statements_per_request"] >= 1
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert results["ceiling"]["before"]["errors"] == 0
    assert results["ceiling"]["after"]["errors"] == 0


def test_every_experiment_has_both_sides(results: dict) -> None:
    experiments = results["experiments"]
    journal = {(row["endpoint"], row["variant"]) for row in experiments["journal"]}
    for variant in ("as shipped", "journal-delete", "wal-full"):
        assert ("POST /tasks", variant) in journal
    assert {row["rows"] for row in experiments["batch"]} == {10}
    if any(step.offers("posts") for step in catalog.STEPS):
        assert [row["variant"] for row in experiments["loading"]] == ["as shipped", "lazy-posts"]


def test_the_table_and_the_chart_are_written(output: Path, results: dict) -> None:
    table = (output / "results.md").read_text()
    for row in results["endpoints"]:
        assert f"| {row['step']} | `{row['endpoint']}` |" in table
    chart = ElementTree.parse(output / "chart.svg").getroot()
    assert chart.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(chart.findall("{http://www.w3.org/2000/svg}rect")) == 1 + len(results["endpoints"])
