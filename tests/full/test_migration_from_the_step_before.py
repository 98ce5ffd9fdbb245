"""A database of the step before joins Alembic's history: a stamp, then upgrades."""

import pytest
from fastapi.testclient import TestClient

from shared import catalog
from shared.catalog import Step
from tests.support import apps, migrations

pytestmark = [pytest.mark.requires("migrations"), pytest.mark.taught("from-a-step-4-database")]


FIRST = "0001"


@pytest.mark.repository
@pytest.mark.backends("sqlite")
def test_a_database_of_the_step_before_upgrades_after_a_stamp(
    step: Step, backend: str, empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented path from step 4's database (made by create_all) to this step."""
    previous = catalog.previous(step)
    assert previous is not None
    if previous.offers("migrations"):
        pytest.skip(
            f"step {previous.number}'s database has Alembic's history already: "
            "`alembic upgrade head` is the whole path (its own migration tests)"
        )
    url = empty_database_url
    with TestClient(apps.load(previous, url, monkeypatch)) as client:
        user = client.post("/users", json={"username": "ada", "email": "ada@example.com"}).json()
        post = {"title": "Hello", "content": "First post"}
        assert client.post(f"/users/{user['id']}/posts", json=post).status_code == 201

    # The commands of the step's page, with DATABASE_URL for the copied file.
    migrations.cli(step, url, "stamp", FIRST)
    migrations.cli(step, url, "upgrade", "head")

    with TestClient(apps.load(step, url, monkeypatch)) as client:
        read = client.get(f"/users/{user['id']}").json()
        assert read["role"] == "member"
        assert [p["title"] for p in read["posts"]] == ["Hello"]
