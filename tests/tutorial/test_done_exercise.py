"""The exercise where the learner writes the test (task_done_test), as its page shows it.

Its checker (tests/tutorial/test_exercises.py) runs the learner's test file
against a right and a broken endpoint (tests/tutorial/done_endpoints.py); the
meta-test of every exercise proves it fails with no test and passes with the
kept one. Here: what it says of a test that asserts nothing is what the page
shows, and the page's solution is the kept one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from shared import exercises, practice
from shared.catalog import ROOT
from tests.tutorial.test_practice import exercise_section

EXERCISE = exercises.get("task_done_test")

# A test that sends the requests and asserts nothing: it passes on both endpoints.
ASSERTS_NOTHING = """from fastapi.testclient import TestClient


def test_done(client: TestClient) -> None:
    task = client.post("/tasks", json={"title": "Buy milk"}).json()
    client.post(f"/tasks/{task['id']}/done")
"""


def blocks(section: str, language: str) -> list[str]:
    """The code blocks of a page's section in `language`, dedented (those in a box too)."""
    found = re.findall(rf"^( *)```{language}\n(.*?)^\1```$", section, flags=re.DOTALL | re.M)
    return [textwrap.dedent(code) for _, code in found]


def test_a_test_that_asserts_nothing_fails_the_exercise_as_the_page_shows(
    tmp_path: Path,
) -> None:
    step = EXERCISE.step
    copy = tmp_path / "practice" / step.package
    shutil.copytree(step.path, copy, ignore=practice.COPIED)
    practice.own_package(copy, step, step)
    (copy.parent / "__init__.py").touch()
    (copy / "tests").mkdir()
    (copy / "tests" / "test_done.py").write_text(ASSERTS_NOTHING)

    command = [sys.executable, "-m", "shared.practice", "check", str(step.number)]
    command += ["--app", practice.app_of(step), "--app-dir", str(tmp_path)]
    command += ["--exercise", EXERCISE.name]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 1, result.stdout + result.stderr
    [shown] = blocks(exercise_section(EXERCISE), "text")
    assert f"\n{shown}" in f"\n{result.stdout}", result.stdout
    assert "1/2 rules pass" in result.stdout


def test_the_pages_solution_is_the_kept_one() -> None:
    added = "\n".join(
        line[1:]
        for line in EXERCISE.solution.read_text().splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )
    solution = exercise_section(EXERCISE).partition('??? success "Solution"')[2]
    [code] = blocks(solution, "python")
    assert code in added + "\n"
