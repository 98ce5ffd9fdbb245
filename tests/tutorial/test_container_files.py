"""Step 8's Dockerfile and compose.yaml, read as files: Docker does not run here.

What can be checked without building: the image is multi-stage, installs the
lock with hashes, runs as a user without privileges, checks its health, and
starts uvicorn in exec form (so SIGTERM reaches it); compose runs the app,
PostgreSQL and Redis with health checks, and migrates once before the workers.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from shared.catalog import ROOT, Step

pytestmark = [pytest.mark.requires("production"), pytest.mark.internals]


def instructions(step: Step) -> list[tuple[str, str]]:
    """The Dockerfile's instructions (keyword, arguments), continuation lines joined."""
    text = (step.path / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def exec_form(arguments: str) -> list[str]:
    """A JSON array, as exec form is written; fails on shell form."""
    words = json.loads(arguments)
    assert isinstance(words, list), arguments
    return words


def test_the_image_is_built_in_stages_from_the_lock_with_hashes(step: Step) -> None:
    steps = instructions(step)
    stages = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert len(stages) >= 2
    installs = [
        arguments for keyword, arguments in steps if keyword == "RUN" and "pip" in arguments
    ]
    assert any(
        "--require-hashes" in run and "--no-deps" in run and "requirements.lock" in run
        for run in installs
    ), installs
    copied = " ".join(arguments for keyword, arguments in steps if keyword == "COPY")
    assert "requirements.lock" in copied
    assert "--from=" in copied  # the last stage takes only what the first built


def test_the_image_runs_uvicorn_as_a_user_without_privileges_in_exec_form(step: Step) -> None:
    steps = instructions(step)
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    last_stage = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    assert any(keyword == "USER" for keyword, _ in steps[last_stage:])
    [command] = [arguments for keyword, arguments in steps if keyword == "CMD"]
    words = exec_form(command)
    assert words[:2] == ["uvicorn", step.app_ref]
    assert "--workers" in words
    assert "--timeout-graceful-shutdown" in words


def test_the_image_checks_its_health_on_the_live_endpoint(step: Step) -> None:
    [check] = [arguments for keyword, arguments in instructions(step) if keyword == "HEALTHCHECK"]
    _, _, command = check.partition("CMD ")
    assert "/health/live" in " ".join(exec_form(command))


def test_compose_runs_the_app_postgresql_and_redis_each_with_a_health_check(step: Step) -> None:
    compose = yaml.safe_load((step.path / "compose.yaml").read_text())
    services = compose["services"]
    images = {name: service.get("image", "") for name, service in services.items()}
    database = next(name for name, image in images.items() if image.startswith("postgres"))
    redis = next(name for name, image in images.items() if image.startswith("redis"))
    for name in (database, redis, "app"):
        assert services[name]["healthcheck"]["test"], name
    app = services["app"]
    assert app["depends_on"][database]["condition"] == "service_healthy"
    assert app["depends_on"][redis]["condition"] == "service_healthy"
    assert app["environment"]["ENVIRONMENT"] == "production"
    assert app["build"]["dockerfile"] == f"steps/{step.package}/Dockerfile"
    assert (ROOT / "steps" / step.package / app["build"]["context"]).resolve() == ROOT


def test_compose_migrates_once_before_the_workers_start(step: Step) -> None:
    services = yaml.safe_load((step.path / "compose.yaml").read_text())["services"]
    [migrate] = [
        name for name, service in services.items() if "upgrade" in service.get("command", [])
    ]
    assert services[migrate]["command"][:3] == [
        "alembic",
        "-c",
        f"steps/{step.package}/alembic.ini",
    ]
    condition = services["app"]["depends_on"][migrate]["condition"]
    assert condition == "service_completed_successfully"


def test_compose_keeps_no_secret_in_the_file(step: Step) -> None:
    """Secrets come from the environment: compose stops with a message when one is missing."""
    text = (step.path / "compose.yaml").read_text()
    assert "${SECRET_KEY:?" in text
    assert "${POSTGRES_PASSWORD:?" in text
    app = yaml.safe_load(text)["services"]["app"]
    # docker stop waits longer than uvicorn's graceful shutdown (20 s) before SIGKILL.
    assert int(app["stop_grace_period"].removesuffix("s")) > 20
