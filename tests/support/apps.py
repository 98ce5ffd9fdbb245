"""Load a step's app the way a learner's shell would: DATABASE_URL, then import."""

from __future__ import annotations

import importlib
import sys

import pytest
from fastapi import FastAPI

from shared.catalog import Step


def forget(step: Step) -> None:
    """Drop the step's modules, so that the next import reads DATABASE_URL again."""
    prefix = f"steps.{step.package}"
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


def load(step: Step, database_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("DATABASE_URL", database_url)
    forget(step)
    module = importlib.import_module(step.module)
    app = module.app
    assert isinstance(app, FastAPI)
    return app


def dispose_engine(step: Step) -> None:
    """Close the pooled connections of the step's engine, if it was imported."""
    database = sys.modules.get(f"steps.{step.package}.database")
    if database is not None:
        database.engine.dispose()


def import_module(step: Step, name: str):
    """Import one module of the step, e.g. its `database`, as it is now configured."""
    return importlib.import_module(f"steps.{step.package}.{name}")


def module_of(step: Step, name: str):
    """A module of the step already imported by `load`, e.g. its `database`."""
    return sys.modules[f"steps.{step.package}.{name}"]
