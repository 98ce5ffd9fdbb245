"""The one list of checked exercises: the exercise at the end of each step's page.

Listed like the steps (shared/catalog.py), and read by `make check STEP=N
EXERCISE=name`, the docs (each step's "Build it yourself" box and the
Practise page) and the tests that prove every exercise honest
(tests/tutorial/test_practice.py): its checker fails on the step's code as shipped
and passes once its solution is applied.

- The checker is the set of tests marked `@pytest.mark.exercise(name=...)`
  in CHECKERS; they are left out of the contract run.
- The solution is a patch against the step's folder, kept under
  docs/exercises/: published with the docs site, reviewed as a diff, and
  refused by `git apply` the day the step's code moves under it (a copy of
  whole files would silently undo that change instead).

Standard library only, like the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared import catalog
from shared.catalog import ROOT, Step

CHECKERS = "tests/tutorial/test_exercises.py"
SOLUTIONS = ROOT / "docs" / "exercises"


@dataclass(frozen=True)
class Exercise:
    name: str
    step_number: int
    title: str
    # The heading of the exercise on its step's page.
    anchor: str = "exercise"

    @property
    def step(self) -> Step:
        return catalog.get(self.step_number)

    @property
    def page(self) -> str:
        """Its section, relative to docs/: `steps/step03_users.md#exercise`."""
        return f"steps/{self.step.package}.md#{self.anchor}"

    @property
    def solution(self) -> Path:
        return SOLUTIONS / f"{self.name}.patch"

    @property
    def marker(self) -> str:
        """The pytest -m expression that selects its checker."""
        return f"exercise(name={self.name!r})"

    @property
    def command(self) -> str:
        return f"make check STEP={self.step_number} EXERCISE={self.name}"


EXERCISES: tuple[Exercise, ...] = (
    Exercise("task_search", 1, "Search the tasks: GET /tasks?q=milk"),
    Exercise("completed_filter", 2, "Only the completed tasks: GET /tasks?completed=true"),
    Exercise("user_by_username", 3, "A user by username: GET /users/by-username/{username}"),
    Exercise("post_search", 4, "Search a user's posts: GET /users/{user_id}/posts?q=word"),
    Exercise("task_priority", 5, "Tasks get a priority, through a migration"),
    Exercise("my_posts", 6, "Your own posts: GET /users/me/posts"),
    Exercise("authors", 7, "Every author with their posts, in two queries: GET /authors"),
    Exercise("ready_migrated", 8, "Not ready while the database is behind the code"),
)

# The practice tasks older tutorials end with, and the step that teaches each
# one here: there, the step's whole contract is the checker (make check STEP=N).
OLDER_TASKS: tuple[tuple[str, int], ...] = (
    ("Add PUT and DELETE (update and delete the users)", 3),
    ("Add a role column with a migration", 5),
    ("Hash the passwords", 6),
)


def of_step(step: Step) -> list[Exercise]:
    return [exercise for exercise in EXERCISES if exercise.step_number == step.number]


def get(name: str) -> Exercise:
    for exercise in EXERCISES:
        if exercise.name == name:
            return exercise
    raise LookupError(f"no exercise {name!r}; the exercises are {[e.name for e in EXERCISES]}")
