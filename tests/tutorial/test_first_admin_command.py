"""`make admin`, the first admin with nothing activated, as the step page writes it.

The command's module (`create_admin`) is the step's: tests/full/test_first_admin.py.
"""

from __future__ import annotations

import functools
import re

import pytest
from fastapi.testclient import TestClient

from shared import catalog
from shared.catalog import Step
from tests.support import documented, make
from tests.support.auth import log_in

pytestmark = [pytest.mark.requires("auth"), pytest.mark.internals]

[COMMAND] = [c for c in documented.make_commands() if documented.target(c) == "admin"]
PAGE_STEP = catalog.get(int(re.findall(r"\bSTEP=(\d+)", COMMAND)[0]))


def arguments(step: Step) -> list[str]:
    """The page's command for `step`: make's arguments."""
    return COMMAND.replace(f"STEP={PAGE_STEP.number}", f"STEP={step.number}").split()[1:]


@functools.cache
def dry_run(step: Step) -> str:
    """The commands `make -n` says the page's command runs for `step`, whitespace and
    line continuations squeezed, with the step's package written {package}."""
    result = make.run("-n", *arguments(step))
    assert result.returncode == 0, result.stdout + result.stderr
    commands = " ".join(result.stdout.replace("\\\n", " ").split())
    return commands.replace(step.package, "{package}")


@pytest.mark.backends("sqlite")
def test_make_admin_makes_the_first_admin_as_the_page_says(
    step: Step, client: TestClient, database_url: str
) -> None:
    """The page's command, with nothing activated: make runs the step's own module.

    Run for real on the page's step. On another step, make runs the same commands for
    that step (make -n): its Alembic upgrade, which tests/full/test_smoke.py runs on every
    step, then its create_admin module, which tests/full/test_first_admin.py runs on every
    step; running them again under make would cost about 3 s of CPU a step."""
    if step != PAGE_STEP:
        assert dry_run(step) == dry_run(PAGE_STEP)
        commands = dry_run(step).replace("{package}", step.package)
        assert f"-m steps.{step.package}.create_admin " in commands
        return
    done = make.run(
        *arguments(step),
        env={"DATABASE_URL": database_url, "ADMIN_PASSWORD": "the admin's password"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    admin = client.get("/users", params={"limit": 1}).json()[0]
    assert (admin["username"], admin["email"], admin["role"]) == (
        "admin",
        "admin@example.com",
        "admin",
    )
    log_in(client, "admin", "the admin's password")
