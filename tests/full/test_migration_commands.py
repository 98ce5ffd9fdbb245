"""Migrations through the commands a learner types.

Alembic from any folder, uvicorn on a database behind head.
"""

from pathlib import Path

import pytest

from shared.catalog import Step
from shared.server import UvicornServer
from tests.support import migrations
from tests.support.migrations import table_names

pytestmark = [pytest.mark.requires("migrations"), pytest.mark.taught("run-it")]


TABLES = {"tasks", "users", "posts"}


@pytest.mark.backends("sqlite")
def test_uvicorn_on_an_unmigrated_database_exits_with_the_command_to_run(
    step: Step, backend: str, empty_database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "uvicorn.log"
    server = UvicornServer(step.app_ref, env={"DATABASE_URL": empty_database_url}, log_path=log)
    try:
        with pytest.raises(RuntimeError, match="exited"):
            server.start()
    finally:
        server.stop()  # an app that starts after all must not outlive the test
    assert migrations.names_the_upgrade_command(step, log.read_text())


@pytest.mark.backends("sqlite")
def test_alembic_command_of_the_docs_works_from_any_folder(
    step: Step, backend: str, empty_database_url: str, tmp_path: Path
) -> None:
    # From the repository root, as the docs write it: test_smoke.py runs it, on
    # every step and backend. From elsewhere, with the path to the same file:
    migrations.cli(
        step, empty_database_url, "upgrade", "head", cwd=tmp_path, ini=str(step.alembic_ini)
    )
    # Same database, at head (what `alembic current` says, read in-process).
    assert migrations.revision_of(empty_database_url) == migrations.head_of(step)
    assert table_names(empty_database_url) == TABLES
