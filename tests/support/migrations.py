"""Run a step's Alembic migrations in-process, as `alembic -c <ini> ...` would."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from shared.catalog import ROOT, Step
from shared.server import venv_command
from tests.support import apps


@contextmanager
def database_url_set(url: str) -> Iterator[None]:
    """DATABASE_URL for the duration of one command, then as it was."""
    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        yield
    finally:
        if before is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = before


def config(step: Step) -> Config:
    return Config(str(step.alembic_ini))


def run(step: Step, url: str, name: str, *args, **kwargs):
    """`alembic <name> <args>` against `url`: env.py reads DATABASE_URL, as the app does."""
    with database_url_set(url):
        apps.forget(step)  # env.py imports the step's database module: read the URL anew
        try:
            return getattr(command, name)(config(step), *args, **kwargs)
        finally:
            apps.dispose_engine(step)
            apps.forget(step)


def revision_of(url: str) -> str | None:
    """The revision the database at `url` is at, by its alembic_version table (None: no table)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_of(step: Step) -> str | None:
    """The newest revision of the step's migrations."""
    return ScriptDirectory.from_config(config(step)).get_current_head()


def upgrade(step: Step, url: str, revision: str = "head") -> None:
    run(step, url, "upgrade", revision)


def downgrade(step: Step, url: str, revision: str) -> None:
    run(step, url, "downgrade", revision)


def cli(
    step: Step, url: str, *args: str, cwd: Path = ROOT, ini: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The `alembic` command a learner types, by default from the repository root:

    alembic -c steps/<package>/alembic.ini <args>
    """
    config_file = ini or os.path.relpath(step.alembic_ini, cwd)
    return subprocess.run(
        [venv_command("alembic"), "-c", config_file, *args],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    )


def table_names(url: str) -> set[str]:
    """The tables of the database at `url`, without Alembic's own."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def column_names(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def upgrade_command(step: Step) -> str:
    """The command the docs give to bring a step's database to head."""
    return f"alembic -c steps/{step.package}/alembic.ini upgrade head"


def names_the_upgrade_command(step: Step, text: str) -> bool:
    """Whether `text` tells the reader to migrate: the docs' own command for a step of this
    tutorial; for another app (its own layout), any `alembic ... upgrade head`."""
    if step.app is None:
        return upgrade_command(step) in text
    return re.search(r"\balembic\b.*\bupgrade head\b", text) is not None
