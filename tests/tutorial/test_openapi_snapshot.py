"""Each step's /openapi.json is pinned, so an API change shows up as a diff.

After an intended change, refresh the snapshots and review their diff:

    .venv/bin/python -m pytest tests/tutorial/test_openapi_snapshot.py --update-snapshots
"""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.catalog import Step

# The exact schema of the catalog's steps (titles, descriptions): left out when judging
# another app.
pytestmark = pytest.mark.internals

SNAPSHOTS = Path(__file__).parent / "snapshots" / "openapi"


@pytest.mark.backends("sqlite")
def test_openapi_matches_its_snapshot(
    client: TestClient, step: Step, backend: str, request: pytest.FixtureRequest
) -> None:
    served = client.get("/openapi.json").json()
    path = SNAPSHOTS / f"{step.package}.json"
    if request.config.getoption("--update-snapshots"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot yet: run pytest {__file__} --update-snapshots"
    assert served == json.loads(path.read_text())
