"""`/docs` and `/redoc` work without internet: every asset comes from the app."""

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.taught("why-it-is-built-this-way")

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
ANY_URL = re.compile(r"""https?://[^\s"'<>)]+""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
@pytest.mark.backends("sqlite")
def test_api_docs_load_everything_from_the_app(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert ANY_URL.findall(html) == [], "the page names an outside host"
    assets = ASSET.findall(html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert not urlsplit(asset).netloc, asset
        assert client.get(asset).status_code == 200, asset


@pytest.mark.backends("sqlite")
def test_swagger_ui_does_not_call_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


@pytest.mark.backends("sqlite")
def test_openapi_schema_is_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/tasks" in schema["paths"]
