"""Practice mode: build a step yourself, and let the suite judge it.

    python -m shared.practice start N [--reset]   make practice STEP=N [RESET=1]
    python -m shared.practice check N [...]       make check STEP=N [APP=... APP_DIR=...]
    python -m shared.practice app N               the practice copy's app, for make run

A practice copy of step N lives in practice/<step's folder>/ (git-ignored),
made from step N-1's code (step 1 starts from a minimal app): the learner
changes it until `make check STEP=N` passes every rule of step N's contract.
`make check` runs the suite's contract tests for step N against the copy, or
against any app (APP=module:app APP_DIR=folder), and prints one line per rule;
with EXERCISE=name, the checker of one of the step's exercises instead
(shared/exercises.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import catalog, exercises
from shared.catalog import ROOT, Step

COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-wal", "*.db-shm")

# Step 1 starts from an app that answers, and nothing more.
STARTER_APP = '''"""Step 1, your version: a task list kept in memory.

Run it from the repository root:

    make run STEP=1 PRACTICE=1
"""

from fastapi import FastAPI

app = FastAPI(title="Tasks in memory")


@app.get("/")
def welcome() -> dict[str, str | int]:
    return {"step": 1, "title": app.title, "docs": "/docs"}
'''


# A step names its files in .data/ (its database, its key) and its migration command
# after its own folder; a practice copy's names must not be the real step's.
NAMED_AFTER_THE_FOLDER = "Path(__file__).parent.name"
COPY_NAMES = (
    (
        f"DATA_DIR / {NAMED_AFTER_THE_FOLDER}",
        f"DATA_DIR / ('practice_' + {NAMED_AFTER_THE_FOLDER})",
    ),
    (f'f"{{{NAMED_AFTER_THE_FOLDER}}}.key"', f'f"practice_{{{NAMED_AFTER_THE_FOLDER}}}.key"'),
    (f"steps/{{{NAMED_AFTER_THE_FOLDER}}}/", f"practice/{{{NAMED_AFTER_THE_FOLDER}}}/"),
)


def folder_of(step: Step, root: Path = ROOT) -> Path:
    return root / "practice" / step.package


def app_of(step: Step) -> str:
    return f"practice.{step.package}.main:app"


def page_of(step: Step) -> str:
    return f"docs/steps/{step.package}.md"


def start(step: Step, reset: bool, root: Path = ROOT) -> int:
    """A practice copy of `step` in `root`/practice/ (the repository's, for a learner)."""
    folder = folder_of(step, root)
    if folder.exists():
        if not reset:
            print(
                f"{folder.relative_to(root)} already exists: it is your work, left as it is.\n"
                f"To start over: make practice STEP={step.number} RESET=1 "
                "(your copy is kept beside it, renamed)."
            )
            return 1
        kept = folder.with_name(f"{folder.name}.before-{time.strftime('%Y%m%d-%H%M%S')}")
        folder.rename(kept)
        print(f"Your previous copy is now {kept.relative_to(root)}.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    (folder.parent / "__init__.py").touch()
    previous = catalog.previous(step)
    if previous is None:
        folder.mkdir()
        (folder / "__init__.py").touch()
        (folder / "main.py").write_text(STARTER_APP)
    else:
        shutil.copytree(previous.path, folder, ignore=COPIED)
        own_package(folder, previous, step)
    (folder / "CHECKLIST.md").write_text(checklist(step, previous))
    print(f"{folder.relative_to(root)}: your step {step.number}, made from ", end="")
    print(f"step {previous.number}'s code." if previous else "a minimal app.")
    print(f"Read {folder.relative_to(root)}/CHECKLIST.md, then: make check STEP={step.number}")
    return 0


def own_package(folder: Path, previous: Step, step: Step) -> None:
    """The copy imports itself, not the step it was copied from (Alembic's env.py does),
    and keeps its data apart: its default database and key files in .data/ are named
    practice_<step>, so a copy run by hand never touches the real step's database."""
    for path in folder.rglob("*.py"):
        text = path.read_text()
        changed = text.replace(f"steps.{previous.package}", f"practice.{step.package}")
        changed = changed.replace(f"steps/{previous.package}", f"practice/{step.package}")
        for name, copy_name in COPY_NAMES:
            changed = changed.replace(name, copy_name)
        if changed != text:
            path.write_text(changed)


def checklist(step: Step, previous: Step | None) -> str:
    """What step N asks, from its page's "What you will learn", and the commands."""
    page = (ROOT / page_of(step)).read_text()
    match = re.search(r"^## What you will learn\n(.*?)^## ", page, flags=re.DOTALL | re.MULTILINE)
    learn = match[1].strip() if match else f"See {page_of(step)}."
    start_from = f"step {previous.number}'s code" if previous else "a minimal app"
    n = step.number
    return f"""# Step {n}: {step.title}, your way

This folder started as {start_from}. Change it until it does what step {n}
does; its page explains how: {page_of(step)} (or `make docs`).

## What step {n} asks of you

{learn}

## What must be exact

The welcome (`GET /`) names this step exactly as the tutorial does:
`{{"step": {n}, "title": "{step.title}"}}` (with any other keys you like).
Every other rule checks what the API does, not how your code is written.

## The loop

```bash
make run STEP={n} PRACTICE=1    # serve this copy on http://127.0.0.1:8000
make check STEP={n}             # one line per rule of step {n}'s contract
```

Stuck? Compare with the real step: `diff -r practice/{step.package} steps/{step.package}`.
"""


# The judge's two tiers, each a folder of the suite: `lesson` is the HTTP
# contract a step teaches, in this process (seconds); `full` adds what only
# real processes and time can show, and the hardening the tutorial adds for you.
TIERS = {"lesson": ("tests/lesson",), "full": ("tests/lesson", "tests/full")}
FUZZERS = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")
# The judge's own exit codes (pytest's: 0 passed, 1 failed, 2 interrupted or
# stopped by the judge, 3 internal error, 4 usage error, 5 no test).
ALL_PASS, SOME_FAIL, NOT_JUDGED = 0, 1, 2


def selection(step: Step, exercise: str | None, tier: str = "lesson") -> list[str]:
    """The tests that judge: step N's contract in a tier, or one of its exercises' checker.

    Tier lesson runs in one process up to step 5: starting workers that each
    import the suite would take longer than its tests (steps 6 on: see below). No rule of it
    fuzzes, so the fuzzers' plugins stay unloaded (a second of start-up). Tier
    full starts real servers: one test at a time per worker, so that one worker
    is not left holding several servers while the other has nothing to do.
    """
    if exercise is not None:
        found = exercises.get(exercise)
        if found.step_number != step.number:
            raise LookupError(
                f"{exercise} is an exercise of step {found.step_number}: {found.command}"
            )
        return [*FUZZERS, "-n", "0", "-m", found.marker, exercises.CHECKERS]
    if tier == "lesson":
        # From step 6 on, passwords and tokens double the rules' cases (500 and
        # more, about 11 s of CPU): two workers answer sooner than one process.
        workers = "2" if step.offers("auth") else "0"
        return [*FUZZERS, "-n", workers, *TIERS[tier]]
    return ["-n", "auto", "--maxschedchunk=1", *TIERS[tier]]


def pytest_command(
    step: Step, app: str, app_dir: Path | None, tests: list[str], *extra: str
) -> list[str]:
    """The pytest run that judges `app` by step N's contract, with the judge's report."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        f"--rootdir={ROOT}",
        f"--config-file={ROOT / 'pyproject.toml'}",
        "-p",
        "tests.support.judge",
        "-p",
        "no:cacheprovider",
        # Nothing the judge runs measures coverage or uses anyio's test
        # runner: neither plugin is loaded, in each of its processes.
        "-p",
        "no:cov",
        "-p",
        "no:anyio",
        "-q",
        "--no-header",
        "--tb=no",
        "-rN",
        # The judged app's warnings are listed once by the judge, as advice.
        "--disable-warnings",
        f"--step={step.number}",
        f"--app={app}",
        "--backend=sqlite",
        *tests,
        *extra,
    ]
    if app_dir is not None:
        command.append(f"--app-dir={app_dir}")
    return command


def judged_app(step: Step, app: str | None, app_dir: Path | None) -> tuple[str, Path | None]:
    """The app to judge: the one given, or the learner's practice copy."""
    if app is not None:
        return app, app_dir
    if not folder_of(step).exists():
        raise LookupError(
            f"No practice copy of step {step.number} yet: make practice STEP={step.number}"
        )
    return app_of(step), ROOT


def judge_environment() -> dict[str, str]:
    # SQLite only, as on a learner's laptop: no PostgreSQL, not CI's rules.
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TEST_DATABASE_URL"] = ""
    env["FUZZ_BUDGET"] = "judge"  # says whether a rule fails; does not shrink the example
    return env


def exit_code(pytest_code: int) -> int:
    """The judge's exit code: 0 every rule passes, 1 some rule fails, 2 not judged."""
    return pytest_code if pytest_code in (ALL_PASS, SOME_FAIL) else NOT_JUDGED


def check(
    step: Step,
    app: str | None,
    app_dir: Path | None,
    exercise: str | None,
    junit: Path | None,
    report: Path | None = None,
    tier: str = "lesson",
    verbose: bool = False,
) -> int:
    try:
        tests = selection(step, exercise, tier)
        app, app_dir = judged_app(step, app, app_dir)
    except LookupError as error:
        print(error)
        return NOT_JUDGED
    extra = [f"--junitxml={junit}"] if junit is not None else []
    if report is not None:
        extra.append(f"--judge-report={report}")
    if verbose:
        extra.append("--judge-verbose")
    command = pytest_command(step, app, app_dir, tests, *extra)
    return exit_code(subprocess.run(command, cwd=ROOT, env=judge_environment()).returncode)


def watch(step: Step, app: str | None, app_dir: Path | None, tier: str, verbose: bool) -> int:
    """Judge again on every save of the judged app, and say what changed since the last run."""
    from watchfiles import PythonFilter  # installed with uvicorn[standard]
    from watchfiles import watch as changes

    try:
        app, app_dir = judged_app(step, app, app_dir)
    except LookupError as error:
        print(error)
        return NOT_JUDGED
    folder = catalog.get(step.number).judging(app, app_dir).path
    before: dict[str, bool] = {}
    after: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        try:
            while True:
                report.unlink(missing_ok=True)
                check(step, app, app_dir, None, None, report, tier, verbose)
                verdicts = json.loads(report.read_text()) if report.exists() else {}
                after = {shown(rule_id, rule): rule["passed"] for rule_id, rule in verdicts.items()}
                print(changed_since(before, after) if before else "")
                before = after
                print(f"Watching {folder} for changes (Ctrl+C to stop)...")
                next(iter(changes(folder, watch_filter=PythonFilter(extra_extensions=(".ini",)))))
        except (KeyboardInterrupt, StopIteration):
            return ALL_PASS if after and all(after.values()) else SOME_FAIL


def shown(rule_id: str, verdict: dict) -> str:
    """A rule as watch mode names it: its name and its topic (two topics share some names)."""
    topic = rule_id.split("::")[0].rpartition("/")[2].removeprefix("test_").removesuffix(".py")
    return f"{verdict['name']} ({topic.replace('_', ' ')})"


def changed_since(before: dict[str, bool], after: dict[str, bool]) -> str:
    """What a new run changed: the rules now passing, and those now failing."""
    passing = [name for name, passed in after.items() if passed and before.get(name) is False]
    failing = [name for name, passed in after.items() if not passed and before.get(name, True)]
    lines = [f"  now passing: {name}" for name in passing]
    lines += [f"  now failing: {name}" for name in failing]
    return "Since the last run:\n" + "\n".join(lines) if lines else "Since the last run: no change."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.practice", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="make a practice copy of step N")
    start_parser.add_argument("step", type=int)
    start_parser.add_argument("--reset", action="store_true", help="start over (yours is kept)")
    start_parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    check_parser = commands.add_parser("check", help="judge a practice copy or an app")
    check_parser.add_argument("step", type=int)
    check_parser.add_argument("--app", help="module:app to judge instead of the practice copy")
    check_parser.add_argument("--app-dir", type=Path, help="the folder --app imports from")
    check_parser.add_argument("--exercise", help="run this exercise's checker instead")
    check_parser.add_argument("--junit", type=Path, help="also write a JUnit XML report here")
    check_parser.add_argument("--report", type=Path, help="also write each rule's verdict (JSON)")
    check_parser.add_argument(
        "--tier",
        choices=sorted(TIERS),
        default="lesson",
        help="lesson: the HTTP contract, in seconds; full: also real servers, races, fuzzing",
    )
    check_parser.add_argument("--watch", action="store_true", help="judge again on every save")
    check_parser.add_argument(
        "--verbose", action="store_true", help="each failed rule's whole traceback"
    )
    app_parser = commands.add_parser("app", help="print the practice copy's module:app")
    app_parser.add_argument("step", type=int)
    args = parser.parse_args(argv)
    try:
        step = catalog.get(args.step)
    except LookupError as error:
        print(error)
        return NOT_JUDGED
    if args.command == "start":
        return start(step, args.reset, args.root)
    if args.command == "app":
        print(app_of(step))
        return 0
    if args.watch:
        return watch(step, args.app, args.app_dir, args.tier, args.verbose)
    return check(
        step,
        args.app,
        args.app_dir,
        args.exercise,
        args.junit,
        args.report,
        args.tier,
        args.verbose,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
