"""The one list of checked exercises: the exercises at the end of each step's page.

    python -m shared.exercises [STEP]        make exercises [STEP=N]
    python -m shared.exercises --hint NAME   make hint EXERCISE=name

lists them by step with what each asks (and, where a practice copy of the
step exists, whether it solves each one: its checker, as `make check STEP=N
EXERCISE=name` runs it), or prints one exercise's hint.

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

import argparse
import os
import sys
from contextlib import contextmanager
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
    # Shown on request (make hint EXERCISE=name): where to look, not the code.
    hint: str
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
    Exercise(
        "task_search",
        1,
        "Search the tasks: GET /tasks?q=milk",
        "An optional query parameter is one with a default of None. Filter the tasks before"
        " you slice the page out of them, and compare with casefold() on both sides.",
    ),
    Exercise(
        "task_count",
        1,
        "How many tasks in all: an X-Total-Count header on GET /tasks",
        "Declare a parameter of type fastapi.Response in the route and set a header on it;"
        " count the tasks before you cut the page out of them.",
        anchor="task_count",
    ),
    Exercise(
        "task_sort",
        1,
        "Sort the tasks: GET /tasks?sort=-id (id or title, - for descending)",
        "A typing.Literal of the four accepted values makes FastAPI refuse any other with a"
        " 422; sorted()'s key and reverse arguments do the rest, before the page is cut.",
        anchor="task_sort",
    ),
    Exercise(
        "completed_filter",
        2,
        "Only the completed tasks: GET /tasks?completed=true",
        "A `bool | None = None` parameter, and a `.where()` added to the statement only when"
        " it is not None: the filter then runs in SQL, before OFFSET and LIMIT.",
    ),
    Exercise(
        "clear_completed",
        2,
        "Clear the completed tasks: DELETE /tasks/completed",
        "sqlalchemy.delete() with a where() deletes in one statement, and its result's"
        " rowcount says how many rows went; mind where you declare the route.",
        anchor="clear_completed",
    ),
    Exercise(
        "task_done_at",
        2,
        "When a task was completed: a done_at time, set and cleared by the server",
        "A nullable DateTime column, read by TaskRead but not in TaskCreate; in PUT, compare"
        " the task as it is with the body before you copy the body onto it.",
        anchor="task_done_at",
    ),
    Exercise(
        "user_by_username",
        3,
        "A user by username: GET /users/by-username/{username}",
        "db.scalar() on a select(User).where(...) gives the user or None; answer None with"
        " the same 404 as GET /users/{user_id}.",
    ),
    Exercise(
        "user_email_search",
        3,
        "Search the users by email: GET /users?email=example.org",
        "The same kind of optional query parameter as a task search, passed on to"
        " crud.list_users; a string column's icontains() can escape LIKE's wildcards.",
        anchor="user_email_search",
    ),
    Exercise(
        "users_csv",
        3,
        "Every user as CSV, streamed: GET /users/export.csv",
        "fastapi.responses.StreamingResponse sends what a generator yields; csv.writer"
        " quotes each row, given a file whose write() hands the line back.",
        anchor="users_csv",
    ),
    Exercise(
        "post_search",
        4,
        "Search a user's posts: GET /users/{user_id}/posts?q=word",
        "Filter in crud.list_posts with the title column's icontains(); one of its keyword"
        " arguments makes a % or _ typed by the client match itself.",
    ),
    Exercise(
        "post_author",
        4,
        "A post with its author: GET /posts/{post_id} embeds the user",
        "A response model can hold another one: a schema for a post with an author field,"
        " read from the Post's author relationship, as the response_model of that route.",
        anchor="post_author",
    ),
    Exercise(
        "posts_by_author",
        4,
        "The posts of one username: GET /posts?author=bob",
        "The username is on the users table, not on posts: join along Post.author in"
        " crud.list_posts and filter on User.username.",
        anchor="posts_by_author",
    ),
    Exercise(
        "task_priority",
        5,
        "Tasks get a priority, through a migration",
        "The column in the model, the field in TaskCreate, then `alembic revision"
        " --autogenerate`; a server_default is what gives the existing rows their 3.",
    ),
    Exercise(
        "post_title_unique",
        5,
        "One title per author: a unique constraint, added by a migration",
        "A UniqueConstraint over two columns in the model's __table_args__, then autogenerate;"
        " catch the IntegrityError the commit raises, as crud does for usernames.",
        anchor="post_title_unique",
    ),
    Exercise(
        "task_soft_delete",
        5,
        "Soft delete: a deleted task stays in the table, with its deleted_at",
        "A nullable column, set by crud.delete_task instead of db.delete(); every query that"
        " finds tasks must then leave out the rows where it is set.",
        anchor="task_soft_delete",
    ),
    Exercise(
        "task_done_test",
        5,
        "Test first: a test of POST /tasks/{task_id}/done that catches a broken one",
        "The broken endpoint answers exactly as the right one does. What differs is what the"
        " API says about the task afterwards: ask it, as a client would, and assert it.",
        anchor="task_done_test",
    ),
    Exercise(
        "my_posts",
        6,
        "Your own posts: GET /users/me/posts",
        "The CurrentUser dependency is the user of the token (and the 401 without one);"
        " mind the order of the routes, or `me` is taken for a user id.",
    ),
    Exercise(
        "emails_for_admins",
        6,
        "Emails for admins' eyes: others read the users without them",
        "Two response models, one without the email, and the optional current user"
        " (CurrentUserIfAny) to choose between them; a union of both is the response_model.",
        anchor="emails_for_admins",
    ),
    Exercise(
        "user_disabled",
        6,
        "An admin disables a user: no login, and their tokens stop working",
        "A boolean column with a server default and its migration; the rule for PATCH is in"
        " permissions.py, and the check belongs where a token becomes a user (security.py).",
        anchor="user_disabled",
    ),
    Exercise(
        "authors",
        7,
        "Every author with their posts, in two queries: GET /authors",
        "User.posts is lazy='raise': load it with a loader option on the select. One of"
        " SQLAlchemy's loaders reads the posts of the whole page in one more query.",
    ),
    Exercise(
        "posts_csv",
        7,
        "Every post as CSV, streamed by an async generator: GET /posts/export.csv",
        "AsyncSession.stream() gives rows to `async for` a batch at a time; an async generator"
        " of CSV lines is what StreamingResponse sends. Join the author: no lazy loads here.",
        anchor="posts_csv",
    ),
    Exercise(
        "post_tags",
        7,
        "Tags on posts, many to many: PUT /posts/{post_id}/tags, GET /tags/{name}/posts",
        "relationship(secondary=...) over an association Table that a migration makes;"
        " refresh() loads a lazy='raise' collection before you replace it, selectinload() a"
        " page's.",
        anchor="post_tags",
    ),
    Exercise(
        "ready_migrated",
        8,
        "Not ready while the database is behind the code",
        "database.py already compares the database's revision with the code's head;"
        " add that comparison to the checks that GET /health/ready runs.",
    ),
    Exercise(
        "process_time",
        8,
        "How long it took: an X-Process-Time header on every answer",
        "logging.py's middleware already times each request and touches the headers of every"
        " answer as it starts; a browser's page reads only the headers CORS exposes.",
        anchor="process_time",
    ),
    Exercise(
        "signup_rate_limit",
        8,
        "A sign-up limit per client address: SIGNUP_RATE_LIMIT, a 429 past it",
        "One more RateLimit field in Settings; a small limiter on the counters the login"
        " limiter uses, made in the lifespan, run by a dependency of POST /users.",
        anchor="signup_rate_limit",
    ),
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


# The listing: python -m shared.exercises ----------------------------------------


def practice_folder(step: Step, root: Path) -> Path:
    """Where `make practice STEP=N` puts the learner's copy (shared/practice.py)."""
    return root / "practice" / step.package


@contextmanager
def silenced():
    """Nothing the checker's run prints reaches the terminal (its processes inherit
    this process's stdout and stderr): the listing prints one line per exercise."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with Path(os.devnull).open("w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def solved(exercise: Exercise, root: Path) -> bool:
    """Whether the practice copy in root passes the exercise's checker, as `make check
    STEP=N EXERCISE=name` judges it (a copy that cannot be judged solves nothing)."""
    from shared import practice  # imports this module: not at the top

    step = exercise.step
    with silenced():
        code = practice.check(
            step, practice.app_of(step), root, exercise.name, junit=None, report=None
        )
    return code == practice.ALL_PASS


def listing(steps: list[Step], root: Path) -> None:
    judged_any = False
    for step in steps:
        found = of_step(step)
        if not found:
            continue
        copy = practice_folder(step, root)
        judged = copy.is_dir()
        judged_any |= judged
        where = f", checked on {copy.relative_to(root)}/" if judged else ""
        print(f"Step {step.number}: {step.title}{where}")
        width = max(len(exercise.name) for exercise in found)
        for exercise in found:
            mark = ("✓" if solved(exercise, root) else "✗") if judged else " "
            print(f"  {mark} {exercise.name:<{width}}  {exercise.title}", flush=True)
        print()
    if not judged_any:
        print("On a practice copy (make practice STEP=N), ✓ marks the exercises it solves.")
    print("A hint: make hint EXERCISE=name. Check one: make check STEP=N EXERCISE=name.")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.exercises",
        description="The checked exercises by step; on a practice copy, which are solved.",
    )
    parser.add_argument("step", type=int, nargs="?", help="only this step's exercises")
    parser.add_argument("--hint", metavar="NAME", help="print this exercise's hint")
    # The repository whose practice/ holds the copies (the tests' is temporary).
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.hint is not None:
            exercise = get(args.hint)
            print(f"{exercise.name} (step {exercise.step_number}): {exercise.title}")
            print(f"Hint: {exercise.hint}")
            print(f"Check it: {exercise.command}")
            return 0
        steps = list(catalog.STEPS) if args.step is None else [catalog.get(args.step)]
    except LookupError as error:
        print(error)
        return 2
    listing(steps, args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
