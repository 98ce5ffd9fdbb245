"""The `make` commands the README and the docs tell a learner to type.

Read from the pages themselves (the shell blocks of README.md and
docs/**/*.md, and the commands the docs generator writes on every step page),
never typed again by hand, so that the checks that run them cannot go stale:

- tests/tutorial/test_makefile.py runs the ones a test can run (servers, migrations,
  docs builds) and fails on a documented command nobody runs;
- .ci/run runs the rest (`make test` in every documented form, `make lint`,
  `make bench`): `python -m tests.support.documented ci` prints them, one
  per line, each after the conditions it runs in and a tab; `... whole`
  prints the two runs of the whole suite that .ci/run ends with.

Standard library only (plus the docs generator's own pure functions), so
.ci/run can ask before anything else runs.
"""

from __future__ import annotations

import re
import shlex
import sys

from shared.catalog import ROOT, STEPS
from shared.docsgen.commands import run_page

SHELL_BLOCK = re.compile(r"```\s?(?:bash|sh|shell|console)\n(.*?)```", flags=re.DOTALL)
# A command named in a sentence: "`make test STEP=2` tests only step 2".
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
# `make ...`, optionally after variable assignments: `TEST_DATABASE_URL=... make test`.
MAKE_COMMAND = re.compile(r"^(?:[A-Z_]+=\S*\s+)*make\s+\S")

# The targets that .ci/run runs itself: they run the suite (which cannot run
# itself), or take minutes.
CI_TARGETS = frozenset({"test", "lint", "bench", "setup"})


def pages() -> dict[str, str]:
    """Each page a learner reads, by name: the README, the docs, the generated run sections."""
    found = {"README.md": (ROOT / "README.md").read_text()}
    for page in sorted((ROOT / "docs").rglob("*.md")):
        found[str(page.relative_to(ROOT))] = page.read_text()
    for step in STEPS:
        found[f"docs/steps/{step.package}.md (generated: how to run it)"] = run_page(step)
    return found


def shell_blocks(markdown: str) -> list[list[str]]:
    """The lines of each of a page's shell blocks, without comments or prompts."""
    blocks = []
    for block in SHELL_BLOCK.findall(markdown):
        lines = []
        for line in block.splitlines():
            line = line.split(" #")[0].strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                lines.append(line)
        blocks.append(lines)
    return blocks


def shell_lines(markdown: str) -> list[str]:
    """The lines of all a page's shell blocks, without comments or prompts."""
    return [line for block in shell_blocks(markdown) for line in block]


def make_commands() -> list[str]:
    """Every documented `make` command, once each, in the order the pages give them."""
    commands = [
        line
        for text in pages().values()
        for line in shell_lines(text) + INLINE_CODE.findall(SHELL_BLOCK.sub("", text))
        if MAKE_COMMAND.match(line)
    ]
    return list(dict.fromkeys(commands))


def target(command: str) -> str:
    """The make target a command runs: `make test STEP=2` -> `test`."""
    words = [word for word in shlex.split(command) if "=" not in word or word.startswith("-")]
    after_make = words[words.index("make") + 1 :]
    return after_make[0] if after_make else "help"


WITHOUT_POSTGRESQL = "without PostgreSQL"
WITH_POSTGRESQL = "with PostgreSQL"
AS_WRITTEN = "as written"
NO_SERVER = "TEST_DATABASE_URL= "
# `TEST_DATABASE_URL=<this machine's server> make test`: what plain `make test` finds too.
# Commands whose whole work another documented command does, and more: `make
# bench BENCH_ARGS="--experiments"` measures every row `make bench` measures,
# step 3's (`--step 3`) among them, on the same code path, then its A/B
# experiments (shared/bench/runner.py); `make test STEP=2 COVERAGE=1` runs the
# tests `make test STEP=2` runs, and measures the step's coverage too.
SUPERSEDED = {
    "make bench": 'make bench BENCH_ARGS="--experiments"',
    'make bench BENCH_ARGS="--step 3"': 'make bench BENCH_ARGS="--experiments"',
    "make test STEP=2": "make test STEP=2 COVERAGE=1",
}
# `make test STEP=N`, one step's tests: the same command on every step page.
ONE_STEP_TEST = re.compile(r"make test STEP=\d+$")
LOCAL_SERVER_TEST = re.compile(
    r"TEST_DATABASE_URL=\S*@(127\.0\.0\.1|localhost):5432/\S*\s+make test$"
)


def ci_runs() -> list[tuple[str, str]]:
    """What .ci/run runs before the whole suite, as (conditions, command), once each.

    Each test runs once per backend in the whole suite, which .ci/run runs
    last in two parts: `TEST_DATABASE_URL= make test` (every test without
    PostgreSQL, as on a laptop with none: the README's `make test` there),
    then the PostgreSQL half on its own (WHOLE_SUITE): together they are
    `make test` where a server answers, so the whole forms (plain, with no
    server, with the local one) are not run again here. A form narrowed to
    one step (`STEP=N`, one per step page) runs without PostgreSQL: its step's
    tests, from SQLite alone, in seconds (with `COVERAGE=1`, and its folder's
    coverage gate); on
    PostgreSQL each would only repeat what the PostgreSQL half runs. And it
    runs for the first step the pages name only: the pages give the same
    command once per step, and every one of them would run again tests the
    whole suite runs (about 5 minutes of CI). What only the number changes,
    the step the run is narrowed to and the folder `COVERAGE=1` measures,
    tests/tutorial/test_makefile.py checks for every step. A
    command whose whole work another documented one does too (SUPERSEDED) is
    left to that one.
    """
    runs: list[tuple[str, str]] = []
    for command in make_commands():
        if target(command) not in CI_TARGETS:
            continue
        if target(command) != "test":
            runs.append((AS_WRITTEN, command))
        elif command.startswith(NO_SERVER):
            runs.append((WITHOUT_POSTGRESQL, command.removeprefix(NO_SERVER)))
        elif LOCAL_SERVER_TEST.match(command):
            # The local server, which plain `make test` uses too: the whole suite.
            runs.append((WITH_POSTGRESQL, "make test"))
        elif "TEST_DATABASE_URL=" in command:
            runs.append((AS_WRITTEN, command))
        else:
            runs.append((WITHOUT_POSTGRESQL, command))
    once = [run for run in dict.fromkeys(runs) if run[1] != "make test"]
    narrowed = [run for run in once if ONE_STEP_TEST.match(run[1])]
    commands = {command for _, command in once}
    return [
        run for run in once if run not in narrowed[1:] and SUPERSEDED.get(run[1]) not in commands
    ]


# The whole suite, .ci/run's last two commands: every test without PostgreSQL,
# then only the tests on PostgreSQL (their ids end in `-postgresql`), whose
# coverage is added to the first run's before the gate is applied to both.
# .ci/run fuzzes at the full budget (FUZZ_BUDGET=full): once, on SQLite. The
# PostgreSQL half fuzzes every step at make test's budget, for what only that
# database refuses (a NUL character in a text, for one): the full budget there
# too took 134 s more of CI and fuzzed the same code again.
WHOLE_SUITE = [
    (WITHOUT_POSTGRESQL, "make test"),
    (WITH_POSTGRESQL, 'FUZZ_BUDGET=quick make test PYTEST_ARGS="-k=-postgresql --cov-append"'),
]


def main(argv: list[str]) -> int:
    if argv == ["ci"]:
        print("\n".join(f"{conditions}\t{command}" for conditions, command in ci_runs()))
        return 0
    if argv == ["whole"]:
        print("\n".join(f"{conditions}\t{command}" for conditions, command in WHOLE_SUITE))
        return 0
    if argv == ["all"]:
        print("\n".join(make_commands()))
        return 0
    print("usage: python -m tests.support.documented ci | whole | all", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
