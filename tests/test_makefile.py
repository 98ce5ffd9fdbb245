"""The make targets the README and the docs tell learners to type."""

import os
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect

from shared.catalog import ROOT, STEPS


def make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_the_two_commands_of_the_readme() -> None:
    result = make("help")
    assert result.returncode == 0
    assert "make run" in result.stdout
    assert "make test" in result.stdout


def test_step_chooses_what_run_and_test_serve() -> None:
    for step in STEPS:
        run = make("-n", "run", f"STEP={step.number}")
        assert run.returncode == 0, run.stderr
        assert f"uvicorn steps.{step.package}.main:app --reload" in run.stdout
        test = make("-n", "test", f"STEP={step.number}")
        assert f"--step {step.number}" in test.stdout
        assert f"--cov=steps/{step.package}" in test.stdout


def test_an_unknown_step_is_refused_with_a_message() -> None:
    result = make("-n", "run", "STEP=99")
    assert result.returncode != 0
    assert "no step 99" in result.stdout + result.stderr


def test_migrate_brings_a_migrations_step_to_head(tmp_path: Path) -> None:
    for step in [s for s in STEPS if s.offers("migrations")]:
        url = f"sqlite:///{tmp_path / step.package}.db"
        result = make("migrate", f"STEP={step.number}", env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        engine = create_engine(url)
        assert {"users", "posts", "tasks", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
        engine.dispose()
