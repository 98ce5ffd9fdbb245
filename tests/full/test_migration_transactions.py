"""Migrations on a server database run in one transaction.

A failing revision leaves nothing half done.
"""

import pytest
from sqlalchemy.dialects import registry

from shared.catalog import Step
from tests.support import migrations
from tests.support.migrations import table_names

pytestmark = [pytest.mark.requires("migrations"), pytest.mark.taught("the-migration-history")]


TABLES = {"tasks", "users", "posts"}


@pytest.mark.backends("sqlite")
def test_the_path_for_server_databases_migrates_in_one_transaction(
    step: Step, backend: str, empty_database_url: str
) -> None:
    # env.py has one path for SQLite (batch mode, foreign keys off while
    # migrating) and one for server databases such as PostgreSQL. The
    # PostgreSQL tests take the second where a server answers; this runs it on
    # a machine without one, through a URL whose backend is not called
    # "sqlite" but which SQLAlchemy serves with its SQLite dialect.
    # (An async step's engine needs SQLite's asyncio driver under that name.)
    driver = "aiosqlite" if step.offers("async") else "pysqlite"
    registry.register(
        "serverlike", f"sqlalchemy.dialects.sqlite.{driver}", f"SQLiteDialect_{driver}"
    )
    url = empty_database_url.replace("sqlite://", "serverlike://", 1)
    migrations.upgrade(step, url)
    assert table_names(empty_database_url) == TABLES
    # At head, read in-process: the `alembic` command itself is tested in
    # test_migration_commands.py, and starting it would cost more than this test.
    assert migrations.revision_of(empty_database_url) == migrations.head_of(step)
