"""One commit per row vs the same rows in one commit, with a step's own engine.

Run as `DATABASE_URL=... python -m shared.bench.batch <package> <rows>` in a
child process, so that the step's `database.py` reads DATABASE_URL at import
exactly as in the app, pragmas and all. Prints one JSON object.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker


def commit_each(session_factory: sessionmaker[Session], task_model: type, rows: int) -> None:
    """What `rows` POST /tasks requests do: a session and a commit each."""
    for n in range(rows):
        with session_factory() as db:
            db.add(task_model(title=f"Task {n}"))
            db.commit()


def commit_once(session_factory: sessionmaker[Session], task_model: type, rows: int) -> None:
    with session_factory() as db:
        db.add_all(task_model(title=f"Task {n}") for n in range(rows))
        db.commit()


def _timed(work: Callable[[], None], rows: int) -> dict[str, Any]:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 4), "rows_per_s": round(rows / seconds, 1)}


def measure(package: str, rows: int) -> dict[str, dict[str, Any]]:
    database = importlib.import_module(f"steps.{package}.database")
    models = importlib.import_module(f"steps.{package}.models")
    database.Base.metadata.create_all(database.engine)
    try:
        session_factory, task = database.SessionLocal, models.Task
        return {
            "one commit per row": _timed(lambda: commit_each(session_factory, task, rows), rows),
            "one commit for all rows": _timed(
                lambda: commit_once(session_factory, task, rows), rows
            ),
        }
    finally:
        database.engine.dispose()


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
