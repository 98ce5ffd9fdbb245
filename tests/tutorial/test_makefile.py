"""The make commands the README and the docs tell learners to type, run as they type them.

The commands come from the pages themselves (tests/support/documented.py).
This module runs the ones a test can run; .ci/run runs `make test` in every
documented form (with and without PostgreSQL), `make lint`, `make setup` and
`make bench`; tests/tutorial/test_docs.py runs `make docs`, `make docs-build` and
`make docs-offline`.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from shared.catalog import ROOT, STEPS, get, latest
from shared.server import UvicornServer, free_port
from tests.support import documented, make

# Where each documented target is run, besides .ci/run's (documented.CI_TARGETS).
RUN_BY_TESTS = {
    "run": "tests/tutorial/test_makefile.py",
    "migrate": "tests/tutorial/test_makefile.py",
    "help": "tests/tutorial/test_makefile.py",
    "docs": "tests/tutorial/test_docs.py",
    "docs-build": "tests/tutorial/test_docs.py",
    "docs-offline": "tests/tutorial/test_docs.py",
    "practice": "tests/tutorial/test_practice.py (selfcheck, run by .ci/run)",
    "check": "tests/tutorial/test_practice.py (selfcheck and exercise_meta, run by .ci/run)",
    "export": "tests/tutorial/test_export.py",
    "grade": "tests/tutorial/test_grade.py",
    "lists": "tests/tutorial/test_scaffold.py",
    "new-step": "tests/tutorial/test_scaffold.py",
    "admin": "tests/tutorial/test_first_admin_command.py",
    "exercises": "tests/tutorial/test_exercise_list.py",
    "hint": "tests/tutorial/test_exercise_list.py",
}


def test_make_help_lists_every_target() -> None:
    """`make help` is the Makefile's own comments: a target none of them names is missing."""
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    shown = make.run("help").stdout
    named = set(re.findall(r"^make ([a-z][a-z-]*)", shown, flags=re.MULTILINE))
    assert targets - named == set()
    assert named - targets == set()


def documented_with(target: str) -> list[str]:
    return [c for c in documented.make_commands() if documented.target(c) == target]


def step_of(command: str):
    """The step a `make run`/`make migrate` command names, or the newest one."""
    for word in shlex.split(command):
        if word.startswith("STEP="):
            return get(int(word.removeprefix("STEP=")))
    return latest()


def test_every_documented_make_command_is_run_by_a_test_or_by_ci() -> None:
    commands = documented.make_commands()
    assert "make run" in commands
    assert "make test" in commands
    for command in commands:
        target = documented.target(command)
        assert target in RUN_BY_TESTS or target in documented.CI_TARGETS, (
            f"the docs tell learners to type `{command}`, which no test and no CI step runs"
        )


def test_every_command_ci_runs_names_a_real_step() -> None:
    """.ci/run types these as they are: `STEP=N` in one of them would stop CI with make's error."""
    numbers = {str(step.number) for step in STEPS}
    for _, command in documented.ci_runs():
        for word in shlex.split(command):
            if word.startswith("STEP="):
                assert word.removeprefix("STEP=") in numbers, (
                    f"the docs name `{command}`, which .ci/run runs as written: "
                    "give a step's number, or say it in words"
                )


def test_every_step_has_documented_run_and_test_commands() -> None:
    commands = documented.make_commands()
    for step in STEPS:
        assert f"make run STEP={step.number}" in commands
        assert f"make test STEP={step.number}" in commands


def test_help_lists_the_two_commands_of_the_readme() -> None:
    result = make.run("help")
    assert result.returncode == 0
    assert "make run" in result.stdout
    assert "make test" in result.stdout


def test_a_step_narrows_what_test_runs() -> None:
    """To its tests, without coverage; COVERAGE=1 measures the step's folder, 100 % required."""
    for step in STEPS:
        test = make.run("-n", "test", f"STEP={step.number}")
        assert f"--step {step.number}" in test.stdout
        assert "--cov" not in test.stdout
        measured = make.run("-n", "test", f"STEP={step.number}", "COVERAGE=1")
        assert f"--step {step.number}" in measured.stdout
        assert f"--cov=steps/{step.package} " in measured.stdout
        assert "--cov-fail-under=100" in measured.stdout
    whole = make.run("-n", "test").stdout
    assert "--cov=steps " in whole
    assert "--cov-fail-under=100" in whole


def test_ci_runs_make_test_narrowed_to_one_step_once() -> None:
    """The other steps' forms differ by the number only, which the test above checks; the
    README's `make test STEP=2` runs as docs/testing.md's `make test STEP=2 COVERAGE=1`,
    which runs the same tests and measures the step's coverage too."""
    narrowed = [c for _, c in documented.ci_runs() if c.startswith("make test STEP=")]
    assert narrowed == ["make test STEP=2 COVERAGE=1"]


def test_ci_leaves_a_command_to_the_one_that_does_all_its_work_and_more() -> None:
    commands = documented.make_commands()
    run = [command for _, command in documented.ci_runs()]
    for command, instead in documented.SUPERSEDED.items():
        assert command in commands, "documented"
        assert instead in commands, "documented"
        assert command not in run
        assert instead in run


def test_an_unknown_step_is_refused_with_a_message() -> None:
    result = make.run("-n", "run", "STEP=99")
    assert result.returncode != 0
    assert "no step 99" in result.stdout + result.stderr


def test_a_python_older_than_3_11_is_told_which_version_it_needs(tmp_path: Path) -> None:
    # A stand-in for `python3.10`: this Python, reporting itself as 3.10.
    old = tmp_path / "python3.10"
    code = (
        "import runpy, sys; sys.version_info = (3, 10, 13, 'final', 0); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    old.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "{code}" "$@"\n')
    old.chmod(0o755)
    result = make.run("setup", f"PYTHON={old}", f"VENV={tmp_path / 'venv'}")
    assert result.returncode != 0
    assert "This project needs Python 3.11 or newer" in result.stderr
    assert "is Python 3.10.13" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "venv").exists()


# `make run STEP=N PRACTICE=1` serves a practice copy: tests/tutorial/test_practice.py
# makes one and runs it.
RUNS = [c for c in documented_with("run") if "PRACTICE=" not in c]


def form(command: str) -> tuple[bool, tuple[str, ...]]:
    """What the run recipe does differently, besides the step's package: whether the
    step's folder has an alembic.ini (migrate runs Alembic), and the variables other
    than STEP (WORKERS= serves with workers instead of --reload)."""
    variables = sorted(word.split("=")[0] for word in shlex.split(command) if "=" in word)
    return (step_of(command).path / "alembic.ini").is_file(), tuple(
        name for name in variables if name != "STEP"
    )


# The first documented command of each form (in the pages' order: the README's
# `make run` first), served for real; the others differ from one of them by the
# step alone (test_documented_make_run_of_another_step_runs_the_same_commands).
SERVED = {form(command): command for command in reversed(RUNS)}


@functools.cache
def dry_run(command: str) -> str:
    """The commands `make -n` says the command runs, one a line, whitespace and line
    continuations squeezed, with its step's package written {package}."""
    result = make.run("-n", *shlex.split(command)[1:], "PORT=8000")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.replace("\\\n", " ").splitlines()
    commands = "\n".join(" ".join(line.split()) for line in lines if line.strip())
    return commands.replace(step_of(command).package, "{package}")


@pytest.mark.parametrize("command", sorted(set(RUNS) - set(SERVED.values()), key=RUNS.index))
def test_documented_make_run_of_another_step_runs_the_same_commands(command: str) -> None:
    """What `make run STEP=N` runs is what a command of its form, served below, runs, for
    step N: Alembic's upgrade with step N's alembic.ini (if it has one), then uvicorn on
    step N's app, as tests/full/test_smoke.py runs them and serves every step. That make
    runs what it prints, the served command of the same form shows: serving each step
    under make again would show only that, for about 3 s of CPU a step."""
    served = SERVED[form(command)]
    assert dry_run(command) == dry_run(served)
    step = step_of(command)
    migrate, serve = dry_run(command).replace("{package}", step.package).splitlines()
    assert f"alembic -c steps/{step.package}/alembic.ini upgrade head;" in migrate
    assert shlex.split(serve)[1] == step.app_ref


@pytest.mark.parametrize("command", sorted(SERVED.values(), key=RUNS.index))
def test_documented_make_run_serves_its_step(command: str, tmp_path: Path) -> None:
    """`make run` and `make run STEP=N` as the pages give them, on a throw-away database:
    one command of each form of the recipe (see SERVED)."""
    step = step_of(command)
    port = free_port()
    with UvicornServer(
        step.app_ref,
        port=port,
        command=[*make.command(*shlex.split(command)[1:]), f"PORT={port}"],
        base_env=make.environment(),
        env={"DATABASE_URL": f"sqlite:///{tmp_path}/run.db"},
        log_path=tmp_path / "make-run.log",
    ) as server:
        request = urllib.request.Request(
            f"{server.url}/tasks",
            data=json.dumps({"title": "Buy milk"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
            assert json.load(response)["step"] == step.number


@pytest.mark.parametrize("command", documented_with("migrate"))
def test_documented_make_migrate_brings_the_database_to_head(command: str, tmp_path: Path) -> None:
    step = step_of(command)
    url = f"sqlite:///{tmp_path / step.package}.db"
    result = make.run(*shlex.split(command)[1:], env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    assert {"users", "posts", "tasks", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()
