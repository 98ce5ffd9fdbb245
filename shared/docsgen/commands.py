"""How to start a step, practise it and check its exercises: the exact commands a learner types."""

from __future__ import annotations

import textwrap

from shared import catalog, exercises
from shared.catalog import Step
from shared.docsgen.markdown import code, fence, table, tabs


def run_page(step: Step) -> str:
    migrate = (
        f"alembic -c steps/{step.package}/alembic.ini upgrade head\n"
        if step.offers("migrations")
        else ""
    )
    by_hand = migrate + f"uvicorn {step.app_ref} --reload\n"
    page = "From the repository root:\n\n" + tabs(
        [
            ("make", fence(f"make run STEP={step.number}", "bash")),
            ("uvicorn (virtual environment active)", fence(by_hand, "bash")),
        ]
    )
    if migrate:
        page += (
            "\n`make run` upgrades the database to the newest migration before it starts "
            "the server; by hand, the `alembic` command does it.\n"
        )
    page += (
        "\nThen open <http://127.0.0.1:8000/docs> for the interactive API docs "
        f"(they work offline). `make test STEP={step.number}` runs the tests that "
        "check this step.\n"
    )
    page += "\n" + practice_box(step)
    if step.offers("persistent"):
        page += (
            f"\nThe data lives in `.data/{step.package}.db` inside the repository, "
            "wherever you start the server from; set `DATABASE_URL` to use another "
            "database (a PostgreSQL one, for example).\n"
        )
    else:
        page += "\nThe tasks live in the server's memory: stop it and they are gone.\n"
    return page


def practice_box(step: Step) -> str:
    """The "Build it yourself" box: the practice loop of this step, then its exercises."""
    previous = catalog.previous(step)
    start_from = f"step {previous.number}'s code" if previous else "a minimal app"
    n = step.number
    commands = [
        (f"make practice STEP={n}", f"{start_from} in practice/{step.package}/, yours to change"),
        (f"make run STEP={n} PRACTICE=1", "serve your copy"),
        (f"make check STEP={n}", "rule by rule, what still differs from this step"),
    ]
    found = exercises.of_step(step)
    commands += [(exercise.command, "an exercise of this page, on your copy") for exercise in found]
    width = max(len(command) for command, _ in commands)
    body = fence("\n".join(f"{c:<{width}}  # {why}" for c, why in commands), "bash") + "\n"
    if found:
        body += (
            f"Once your copy does what this step does, do [the exercises](#{found[0].anchor}) "
            "in it too: each `EXERCISE=` line checks one. "
        )
    body += (
        "`APP=module:app APP_DIR=folder` judges any other app instead. "
        "See [Practise](../practice.md).\n"
    )
    return '!!! tip "Build it yourself"\n' + textwrap.indent(body, "    ") + "\n"


def exercises_page() -> str:
    """The Practise page's list of every exercise, and of the older tutorials' practice tasks."""
    rows = [
        [
            f"[{exercise.step_number}](steps/{exercise.step.package}.md)",
            f"[{exercise.title}]({exercise.page})",
            code(exercise.command),
            f"[{exercise.solution.name}](exercises/{exercise.solution.name})",
        ]
        for exercise in exercises.EXERCISES
    ]
    page = table(["Step", "Exercise", "Check it", "Solution"], rows)
    older = [
        [
            task,
            f"[{catalog.get(n).title}](steps/{catalog.get(n).package}.md)",
            code(f"make check STEP={n}"),
        ]
        for task, n in exercises.OLDER_TASKS
    ]
    page += (
        "\nThe practice tasks older tutorials end with are whole steps here, "
        "checked by the step's contract:\n\n"
    )
    return page + table(["Their task", "The step that teaches it", "Check it"], older)
