"""Work that a whole test run shares: made once, whichever pytest-xdist worker asks first."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Record = dict[str, Any]  # what the work reports, as JSON keeps it (a process's output, say)

# The test modules whose tests share work made by once_per_run.
SHARING = frozenset(
    {"tests/tutorial/test_bench.py", "tests/tutorial/test_docs.py", "tests/tutorial/test_export.py"}
)


def run_sharers_first(items: list[pytest.Item]) -> None:
    """The tests of the SHARING modules first, in their order; then the others, in theirs.

    pytest-xdist's default balancing starts each worker on a run of consecutive
    tests (an eighth of `make test`'s each, with two workers). Placed first, these
    modules' tests all go to the first worker, which makes the work they share
    while the other worker runs other tests; and the longest work starts first.
    Split between the workers, as they were, one worker waited 24 s for the other
    to make the tiny benchmark. (pytest-xdist's `--dist loadgroup` would say the same
    with a mark, but pytest 9.2 ignores it, and its one-test-at-a-time balancing
    starts a module's real servers on both workers: step 8's tests took 15 CPU-s more.)
    """
    items.sort(key=lambda item: item.nodeid.split("::", 1)[0] not in SHARING)


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], Record]
) -> tuple[Record, Path]:
    """`make(folder)`, once per run, in a folder every pytest-xdist worker of the run shares.

    The first worker to ask makes it, holding a lock; the others wait, then read the
    same folder and record. A session fixture alone would be made again by each
    worker that runs one of its tests (a site build, an export, the benchmark's tiny
    run). What is made must only be read by the tests (one that changes it changes a
    copy). A failure is recorded too: each worker then fails with its output, and the
    work is not tried again.

    A worker that waits does nothing: a module that uses this belongs in SHARING,
    whose tests run first (run_sharers_first), on one worker.
    """
    base = tmp_path_factory.getbasetemp()
    # Each worker's temporary folder is inside the run's.
    run = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    folder, record = run / name, run / f"{name}.json"
    with (run / f"{name}.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not record.is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker stopped midway left
            folder.mkdir()
            record.write_text(json.dumps(make(folder)))
    return json.loads(record.read_text()), folder
