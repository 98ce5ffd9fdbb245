"""Before the judge runs a rule: does the app start at all?

An app that cannot be imported, has no `app`, or whose lifespan or
migrations fail would fail every rule with the same error. The judge tries
it once first, on a database of its own (migrated with the app's own
`alembic upgrade head` when its folder has an `alembic.ini`), and reports
one diagnosis instead: the exception, and where in the app's code it came from.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import traceback
import warnings
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.catalog import ROOT, Step
from tests.support import apps, migrations


def where_in(folder: Path, error: BaseException) -> str | None:
    """`file:line` of the deepest frame of `error`'s traceback that is in `folder`'s code."""
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(folder):
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            found = f"{shown}:{frame.lineno}: {(frame.line or '').strip()}"
    return found


def described(error: BaseException, folder: Path) -> str:
    """An exception in one or two lines: its type and message, and its place in the app."""
    message = f"{type(error).__name__}: {error}".strip().rstrip(":")
    place = where_in(folder, error)
    return f"{message}\n  at {place}" if place else message


def diagnose(step: Step, recorded: list[warnings.WarningMessage]) -> str | None:
    """Why the judged app does not start, or None when it does. Its warnings go to `recorded`."""
    before = os.environ.get("DATABASE_URL")
    stage = "importing the app"
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        url = f"sqlite:///{Path(folder) / step.package}.db"
        os.environ["DATABASE_URL"] = url
        try:
            if step.offers("migrations") and step.alembic_ini.exists():
                stage = f"migrating (alembic -c {step.alembic_ini} upgrade head)"
                migrations.upgrade(step, url)
                stage = "importing the app"
            module_name, _, attribute = step.app_ref.partition(":")
            module = importlib.import_module(module_name)
            app = getattr(module, attribute or "app", None)
            if not isinstance(app, FastAPI):
                return f"{step.app_ref}: {module_name} has no FastAPI app named {attribute!r}"
            stage = "starting the app (its lifespan)"
            with TestClient(app):
                pass
        except (Exception, SystemExit) as error:
            return f"The app did not start while {stage}:\n  {described(error, step.path)}"
        finally:
            recorded.extend(seen)
            if before is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = before
            apps.dispose_engine(step)
            apps.forget(step)
    return None
