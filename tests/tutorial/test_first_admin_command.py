"""`make admin`, the first admin with nothing activated, as the step page writes it.

The command's module (`create_admin`) is the step's: tests/full/test_first_admin.py.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step
from tests.support import documented, make
from tests.support.auth import log_in

pytestmark = [pytest.mark.requires("auth"), pytest.mark.internals]


@pytest.mark.backends("sqlite")
def test_make_admin_makes_the_first_admin_as_the_page_says(
    step: Step, client: TestClient, database_url: str
) -> None:
    """The page's command, with nothing activated: make runs the step's own module."""
    [command] = [c for c in documented.make_commands() if documented.target(c) == "admin"]
    words = command.replace("STEP=6", f"STEP={step.number}").split()[1:]
    done = make.run(
        *words, env={"DATABASE_URL": database_url, "ADMIN_PASSWORD": "the admin's password"}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    admin = client.get("/users", params={"limit": 1}).json()[0]
    assert (admin["username"], admin["email"], admin["role"]) == (
        "admin",
        "admin@example.com",
        "admin",
    )
    log_in(client, "admin", "the admin's password")
