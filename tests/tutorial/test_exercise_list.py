"""The exercises' listing and hints: `make exercises [STEP=N]`, `make hint EXERCISE=name`.

The commands the pages show run here as they are written; the listing's marks
are checked on a practice copy in a temporary folder (`--root`), with one
exercise solved by its own solution patch.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shared import catalog, exercises
from shared.catalog import ROOT
from tests.support import documented, make
from tests.tutorial.test_practice import solve


def documented_with(target: str) -> list[str]:
    return [c for c in documented.make_commands() if documented.target(c) == target]


def test_every_exercise_has_a_short_hint() -> None:
    """One or two sentences that point the way, not a solution."""
    for exercise in exercises.EXERCISES:
        assert exercise.hint.strip(), exercise.name
        assert len(exercise.hint) <= 240, exercise.name
        assert "\n" not in exercise.hint, exercise.name


def test_the_documented_exercises_commands_list_the_exercises_of_their_step() -> None:
    commands = documented_with("exercises")
    assert "make exercises" in commands
    assert any("STEP=" in command for command in commands)
    for command in commands:
        words = dict(word.split("=", 1) for word in shlex.split(command) if "=" in word)
        listed = make.run(*shlex.split(command)[1:])
        assert listed.returncode == 0, listed.stdout + listed.stderr
        shown = [
            exercise
            for exercise in exercises.EXERCISES
            if "STEP" not in words or exercise.step_number == int(words["STEP"])
        ]
        for exercise in exercises.EXERCISES:
            line = rf"{exercise.name} +{re.escape(exercise.title)}$"
            found = re.search(line, listed.stdout, flags=re.MULTILINE)
            assert bool(found) == (exercise in shown), (command, exercise.name)


def test_the_documented_hint_command_prints_the_hint_and_the_check() -> None:
    commands = documented_with("hint")
    assert commands
    for command in commands:
        words = dict(word.split("=", 1) for word in shlex.split(command) if "=" in word)
        exercise = exercises.get(words["EXERCISE"])
        shown = make.run(*shlex.split(command)[1:])
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert exercise.hint in shown.stdout
        assert exercise.command in shown.stdout


def test_a_hint_without_an_exercise_says_how_to_ask() -> None:
    refused = make.run("hint")
    assert refused.returncode != 0
    assert "make hint EXERCISE=" in refused.stderr


def test_an_unknown_exercise_or_step_is_refused_with_the_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exercises.main(["--hint", "no_such_thing"]) == 2
    assert exercises.EXERCISES[0].name in capsys.readouterr().out
    assert exercises.main(["99"]) == 2


def test_without_a_practice_copy_nothing_is_marked(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "shared.exercises", "1", "--root", tmp_path],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert "✓" not in listed.stdout.replace("✓ marks", "")
    assert "✗" not in listed.stdout
    assert "make practice STEP=N" in listed.stdout


def test_on_a_practice_copy_the_solved_exercise_is_marked(tmp_path: Path) -> None:
    """Step 1's own code with one solution applied: that exercise ✓, the others ✗."""
    step = catalog.get(1)
    solved, *others = exercises.of_step(step)
    solve(solved, tmp_path)  # a practice copy of step 1, with that solution

    listed = subprocess.run(
        [sys.executable, "-m", "shared.exercises", "1", "--root", tmp_path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stderr
    # Quiet: the listing's lines only, none of the checkers' own output.
    assert "rules pass" not in listed.stdout + listed.stderr
    assert f"✓ {solved.name}" in listed.stdout
    for exercise in others:
        assert f"✗ {exercise.name}" in listed.stdout
