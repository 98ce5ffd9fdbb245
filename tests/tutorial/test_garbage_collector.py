"""The garbage collector the plumbing sets for every step (shared/plumbing/collector.py)."""

import gc
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from shared import catalog
from shared.catalog import ROOT
from shared.plumbing import harden
from shared.plumbing.collector import YOUNG_GENERATION_THRESHOLD

# Each step imported in a new interpreter, as uvicorn imports it; the
# thresholds are put back to Python's before each, so that every step shows
# its own setting, not the previous one's.
THRESHOLDS_OF_EACH_STEP = """
import gc, importlib, json, sys
python = gc.get_threshold()
found = {}
for package in sys.argv[1:]:
    gc.set_threshold(*python)
    importlib.import_module(f"steps.{package}.main")
    found[package] = gc.get_threshold()
print(json.dumps({"python": python, "steps": found}))
"""


@pytest.fixture
def thresholds_kept() -> Iterator[None]:
    """This process's thresholds (the suite's own, see tests/conftest.py), put back after."""
    kept = gc.get_threshold()
    yield
    gc.set_threshold(*kept)


def test_every_step_collects_its_youngest_objects_every_7000_allocations() -> None:
    packages = [step.package for step in catalog.STEPS]
    completed = subprocess.run(
        [sys.executable, "-c", THRESHOLDS_OF_EACH_STEP, *packages],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(completed.stdout)
    young, middle, oldest = found["python"]
    assert young < YOUNG_GENERATION_THRESHOLD  # Python's own: 700 up to 3.12
    assert found["steps"] == {
        package: [YOUNG_GENERATION_THRESHOLD, middle, oldest] for package in packages
    }


@pytest.mark.usefixtures("thresholds_kept")
def test_the_plumbing_never_makes_collections_more_frequent() -> None:
    gc.set_threshold(50_000, 20, 100)  # the test suite's
    harden(FastAPI(docs_url=None, redoc_url=None))
    assert gc.get_threshold() == (50_000, 20, 100)
    gc.set_threshold(700, 10, 10)  # CPython's own, up to 3.12
    harden(FastAPI(docs_url=None, redoc_url=None))
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 10, 10)
