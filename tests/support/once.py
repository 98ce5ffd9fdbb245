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
from xdist.scheduler import LoadScopeScheduling

Record = dict[str, Any]  # what the work reports, as JSON keeps it (a process's output, say)

# The test modules whose tests share work made by once_per_run.
SHARING = frozenset(
    {"tests/tutorial/test_bench.py", "tests/tutorial/test_docs.py", "tests/tutorial/test_export.py"}
)


class KeepSharersTogether(LoadScopeScheduling):
    """pytest-xdist's load balancing, test by test, but each module of SHARING on one worker.

    With the default balancing, the tiny benchmark's tests were split between
    the two workers, and one of them waited 24 s for the other to make it.
    pytest-xdist's own `--dist loadgroup` (an `xdist_group` mark) would say the
    same, but it renames the tests' node ids, which pytest 9.2 no longer lets a
    plugin do: the mark is ignored. `make test` asks for this one with
    `--dist loadgroup` (tests/conftest.py, pytest_xdist_make_scheduler).
    Scheduled first, as the largest units (pytest-xdist's order), these
    modules start while the other worker takes the tests one by one.
    """

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if module in SHARING else nodeid


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
    so that `make test` keeps its tests on one worker (KeepSharersTogether).
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
