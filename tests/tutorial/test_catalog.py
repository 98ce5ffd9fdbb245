"""The catalog, the step folders and the steps' own code agree."""

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared import catalog
from shared.catalog import ROOT, STEPS, STEPS_DIR, Step

STEP_FOLDER = re.compile(r"step(\d\d)_[a-z0-9_]+")
# What a step may take from shared/: plumbing that is not its lesson.
PLUMBING = {"shared.plumbing"}


def step_folders() -> list[str]:
    return sorted(
        p.name for p in STEPS_DIR.iterdir() if p.is_dir() and STEP_FOLDER.fullmatch(p.name)
    )


def test_every_step_folder_is_in_the_catalog_and_back() -> None:
    assert step_folders() == [step.package for step in STEPS]


def test_nothing_else_lives_in_steps() -> None:
    others = (
        {p.name for p in STEPS_DIR.iterdir()} - set(step_folders()) - {"__init__.py", "__pycache__"}
    )
    assert others == set()


def test_steps_are_numbered_one_by_one_like_their_folders() -> None:
    assert [step.number for step in STEPS] == list(range(1, len(STEPS) + 1))
    for step in STEPS:
        assert step.package.startswith(f"step{step.number:02d}_")


def test_each_step_offers_everything_the_step_before_it_did() -> None:
    for before, after in itertools.pairwise(STEPS):
        assert before.features <= after.features, after.package


def test_each_step_is_a_package_with_an_app() -> None:
    for step in STEPS:
        assert (step.path / "__init__.py").is_file()
        assert (step.path / "main.py").is_file()
        assert (step.path / "database.py").is_file() == step.offers("persistent")


def test_a_step_imports_no_other_step_and_only_plumbing_from_shared(step: Step) -> None:
    for path in step.path.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(("tests", "docs")), f"{path}: imports {name}"
                own = f"steps.{step.package}"
                if name.startswith("steps") and name != own and not name.startswith(own + "."):
                    pytest.fail(f"{path}: imports another step ({name})")
                if name.split(".")[0] == "shared":
                    assert name in PLUMBING, f"{path}: imports {name}, which is not plumbing"


def test_the_makefile_helper_names_packages() -> None:
    assert catalog.main(["package", "1"]) == 0
    assert catalog.main(["bogus"]) == 2
    with pytest.raises(LookupError):
        catalog.get(len(STEPS) + 1)
    assert catalog.previous(STEPS[0]) is None
    assert catalog.previous(catalog.latest()) == (STEPS[-2] if len(STEPS) > 1 else None)


def test_the_makefile_helper_says_which_steps_run_async_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make test STEP=N` has coverage follow greenlets only for these steps."""
    for step in STEPS:
        assert catalog.main(["offers", str(step.number), "async"]) == 0
        printed = capsys.readouterr().out.strip()
        assert printed == ("async" if step.offers("async") else ""), step.package


def test_an_app_judged_from_a_relative_folder_is_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make check STEP=5 APP=steps.step05_alembic.main:app APP_DIR=.`: the tests
    # also run commands (alembic, uvicorn) from other folders.
    monkeypatch.chdir(ROOT)
    step = catalog.get(5)
    judged = step.judging(step.app_ref, Path())  # APP_DIR=.
    monkeypatch.chdir(tmp_path)
    assert judged.path == step.path
    assert judged.alembic_ini.is_file()


def test_a_misspelt_feature_fails_collection(tmp_path: Path) -> None:
    """`requires("user")` would match no step: the test would silently never run."""
    module = tmp_path / "test_misspelt.py"
    module.write_text(
        'import pytest\n\n\n@pytest.mark.requires("user")\ndef test_x(step):\n    pass\n'
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0"]
    command += ["-p", "tests.conftest", f"--rootdir={ROOT}", f"-c={ROOT / 'pyproject.toml'}"]
    result = subprocess.run(
        [*command, str(module)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "no step offers ['user']" in result.stdout + result.stderr
