"""Step 8, what HTTP shows in one process: health, request ids, CORS, the login limit, settings.

A test that needs other settings than the suite's (a low login limit, an
origin, a Redis that does not answer) starts the app on them, as a shell
would: the variables set, then the app imported and started.
"""

from __future__ import annotations

import re

import pytest

from shared.catalog import Step
from tests.support import apps, auth, production
from tests.support.auth import PASSWORD, sign_up
from tests.support.inprocess import InProcessClient
from tests.support.production import StartWith, attempt, closed_port

# Its tests that wait for time to pass (a window that ends, a Redis that never
# answers) are in tier full: tests/full/test_production_timing.py.
pytestmark = [
    pytest.mark.requires("production"),
    pytest.mark.taught("why-it-is-built-this-way"),
    pytest.mark.usefixtures("signing_key", "anonymous"),
]

# A fixture of tests/support/production.py.
start_with = production.start_with

# Health ----------------------------------------------------------------------


@pytest.mark.taught("health-checks")
def test_live_says_ok_without_a_token(client: InProcessClient) -> None:
    """GET /health/live answers 200 {"status": "ok"}, to anyone."""
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.taught("health-checks")
def test_ready_when_the_database_answers(client: InProcessClient) -> None:
    """GET /health/ready answers 200 and names each check when the database answers."""
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.taught("health-checks")
def test_ready_is_503_naming_redis_when_it_refuses_connections(start_with: StartWith) -> None:
    """GET /health/ready answers 503 and names Redis when Redis cannot be reached."""
    with start_with(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0") as client:
        assert client.get("/health/live").status_code == 200  # alive all the same
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "error"},
    }


# Request ids -----------------------------------------------------------------


@pytest.mark.taught("request-ids-and-logs")
def test_every_response_gets_a_new_request_id(client: InProcessClient) -> None:
    """Every response carries X-Request-ID; without one from the client, a new one each time."""
    responses = [
        client.get("/"),
        client.get("/tasks/1"),  # 404
        client.get("/tasks", params={"limit": 0}),  # 422
        client.post("/tasks", content=b"{", headers={"Content-Type": "application/json"}),
    ]
    ids = [response.headers.get("x-request-id") for response in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.taught("request-ids-and-logs")
@pytest.mark.parametrize(
    "given", ["3f2c9a1e-7b4d-4c1a-9e2f-0a1b2c3d4e5f", "req-42", "abc.DEF_123:9"]
)
def test_a_well_formed_request_id_is_sent_back(client: InProcessClient, given: str) -> None:
    """A well-formed X-Request-ID from the client (a proxy's, a trace id) comes back as sent."""
    response = client.get("/tasks", headers={"X-Request-ID": given})
    assert response.headers["x-request-id"] == given


@pytest.mark.taught("request-ids-and-logs")
@pytest.mark.parametrize("given", ["two words", "x" * 129, 'quote"d', "", "{json}"])
def test_a_malformed_request_id_is_replaced(client: InProcessClient, given: str) -> None:
    """An X-Request-ID that could forge or break a log line is replaced by a new one."""
    response = client.get("/tasks", headers={"X-Request-ID": given})
    replaced = response.headers["x-request-id"]
    assert replaced != given
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", replaced)


# CORS ------------------------------------------------------------------------


@pytest.mark.taught("cors")
def test_only_the_configured_origins_are_allowed(start_with: StartWith) -> None:
    """With CORS_ORIGINS, those origins (and only those) are allowed, never with credentials.

    Without it, no page of another origin may read the API's answers.
    """
    with start_with() as unset:
        answer = unset.get("/tasks", headers={"Origin": "https://app.example"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    origins = "https://app.example,http://localhost:5173"
    with start_with(CORS_ORIGINS=origins) as client:
        preflight = client.options(
            "/tasks",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        simple = client.get("/tasks", headers={"Origin": "http://localhost:5173"})
        other = client.get("/tasks", headers={"Origin": "https://evil.example"})
        refused = client.options(
            "/tasks",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert simple.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert refused.status_code == 400
    for response in (preflight, simple, other, refused):
        assert response.headers.get("access-control-allow-origin") != "*"
        assert "access-control-allow-credentials" not in response.headers


# The login rate limit ----------------------------------------------------------


@pytest.mark.taught("the-login-rate-limit")
def test_failed_logins_past_the_limit_get_429_with_retry_after(start_with: StartWith) -> None:
    """After LOGIN_RATE_LIMIT failed logins for a username, the next gets 429 with Retry-After."""
    with start_with(LOGIN_RATE_LIMIT="3/minute", LOGIN_IP_RATE_LIMIT="100/minute") as client:
        sign_up(client, "ada")
        assert [attempt(client, "ada").status_code for _ in range(3)] == [401, 401, 401]
        refused = attempt(client, "ada", PASSWORD)  # even the right password, now
        other_user = attempt(client, "bob")  # the limit is per username
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many login attempts: try again later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert other_user.status_code == 401


@pytest.mark.taught("the-login-rate-limit")
def test_a_successful_login_forgives_the_failed_ones(start_with: StartWith) -> None:
    """A login with the right password clears that username's failed attempts."""
    with start_with(LOGIN_RATE_LIMIT="3/minute", LOGIN_IP_RATE_LIMIT="100/minute") as client:
        sign_up(client, "ada")
        answers = [attempt(client, "ada").status_code for _ in range(2)]
        answers.append(attempt(client, "ada", PASSWORD).status_code)
        answers += [attempt(client, "ada").status_code for _ in range(4)]
    assert answers == [401, 401, 200, 401, 401, 401, 429]


@pytest.mark.taught("the-login-rate-limit")
def test_attempts_past_the_address_limit_get_429(start_with: StartWith) -> None:
    """After LOGIN_IP_RATE_LIMIT attempts from one address, whatever the usernames, a 429."""
    with start_with(LOGIN_RATE_LIMIT="100/minute", LOGIN_IP_RATE_LIMIT="4/minute") as client:
        answers = [attempt(client, f"user{n}").status_code for n in range(5)]
        refused = attempt(client, "someone else")
    assert answers == [401, 401, 401, 401, 429]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60


@pytest.mark.internals
@pytest.mark.taught("the-login-rate-limit")
def test_a_429_spends_no_password_hash(
    step: Step, start_with: StartWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused attempt answers before any Argon2 work: the limit costs the server nothing."""
    with start_with(LOGIN_RATE_LIMIT="2/minute", LOGIN_IP_RATE_LIMIT="100/minute") as client:
        sign_up(client, "ada")
        for username in ("ada", "ada", "nobody", "nobody"):
            assert attempt(client, username).status_code == 401
        security = apps.module_of(step, "security")
        calls: list[str] = []
        real = security.password_hash

        class Counting:
            def __getattr__(self, name: str):
                calls.append(name)
                return getattr(real, name)

        monkeypatch.setattr(security, "password_hash", Counting())
        answers = [attempt(client, name).status_code for name in ("ada", "nobody", "ada")]
    assert answers == [429, 429, 429]
    assert calls == []


@pytest.mark.taught("the-login-rate-limit")
def test_without_its_counters_login_is_503_not_unlimited(start_with: StartWith) -> None:
    """When Redis cannot be reached, a login gets 503: never a login without its limit."""
    with start_with(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0") as client:
        sign_up(client, "ada")
        response = attempt(client, "ada", PASSWORD)
        assert client.get("/tasks").status_code == 200  # the rest of the API serves
    assert response.status_code == 503
    assert "detail" in response.json()


# Settings ----------------------------------------------------------------------


@pytest.mark.taught("settings")
@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"LOG_FORMAT": "xml"}, ["LOG_FORMAT"]),
        ({"LOG_LEVEL": "LOUD"}, ["LOG_LEVEL"]),
        ({"LOGIN_RATE_LIMIT": "5 per fortnight"}, ["LOGIN_RATE_LIMIT"]),
        ({"LOGIN_IP_RATE_LIMIT": "0/minute"}, ["LOGIN_IP_RATE_LIMIT"]),
        ({"CORS_ORIGINS": "*"}, ["CORS_ORIGINS"]),
        ({"ENVIRONMENT": "staging"}, ["ENVIRONMENT"]),
        ({"REDIS_URL": "localhost:6379"}, ["REDIS_URL"]),
        ({"ENVIRONMENT": "production", "REDIS_URL": "redis://127.0.0.1:6379/0"}, []),
        ({"ENVIRONMENT": "production", "SECRET_KEY": ""}, ["SECRET_KEY", "REDIS_URL"]),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_a_bad_setting_stops_the_start_with_one_line_naming_it(
    step: Step,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    variables: dict[str, str],
    named: list[str],
) -> None:
    """A bad setting stops the app before it serves, with one line naming the variable.

    In production, a missing SECRET_KEY or REDIS_URL is a bad setting too.
    """
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    if not named:  # production with both: it starts
        monkeypatch.setenv("SECRET_KEY", auth.TEST_SECRET_KEY)
        with InProcessClient(apps.load(step, database_url, monkeypatch)) as client:
            assert client.get("/health/live").status_code == 200
        return
    with pytest.raises(SystemExit) as stopped:
        apps.load(step, database_url, monkeypatch)
    said = capfd.readouterr().err
    if isinstance(stopped.value.code, str):
        said += stopped.value.code
    lines = [line for line in said.splitlines() if line.strip()]
    assert len(lines) == 1, said
    assert "Traceback" not in said
    for name in named:
        assert name in lines[0]
