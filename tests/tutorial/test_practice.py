"""Practice mode: make practice, make check, and the judge itself (docs/practice.md).

The first tests make practice copies in a temporary folder, as
`make practice STEP=N` makes them in the repository. The self-checks (marked
`selfcheck`, run by .ci/run: a judged run per step and per copy) check the
judge on every step of the catalog: on step N's own code every rule passes;
on a fresh practice copy of step N (step N-1's code) the judge names the
same rules, and fails exactly those that step N brings in.

The checked exercises (shared/exercises.py): fast tests that the list, the
pages, the solutions and the checkers agree; and the rustlings-style proof
that each exercise is honest (marked `exercise_meta`, run by .ci/run): its
checker fails on the step as shipped, and passes on a copy of the step with
the solution applied, which is lint-clean.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from shared import catalog, exercises, practice
from shared.catalog import ROOT, STEPS, Step
from shared.server import UvicornServer, free_port
from tests.support import documented, judge, make
from tests.tutorial import test_exercises


def start(step: Step, root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.practice",
            "start",
            str(step.number),
            "--root",
            root,
            *flags,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_a_practice_copy_starts_from_the_step_before(tmp_path: Path) -> None:
    step = catalog.latest()
    previous = catalog.previous(step)
    assert previous is not None
    result = start(step, tmp_path)
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "practice" / step.package
    assert (copy / "main.py").read_text().startswith(f'"""Step {previous.number}')
    assert (tmp_path / "practice" / "__init__.py").is_file()
    checklist = (copy / "CHECKLIST.md").read_text()
    assert f"make check STEP={step.number}" in checklist
    # The one exact text a rule asks for.
    assert f'{{"step": {step.number}, "title": "{step.title}"}}' in checklist
    assert "## What step" in checklist
    # It imports itself, not the step it was copied from.
    for path in copy.rglob("*.py"):
        assert f"steps.{previous.package}" not in path.read_text(), path


def test_step_1_starts_from_a_minimal_app(tmp_path: Path) -> None:
    assert start(STEPS[0], tmp_path).returncode == 0
    main = (tmp_path / "practice" / STEPS[0].package / "main.py").read_text()
    assert "app = FastAPI(" in main
    assert "/tasks" not in main


def test_a_learners_work_is_never_overwritten(tmp_path: Path) -> None:
    step = STEPS[1]
    assert start(step, tmp_path).returncode == 0
    mine = tmp_path / "practice" / step.package / "main.py"
    mine.write_text("# my work\n")
    again = start(step, tmp_path)
    assert again.returncode == 1
    assert f"make practice STEP={step.number} RESET=1" in again.stdout
    assert mine.read_text() == "# my work\n"
    # RESET=1 starts over and keeps the old copy, renamed.
    assert start(step, tmp_path, "--reset").returncode == 0
    assert mine.read_text() != "# my work\n"
    [kept] = (tmp_path / "practice").glob(f"{step.package}.before-*")
    assert (kept / "main.py").read_text() == "# my work\n"


def test_check_without_a_practice_copy_says_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(practice, "folder_of", lambda step, root=ROOT: tmp_path / "none")
    assert practice.main(["check", "3"]) == 2
    assert "make practice STEP=3" in capsys.readouterr().out


def test_an_app_named_like_a_folder_of_the_repository_is_refused(tmp_path: Path) -> None:
    """Its servers and commands, started from the repository, would import the wrong code."""
    (tmp_path / "shared").mkdir()
    command = [sys.executable, "-m", "shared.practice", "check", "3"]
    command += ["--app", "shared.main:app", "--app-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "the app's package 'shared' is also a folder of this repository" in result.stderr


# What the judge says: reasons, a diagnosis, advice, exit codes -----------


def judge_command(step: int, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m shared.practice check STEP ...`, as `make check` runs it."""
    command = [sys.executable, "-m", "shared.practice", "check", str(step), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def an_app(folder: Path, main: str) -> Path:
    """An app laid out as an exported project: `app.main:app` in `folder`."""
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "__init__.py").touch()
    (folder / "app" / "main.py").write_text(main)
    return folder


def step_1_as_an_app(folder: Path, *, before: str = "") -> Path:
    """Step 1's code as an app of its own, with `before` added at the top of its module."""
    main = (STEPS[0].path / "main.py").read_text()
    return an_app(folder, before + main)


def test_a_failed_rule_says_which_request_failed_how_and_where_to_learn_it(
    tmp_path: Path,
) -> None:
    step = STEPS[2]
    assert start(step, tmp_path).returncode == 0  # step 2's code, judged as step 3
    result = judge_command(3, "--app", practice.app_of(step), "--app-dir", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    at = lines.index(f"  {judge.FAILED} Welcome names the step")
    assert lines[at + 1 : at + 3] == [
        "      GET /",
        '        -> 200 {"step":2,"title":"Tasks in SQLite","docs":"/docs"}',
    ]
    assert lines[at + 3] == "      expected: assert 2 == 3"
    link = lines[at + 4].strip()
    assert link.startswith("learn it: ")
    assert link.endswith("steps/step03_users/#the-code") or link.endswith(
        "steps/step03_users/index.html#the-code"
    )
    assert "docs/steps/" not in result.stdout  # an address, not a Markdown path
    assert re.search(r"^\d+/\d+ rules pass$", result.stdout, flags=re.MULTILINE)
    # The Practise page shows this run: each part of its excerpt, as printed.
    printed = re.sub(
        r"file://\S*/site/(\S*)index\.html#", r"http://127.0.0.1:8001/\1#", result.stdout
    )
    for part in practice_page_excerpt().split("\n...\n"):
        assert f"\n{part}\n" in f"\n{printed}", part


def practice_page_excerpt() -> str:
    """The output of `make check STEP=3` on a fresh copy, as the Practise page shows it."""
    page = (ROOT / "docs" / "practice.md").read_text()
    return page.split("A fresh copy of step 3")[1].split("```text\n")[1].split("\n```")[0]


def test_an_exception_of_the_app_is_shown_with_its_file_and_line(tmp_path: Path) -> None:
    broken = '@app.get("/tasks")\ndef crash() -> list:\n    raise LookupError("no list here")\n'
    folder = step_1_as_an_app(tmp_path / "mine")
    main = folder / "app" / "main.py"
    code = main.read_text().replace('@app.get("/tasks"', '@app.get("/old-tasks"', 1)
    main.write_text(code + "\n\n" + broken)
    line = len(main.read_text().splitlines())
    result = judge_command(1, "--app", "app.main:app", "--app-dir", str(folder))
    assert result.returncode == 1
    assert "the app raised LookupError: no list here" in result.stdout
    assert f"at {main}:{line}: raise LookupError" in result.stdout


# Step 1's tier lesson runs in one process, step 6's in two pytest-xdist workers.
@pytest.mark.parametrize("number", [1, 6], ids=["one process", "workers"])
def test_an_app_that_does_not_start_is_one_diagnosis_and_exit_2(
    number: int, tmp_path: Path
) -> None:
    folder = an_app(tmp_path / "broken", "import math\n\nmath.sqrt(-1)\napp = None\n")
    result = judge_command(number, "--app", "app.main:app", "--app-dir", str(folder))
    assert result.returncode == 2
    assert "The app did not start while importing the app:" in result.stdout
    assert "ValueError: math domain error" in result.stdout
    assert f"at {folder / 'app' / 'main.py'}:3: math.sqrt(-1)" in result.stdout
    assert "No rule was judged." in result.stdout
    assert judge.FAILED not in result.stdout
    assert "rules pass" not in result.stdout
    assert " passed" not in result.stdout  # no rule ran: no worker was started


def test_a_rule_nobody_judged_is_named_with_why_not_counted() -> None:
    """Skipped in every case (here: a path from a database without migrations, which
    step 7's step before does not have)."""
    step = catalog.get(7)
    rules = ["tests/lesson/test_tasks.py", "tests/full/test_migration_from_the_step_before.py"]
    picked = ("-n", "0", "-k", "welcome or upgrades_after_a_stamp")
    command = practice.pytest_command(step, step.app_ref, None, rules, *picked)
    result = subprocess.run(
        command, cwd=ROOT, env=practice.judge_environment(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Not judged here (1):" in result.stdout
    assert (
        "  - A database of the step before upgrades after a stamp: "
        "step 6's database has Alembic's history already" in result.stdout
    )
    assert "1/1 rules pass" in result.stdout


def test_the_apps_warnings_are_advice_not_failures(tmp_path: Path) -> None:
    warns = 'import warnings\n\nwarnings.warn("an old API", DeprecationWarning, stacklevel=1)\n'
    folder = step_1_as_an_app(tmp_path / "warns", before=warns)
    result = judge_command(1, "--app", "app.main:app", "--app-dir", str(folder))
    assert result.returncode == 0, result.stdout
    advice = result.stdout.split("The app's warnings (advice: no rule fails because of them):")
    assert len(advice) == 2
    assert advice[1].count("DeprecationWarning: an old API") == 1


@pytest.mark.parametrize("number", ["9", "0"])
def test_a_step_that_does_not_exist_is_one_line_and_exit_2(number: str) -> None:
    result = judge_command(int(number))
    assert result.returncode == 2
    assert result.stdout.strip() == f"no step {number}; the steps are {[s.number for s in STEPS]}"
    assert not result.stderr


def test_watch_mode_says_what_changed_since_the_last_run() -> None:
    before = {"A": True, "B": False, "C": True}
    after = {"A": False, "B": True, "C": True, "D": False}
    assert practice.changed_since(before, after).splitlines() == [
        "Since the last run:",
        "  now passing: B",
        "  now failing: A",
        "  now failing: D",
    ]
    assert practice.changed_since(after, after) == "Since the last run: no change."


def test_a_practice_copy_keeps_its_data_apart_from_the_real_step(tmp_path: Path) -> None:
    step = catalog.latest()
    assert start(step, tmp_path).returncode == 0
    names = (
        f"from practice.{step.package} import database, settings;"
        " print(settings.settings.database_url); print(settings.settings.secret_key_file);"
        " print(database.UPGRADE_COMMAND)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    shown = subprocess.run(
        [sys.executable, "-c", names], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"sqlite:///{tmp_path}/.data/practice_{step.package}.db",
        f"{tmp_path}/.data/practice_{step.package}.key",
        f"alembic -c practice/{step.package}/alembic.ini upgrade head",
    ]


# The self-checks: every step, judged, as a fresh copy and as itself ------


def verdicts(step: Step, app: str, app_dir: Path, report: Path, *more: str) -> judge.Verdicts:
    """`make check STEP=N APP=app APP_DIR=app_dir`: each rule's verdict."""
    command = [sys.executable, "-m", "shared.practice", "check", str(step.number)]
    command += ["--app", app, "--app-dir", str(app_dir), "--report", str(report), *more]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert report.exists(), result.stdout + result.stderr
    assert "rules pass" in result.stdout
    return json.loads(report.read_text())


def new_in(step: Step, features: list[str]) -> bool:
    """Whether `features` hold one that step N adds (NUMBER, for a rule that names the step)."""
    previous = catalog.previous(step)
    added = step.features - (previous.features if previous else frozenset())
    return bool((added | {judge.NUMBER}) & set(features))


def assert_judged_fairly(step: Step, tmp_path: Path, tier: str) -> None:
    """On step N's code every rule passes; a fresh copy fails exactly the rules step N adds.

    A fresh copy is step N-1's code: it passes every rule that asks nothing
    of what step N adds, and fails every rule that step N brings in (that
    requires a feature step N adds, or names the step). Between the two, a
    rule step N-1 had that now relies on a new feature along the way (step
    6's tests of step 3's sign-ups send a password) may go either way. Step
    1's fresh copy is a minimal app, where every rule is new: some fail.
    """
    tiered = ("--tier", tier)
    own = verdicts(step, step.app_ref, ROOT, tmp_path / "own.json", *tiered)
    assert own
    assert all(verdict["passed"] for verdict in own.values()), [
        rule for rule, verdict in own.items() if not verdict["passed"]
    ]
    # Tier full judges the lesson's rules too.
    assert {verdict["tier"] for verdict in own.values()} == {
        folder.removeprefix("tests/") for folder in practice.TIERS[tier]
    }
    assert start(step, tmp_path).returncode == 0
    fresh = verdicts(step, practice.app_of(step), tmp_path, tmp_path / "fresh.json", *tiered)
    assert set(fresh) == set(own), "the judge names every rule of the step, passed or not"
    assert not all(verdict["passed"] for verdict in fresh.values()), (
        "a copy of the step before already passes every rule"
    )
    if catalog.previous(step) is None:
        return
    inherited_failing = [
        rule
        for rule, verdict in fresh.items()
        if not verdict["passed"] and not new_in(step, verdict["features"])
    ]
    assert not inherited_failing, "a copy of the step before fails rules it already kept"
    new_passing = [
        rule
        for rule, verdict in fresh.items()
        if verdict["passed"] and new_in(step, verdict["required"])
    ]
    assert not new_passing, "a copy of the step before passes rules step N brings in"
    assert all(verdict["reason"] for verdict in fresh.values() if not verdict["passed"]), (
        "every failed rule says why"
    )


@pytest.mark.selfcheck
@pytest.mark.internals
def test_the_judge_passes_the_step_and_fails_a_fresh_copy(step: Step, tmp_path: Path) -> None:
    """Tier lesson, on every step (see assert_judged_fairly)."""
    assert_judged_fairly(step, tmp_path, "lesson")


# Tier full starts real servers for every rule that needs one: minutes for a
# step; one step proves the tier's verdicts are as fair as the lesson's.
@pytest.mark.timeout(900)
@pytest.mark.selfcheck
def test_in_tier_full_too_the_judge_passes_the_step_and_fails_a_fresh_copy(
    tmp_path: Path,
) -> None:
    assert_judged_fairly(catalog.get(4), tmp_path, "full")


@pytest.mark.selfcheck
def test_the_practice_loop_as_a_learner_types_it(tmp_path: Path) -> None:
    """make practice, make run PRACTICE=1 and make check, in a copy of the repository."""
    root = tmp_path / "repository"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv", ".git", "practice", "site"))
    (root / ".venv").symlink_to(ROOT / ".venv")
    step = STEPS[1]
    env = make.environment()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            make.command(*args), cwd=root, env=env, capture_output=True, text=True, timeout=600
        )

    assert run("practice", f"STEP={step.number}").returncode == 0
    port = free_port()
    with (
        UvicornServer(
            practice.app_of(step),
            port=port,
            command=make.command("run", f"STEP={step.number}", "PRACTICE=1", f"PORT={port}"),
            base_env=env,
            cwd=root,
            log_path=tmp_path / "run.log",
        ) as server,
        urllib.request.urlopen(f"{server.url}/", timeout=10) as response,
    ):
        # Step 2's copy starts as step 1's code, which says so.
        assert json.load(response)["step"] == step.number - 1
    checked = run("check", f"STEP={step.number}")
    assert checked.returncode != 0  # a fresh copy does not pass yet
    assert re.search(r"^\d+/\d+ rules pass$", checked.stdout, flags=re.MULTILINE), checked.stdout


# Checked exercises: the list, the pages, the solutions and the checkers agree --


def exercise_section(exercise: exercises.Exercise) -> str:
    """The part of the exercise's page from its heading to the next heading of its level."""
    page = (ROOT / "docs" / exercise.page.partition("#")[0]).read_text()
    headings = list(re.finditer(r"^(#+) (.+?)(?: \{#([\w-]+)\})?$", page, flags=re.MULTILINE))
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        anchor = heading[3] or re.sub(r"[^\w]+", "-", heading[2].lower()).strip("-")
        if anchor == exercise.anchor:
            return page[heading.end() : following.start() if following else None]
    raise AssertionError(f"{exercise.page}: no heading with that anchor")


def checker_names() -> dict[str, set[str]]:
    """The exercises the checkers say they check, each with the features its tests require."""
    found: dict[str, set[str]] = {}
    for test in vars(test_exercises).values():
        marks = getattr(test, "pytestmark", [])
        names = [mark.kwargs["name"] for mark in marks if mark.name == "exercise"]
        for name in names:
            requires = [set(mark.args) for mark in marks if mark.name == "requires"]
            found.setdefault(name, set()).update(*requires)
    return found


def test_every_exercise_is_named_on_its_page_with_its_command_and_solution() -> None:
    for exercise in exercises.EXERCISES:
        section = exercise_section(exercise)
        assert f"`{exercise.command}`" in section, exercise.page
        assert f"(../exercises/{exercise.solution.name})" in section, exercise.page


def test_every_exercise_section_of_a_step_page_is_listed() -> None:
    for step in STEPS:
        page = (ROOT / "docs" / "steps" / f"{step.package}.md").read_text()
        sections = len(re.findall(r"^#+ Exercise", page, flags=re.MULTILINE))
        assert sections == len(exercises.of_step(step)), step.package


def test_every_exercise_has_a_solution_and_a_checker_for_its_step() -> None:
    checkers = checker_names()
    names = [exercise.name for exercise in exercises.EXERCISES]
    assert len(set(names)) == len(names), "two exercises share a name"
    assert set(checkers) == set(names), "a checker of no exercise, or an exercise with none"
    for exercise in exercises.EXERCISES:
        assert exercise.solution.is_file(), exercise.solution
        # The checker runs against the exercise's step when it is judged.
        assert exercise.step.offers(*checkers[exercise.name]), exercise.name


def test_every_documented_exercise_command_names_an_exercise_of_that_step() -> None:
    commands = [c for c in documented.make_commands() if "EXERCISE=" in c]
    assert {exercise.command for exercise in exercises.EXERCISES} <= set(commands)
    for command in commands:
        words = dict(word.split("=", 1) for word in command.split() if "=" in word)
        exercise = exercises.get(words["EXERCISE"])
        if documented.target(command) == "hint":  # make hint EXERCISE=name: no step to name
            continue
        assert exercise.step_number == int(words["STEP"]), command


def test_an_exercise_of_another_step_is_refused_with_its_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    exercise = exercises.EXERCISES[-1]
    other = next(step for step in STEPS if step.number != exercise.step_number)
    assert practice.main(["check", str(other.number), "--exercise", exercise.name]) == 2
    assert exercise.command in capsys.readouterr().out


# The proof, rustlings-style: every checker fails as shipped, passes solved ------


def solve(exercise: exercises.Exercise, root: Path) -> None:
    """The step with the exercise's solution applied, in root/practice/, lint-clean."""
    step = exercise.step
    folder = root / "practice" / step.package
    shutil.copytree(step.path, folder, ignore=practice.COPIED)
    applied = subprocess.run(
        ["git", "apply", str(exercise.solution)],
        cwd=folder,
        # A plain folder, even where the temporary folder is inside a repository.
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(folder.parent)},
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, f"{exercise.solution.name} no longer applies: {applied.stderr}"
    config = f"--config={ROOT / 'pyproject.toml'}"
    for lint in (["check"], ["format", "--check"]):
        ruff = [str(ROOT / ".venv" / "bin" / "ruff"), *lint, config, str(folder)]
        result = subprocess.run(ruff, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    # Then the copy imports itself, as a practice copy does (Alembic's env.py).
    practice.own_package(folder, step, step)
    (folder.parent / "__init__.py").touch()


@pytest.mark.exercise_meta
@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_an_exercise_fails_as_shipped_and_passes_with_its_solution(
    exercise: exercises.Exercise, tmp_path: Path
) -> None:
    step = exercise.step
    shipped = verdicts(
        step, step.app_ref, ROOT, tmp_path / "shipped.json", "--exercise", exercise.name
    )
    assert shipped, "the checker has no rule"
    assert not all(verdict["passed"] for verdict in shipped.values()), (
        "the step as shipped already passes the checker"
    )

    solve(exercise, tmp_path)
    # The command of the step's page, on the solved copy's app.
    typed = shlex.split(exercise.command)[1:]
    result = make.run(*typed, f"APP={practice.app_of(step)}", f"APP_DIR={tmp_path}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(shipped)}/{len(shipped)} rules pass" in result.stdout
