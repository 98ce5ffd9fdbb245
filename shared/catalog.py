"""The one list of steps and what each offers.

The tests, the docs, the benchmark and the Makefile read this list; a new step
joins all of them by adding one entry. Standard library only, so that the
Makefile can ask it questions before any virtual environment exists:

    python3 -m shared.catalog package 2     ->  step02_sqlite
    python3 -m shared.catalog package       ->  the newest step's package
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS_DIR = ROOT / "steps"

# What a step can offer. A test states the features it needs; it runs against
# every step that offers all of them.
FEATURES = frozenset(
    {
        "tasks",
        "persistent",
        "users",
        "posts",
        "migrations",
        "role",
        "auth",
        "async",
        "production",
    }
)


@dataclass(frozen=True)
class Step:
    """A step of the catalog, or another app judged against that step's contract.

    `app` and `app_dir` name an app that is not the step's own folder: a
    learner's practice copy (`practice.step03_users.main:app`) or any app to
    grade (`mycode.main:app`, imported from `app_dir`).
    """

    number: int
    package: str
    title: str
    features: frozenset[str]
    app: str | None = None
    app_dir: Path | None = None

    @property
    def app_ref(self) -> str:
        """What uvicorn is given: `steps.step02_sqlite.main:app`."""
        return self.app or f"steps.{self.package}.main:app"

    @property
    def module(self) -> str:
        return self.app_ref.partition(":")[0]

    @property
    def import_root(self) -> str:
        """The package the app's modules live in: `steps.step02_sqlite`."""
        return self.module.rpartition(".")[0] or self.module

    @property
    def path(self) -> Path:
        """The app's folder."""
        if self.app is None:
            return STEPS_DIR / self.package
        return (self.app_dir or ROOT).joinpath(*self.import_root.split("."))

    @property
    def alembic_ini(self) -> Path:
        return self.path / "alembic.ini"

    @property
    def written_here(self) -> bool:
        """The step's own code or a learner's practice copy of it (`make practice`), which
        give this step's number and title; not an app written elsewhere and judged
        against the step's contract (`--app`), which has a name of its own."""
        return self.app is None or self.app.startswith("practice.")

    def judging(self, app: str, app_dir: Path | None = None) -> Step:
        """This step's contract, applied to another app (imported from `app_dir`).

        The folder is made absolute: the tests run commands from other folders too.
        """
        return replace(self, app=app, app_dir=app_dir.resolve() if app_dir else None)

    def offers(self, *features: str) -> bool:
        return set(features) <= self.features


def _step(number: int, package: str, title: str, *features: str) -> Step:
    unknown = set(features) - FEATURES
    if unknown:
        raise ValueError(f"step {number}: unknown features {sorted(unknown)}")
    return Step(number, package, title, frozenset(features))


STEPS: tuple[Step, ...] = (
    _step(1, "step01_memory", "Tasks in memory", "tasks"),
    _step(2, "step02_sqlite", "Tasks in SQLite", "tasks", "persistent"),
    _step(3, "step03_users", "Users and a layered app", "tasks", "persistent", "users"),
    _step(4, "step04_posts", "Users who own posts", "tasks", "persistent", "users", "posts"),
    _step(
        5,
        "step05_alembic",
        "Migrations with Alembic",
        "tasks",
        "persistent",
        "users",
        "posts",
        "migrations",
        "role",
    ),
    _step(
        6,
        "step06_auth",
        "Passwords, tokens and permissions",
        "tasks",
        "persistent",
        "users",
        "posts",
        "migrations",
        "role",
        "auth",
    ),
    _step(
        7,
        "step07_async",
        "Async SQLAlchemy",
        "tasks",
        "persistent",
        "users",
        "posts",
        "migrations",
        "role",
        "auth",
        "async",
    ),
    _step(
        8,
        "step08_production",
        "Ready for production",
        "tasks",
        "persistent",
        "users",
        "posts",
        "migrations",
        "role",
        "auth",
        "async",
        "production",
    ),
)


def get(number: int) -> Step:
    for step in STEPS:
        if step.number == number:
            return step
    raise LookupError(f"no step {number}; the steps are {[s.number for s in STEPS]}")


def latest() -> Step:
    return STEPS[-1]


def previous(step: Step) -> Step | None:
    """The catalog step before `step` (a catalog step, or another app judged as one)."""
    index = STEPS.index(get(step.number))
    return STEPS[index - 1] if index else None


def main(argv: list[str]) -> int:
    if len(argv) in (1, 2) and argv[0] == "package":
        step = get(int(argv[1])) if len(argv) == 2 and argv[1] else latest()
        print(step.package)
        return 0
    if argv == ["numbers"]:
        print(" ".join(str(step.number) for step in STEPS))
        return 0
    if len(argv) == 3 and argv[0] == "offers":
        # Prints the feature if step N offers it, nothing if not (for make's $(if ...)).
        if get(int(argv[1])).offers(argv[2]):
            print(argv[2])
        return 0
    usage = "usage: python3 -m shared.catalog package [N] | numbers | offers N feature"
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (LookupError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
