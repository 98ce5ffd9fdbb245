"""Load a step's app the way a learner's shell would: DATABASE_URL, then import."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from types import ModuleType

import pytest
from fastapi import FastAPI

from shared.catalog import Step


def modules(step: Step) -> dict[str, ModuleType]:
    """The step's modules imported now (its package and everything under it)."""
    prefix = step.import_root
    return {
        name: module
        for name, module in sys.modules.items()
        if name == prefix or name.startswith(prefix + ".")
    }


def forget(step: Step) -> None:
    """Drop the step's modules, so that the next import reads DATABASE_URL again."""
    for name in modules(step):
        del sys.modules[name]


def reinstate(step: Step, imported: dict[str, ModuleType]) -> None:
    """Make `imported` (from `modules`) the step's modules again, as if just imported.

    One app per step and database is kept for a whole session; the step's
    modules it was built from go back into `sys.modules` before each test, so
    that a test reading, say, its `database.engine` sees that app's engine.
    """
    if all(sys.modules.get(name) is module for name, module in imported.items()):
        return  # still the ones imported (the test before was of the same app)
    forget(step)
    sys.modules.update(imported)


def load(step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("DATABASE_URL", database_url)
    forget(step)
    module = importlib.import_module(step.module)
    app = module.app
    assert isinstance(app, FastAPI)
    return app


def dispose_engine(step: Step) -> None:
    """Close the pooled connections of the step's engine, if it was imported."""
    database = sys.modules.get(f"{step.import_root}.database")
    if database is not None:
        dispose(database.engine)


def dispose(engine) -> None:
    """Close an engine's pooled connections; an AsyncEngine's (step 7 on) is awaited."""
    disposed = engine.dispose()
    if inspect.isawaitable(disposed):
        asyncio.run(disposed)


def import_module(step: Step, name: str):
    """Import one module of the step, e.g. its `database`, as it is now configured."""
    return importlib.import_module(f"{step.import_root}.{name}")


def module_of(step: Step, name: str):
    """A module of the step already imported by `load`, e.g. its `database`."""
    return sys.modules[f"{step.import_root}.{name}"]
