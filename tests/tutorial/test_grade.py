"""Grading a class: `make grade STEP=N APPS=folder` (docs/practice.md).

A class here is a folder of tiny apps in `make export`'s layout (`app/main.py`):
step 1's own code (every rule passes), step 1 with two bugs (some rules fail,
each with its reason), an app that raises at import (it did not start), and
one that never finishes importing (stopped at the time limit). Names and
messages with markup in them check that the page shows a student's text as
text.
"""

from __future__ import annotations

import csv
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared import grade
from shared.catalog import ROOT, STEPS
from tests.support import documented, make

STEP_1 = STEPS[0]
WELCOME = "tests/lesson/test_tasks.py::test_welcome_names_the_step"
BOB_SAYS = "<script>alert(1)</script> is not a database"
EVE = "<script>eve"  # a folder name cannot hold a "/"
COPIED = shutil.ignore_patterns("__pycache__", "*.pyc")


def run_grade(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "shared.grade", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def step_1_app(student: Path) -> Path:
    """Step 1's own code as a student hands it in: app/main.py."""
    shutil.copytree(STEP_1.path, student / "app", ignore=COPIED)
    return student / "app" / "main.py"


def an_app(student: Path, main: str) -> None:
    (student / "app").mkdir(parents=True)
    (student / "app" / "__init__.py").touch()
    (student / "app" / "main.py").write_text(main)


def files_in(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


class Graded:
    def __init__(self, folder: Path, before: set[Path], result: subprocess.CompletedProcess[str]):
        self.folder, self.before, self.result = folder, before, result
        with (folder / "grades.csv").open(newline="") as file:
            self.table = list(csv.reader(file))
        self.header = self.table[0]
        self.rows = {row[0]: dict(zip(self.header, row, strict=True)) for row in self.table[1:]}
        self.html = (folder / "grades.html").read_text()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """A class of four, and folders that are no student's, graded once by step 1's contract."""
    folder = tmp_path_factory.mktemp("class")
    step_1_app(folder / "alice")
    main = step_1_app(folder / EVE)
    code = main.read_text()
    bugs = code.replace('"step": 1', '"step": 2').replace("le=100)] = 100", "le=10)] = 10")
    assert bugs != code
    assert '"step": 2' in bugs
    main.write_text(bugs)
    an_app(folder / "bob", f"raise RuntimeError({BOB_SAYS!r})\n")
    (folder / ".git").mkdir()
    (folder / "__MACOSX").mkdir()
    (folder / "notes.txt").write_text("not an app\n")
    before = files_in(folder)
    result = run_grade(str(STEP_1.number), "--apps", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    return Graded(folder, before, result)


def test_one_row_per_student_with_its_status_and_counts(graded: Graded) -> None:
    assert graded.header[:5] == ["name", "status", "passed", "total", "diagnosis"]
    assert set(graded.rows) == {"alice", EVE, "bob"}  # not .git, __MACOSX nor notes.txt
    alice, eve, bob = graded.rows["alice"], graded.rows[EVE], graded.rows["bob"]
    assert alice["status"] == eve["status"] == grade.JUDGED
    assert int(alice["passed"]) == int(alice["total"]) > 0
    assert alice["total"] == eve["total"] == str(len(graded.header) - 5)
    assert 0 < int(eve["passed"]) < int(eve["total"])
    assert eve[WELCOME] == grade.FAIL
    assert alice[WELCOME] == grade.PASS
    assert {alice[rule] for rule in graded.header[5:]} == {grade.PASS}
    assert bob["status"] == grade.DID_NOT_START
    assert bob["passed"] == bob["total"] == ""
    assert "RuntimeError" in bob["diagnosis"]
    assert BOB_SAYS in bob["diagnosis"]
    assert "\n" not in bob["diagnosis"]
    assert {bob[rule] for rule in graded.header[5:]} == {""}


def test_the_page_shows_each_failure_with_its_reason(graded: Graded) -> None:
    row = next(row for row in graded.html.split("<tr>") if html.escape(EVE) in row)
    failures = re.findall(r'<td class="fail" title="([^"]*)"><details><summary>✗</summary>', row)
    assert len(failures) == int(graded.rows[EVE]["total"]) - int(graded.rows[EVE]["passed"])
    welcome = next(html.unescape(title) for title in failures if "Welcome" in title)
    assert "GET /" in welcome  # the request, then what came back and what was expected
    assert "<pre>GET /" in row  # visible too, not only on hover
    assert "3 apps: 2 judged (1 pass every rule), 1 did not start;" in graded.html


def test_the_page_shows_students_text_as_text_and_needs_nothing_online(graded: Graded) -> None:
    page = graded.html
    assert "<script" not in page
    assert html.escape(EVE) in page
    assert html.escape(BOB_SAYS) in page
    assert "<link" not in page
    assert "src=" not in page


def test_it_writes_only_the_two_reports_into_the_folder(graded: Graded) -> None:
    """Nothing in the students' folders: no database, no __pycache__, no report of the judge."""
    assert files_in(graded.folder) == graded.before | {Path("grades.csv"), Path("grades.html")}
    out = graded.result.stdout
    assert f"Wrote {graded.folder / 'grades.csv'}" in out
    assert f"Wrote {graded.folder / 'grades.html'}" in out
    assert re.search(r"^alice\s+judged\s+(\d+)/\1$", out, flags=re.MULTILINE), out
    assert "container or a VM" in out


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


@pytest.mark.skipif(sys.platform != "linux", reason="the grader finds left processes in /proc")
def test_an_app_that_hangs_is_stopped_with_what_it_started(tmp_path: Path) -> None:
    """It hangs at import after starting a process in a session of its own (as the suite's
    uvicorn servers are): both are stopped at the time limit, and the class is graded."""
    folder, pid_file = tmp_path / "class", tmp_path / "pid"
    an_app(
        folder / "carol",
        "import subprocess, time\n"
        "sleeper = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(sleeper.pid))\n"
        "time.sleep(600)\n",
    )
    started = time.monotonic()
    try:
        result = run_grade("1", "--apps", str(folder), "--timeout", "5", timeout=60)
        took = time.monotonic() - started
        assert result.returncode == 0, result.stdout + result.stderr
        assert took < 30, took
        with (folder / "grades.csv").open(newline="") as file:
            [header, carol] = list(csv.reader(file))
        assert header == ["name", "status", "passed", "total", "diagnosis"]
        assert carol == ["carol", grade.TIMED_OUT, "", "", "stopped after 5 s"]
        assert "timed out" in (folder / "grades.html").read_text()
        sleeper = int(pid_file.read_text())
        assert not alive(sleeper), "the process the app started outlived the time limit"
    finally:
        if pid_file.exists() and alive(pid := int(pid_file.read_text())):
            os.kill(pid, 9)


def test_usage_errors_exit_2_and_write_nothing(tmp_path: Path) -> None:
    missing = run_grade("1", "--apps", str(tmp_path / "none"))
    assert missing.returncode == 2
    assert "no such folder" in missing.stderr
    (tmp_path / ".hidden").mkdir()
    empty = run_grade("1", "--apps", str(tmp_path))
    assert empty.returncode == 2
    assert "no subfolder" in empty.stderr
    (tmp_path / "alice").mkdir()
    no_step = run_grade("99", "--apps", str(tmp_path))
    assert no_step.returncode == 2
    assert "99" in no_step.stderr
    assert files_in(tmp_path) == {Path(".hidden"), Path("alice")}


def test_make_grade_as_the_page_gives_it(tmp_path: Path) -> None:
    """The documented command, with a folder of ours: the Makefile hands it to the grader."""
    [command] = [c for c in documented.make_commands() if documented.target(c) == "grade"]
    words = shlex.split(command)
    assert "APPS=submissions" in words
    an_app(tmp_path / "bob", f"raise RuntimeError({BOB_SAYS!r})\n")
    words[words.index("APPS=submissions")] = f"APPS={tmp_path}"
    result = make.run(*words[1:], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^bob\s+did not start", result.stdout, flags=re.MULTILINE), result.stdout
    assert (tmp_path / "grades.csv").is_file()
    assert (tmp_path / "grades.html").is_file()
