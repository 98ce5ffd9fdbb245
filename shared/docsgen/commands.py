"""How to start a step: the exact commands a learner types."""

from __future__ import annotations

from shared.catalog import Step
from shared.docsgen.markdown import fence, tabs


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
        "(they work offline).\n"
    )
    if step.offers("persistent"):
        page += (
            f"\nThe data lives in `.data/{step.package}.db` inside the repository, "
            "wherever you start the server from; set `DATABASE_URL` to use another "
            "database (a PostgreSQL one, for example).\n"
        )
    else:
        page += "\nThe tasks live in the server's memory: stop it and they are gone.\n"
    return page
