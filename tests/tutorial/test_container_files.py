"""Step 8's Dockerfile and compose.yaml, read as files: Docker does not run here.

What can be checked without building: the image is multi-stage, installs the
runtime lock with hashes (the packages the app needs, at requirements.lock's
versions, no test or docs tools), runs as a user without privileges, checks its
health, and starts uvicorn in exec form (so SIGTERM reaches it); compose runs
the app, PostgreSQL and Redis with health checks, and migrates once before the
workers.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def image_lock(step: Step) -> Path:
    """The lock the image installs: the one file ending in .lock that it copies."""
    copied = [
        arguments.split()[0] for keyword, arguments in instructions(step) if keyword == "COPY"
    ]
    [lock] = [source for source in copied if source.endswith(".lock")]
    return ROOT / lock


def test_the_image_is_built_in_stages_from_the_runtime_lock_with_hashes(step: Step) -> None:
    steps = instructions(step)
    stages = [arguments for keyword, arguments in steps if keyword == "FROM"]
    assert len(stages) >= 2
    lock = image_lock(step)
    assert lock.name == "requirements-runtime.lock"
    installs = [
        arguments for keyword, arguments in steps if keyword == "RUN" and "pip" in arguments
    ]
    assert any(
        "--require-hashes" in run and "--no-deps" in run and f"-r /tmp/{lock.name}" in run
        for run in installs
    ), installs
    copied = " ".join(arguments for keyword, arguments in steps if keyword == "COPY")
    assert "--from=" in copied  # the last stage takes only what the first built


class Pin(NamedTuple):
    version: str
    hashes: frozenset[str]
    needed_by: frozenset[str]  # uv's `# via` lines: the packages (or the project) that need it


def pins(lock: Path) -> dict[str, Pin]:
    """A lock written by `uv pip compile --generate-hashes`, by package name."""
    found: dict[str, Pin] = {}
    name = None
    for line in lock.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", line):
            name = canonicalize_name(match[1])
            found[name] = Pin(match[2], frozenset(), frozenset())
        elif name and (digest := re.search(r"--hash=(\S+)", line)):
            found[name] = found[name]._replace(hashes=found[name].hashes | {digest[1]})
        elif name and (via := re.fullmatch(r"\s+#\s+(?:via\s*)?(\S.*)?", line)) and via[1]:
            parent = via[1] if " " in via[1] else canonicalize_name(via[1])
            found[name] = found[name]._replace(needed_by=found[name].needed_by | {parent})
    return found


def project_requirements(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {canonicalize_name(Requirement(requirement).name) for requirement in listed}


def test_the_runtime_lock_holds_what_the_app_needs_and_no_dev_tool(step: Step) -> None:
    """Every runtime dependency of pyproject.toml, and only what they need: no pytest, ruff,
    mkdocs or what only they need. uv's `# via` lines say why each package is there."""
    image = pins(image_lock(step))
    runtime = project_requirements()
    assert runtime <= image.keys(), runtime - image.keys()
    dev_tools = project_requirements("dev") - runtime
    assert not dev_tools & image.keys(), dev_tools & image.keys()
    project = "fastapi-sqlalchemy-steps (pyproject.toml)"
    for name, pin in image.items():
        needed_by = pin.needed_by - {"-c requirements.lock"}
        assert needed_by, f"{name}: nothing says why it is in the image's lock"
        # Needed by the project itself or by another package of this lock, not by a dev tool.
        assert needed_by <= image.keys() | {project}, (name, needed_by - image.keys())


def test_the_runtime_lock_agrees_with_requirements_lock(step: Step) -> None:
    """The image runs what the suite tested: the same versions, the same files (hashes)."""
    image, everything = pins(image_lock(step)), pins(ROOT / "requirements.lock")
    assert image.keys() <= everything.keys(), image.keys() - everything.keys()
    differ = {
        name: (pin.version, everything[name].version)
        for name, pin in image.items()
        if pin.version != everything[name].version
    }
    assert not differ, f"image's version, requirements.lock's: {differ}"
    for name, pin in image.items():
        assert pin.hashes, name
        assert pin.hashes <= everything[name].hashes, name


@pytest.mark.repository  # reads the Makefile
def test_make_lock_writes_the_runtime_lock_from_the_main_locks_versions(step: Step) -> None:
    """The runtime lock is resolved again with requirements.lock as its constraints."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlock:", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    [command] = [line for line in recipe.splitlines() if image_lock(step).name in line]
    assert "-c requirements.lock" in command
    assert "--extra" not in command
    assert "--upgrade" not in command  # the main lock's versions, not newer ones


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
    # Before it, the settings are checked once, and the check execs the command (exec form too).
    [entrypoint] = [arguments for keyword, arguments in steps if keyword == "ENTRYPOINT"]
    assert exec_form(entrypoint) == ["python", "-m", f"{step.import_root}.settings"]
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
