"""The catalog is the one list of steps: `make lists` writes the others, `make new-step`
makes step N+1 from step N."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from shared import catalog
from shared.catalog import ROOT
from tests.support import make

# What a copy of the repository needs to make a step: not its caches or builds.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "site", "build", "practice", "__pycache__", "*.db", "*.key", "node_modules"
)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=120
    )


def run_make(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A make command, as documented, in a copy of the repository (its .venv: ours)."""
    if not (root / ".venv").exists():
        (root / ".venv").symlink_to(ROOT / ".venv")
    return subprocess.run(
        make.command(*args),
        cwd=root,
        env=make.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_lists_of_steps_are_the_catalogs() -> None:
    """README.md's table and mkdocs.yml's nav: `make lists` would change nothing."""
    result = run(ROOT, "-m", "shared.lists", "--check")
    assert result.returncode == 0, result.stdout


def test_a_list_that_drifts_is_found(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace(f"`steps/{catalog.STEPS[0].package}`", "`x`"))
    result = run(root, "-m", "shared.lists", "--check")
    assert result.returncode == 1
    assert result.stdout.strip() == "not as the catalog says: README.md; run: make lists"
    assert run_make(root, "lists").returncode == 0
    assert run(root, "-m", "shared.lists", "--check").returncode == 0


def test_new_step_makes_the_next_step_from_the_newest(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    shutil.copytree(ROOT, root, ignore=NOT_COPIED)
    newest = catalog.latest()
    number = newest.number + 1
    package = f"step{number:02d}_demo"
    made = run_make(root, "new-step", "NAME=demo", "TITLE=A demo step")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Left for you:" in made.stdout

    folder = root / "steps" / package
    assert sorted(p.relative_to(folder) for p in folder.rglob("*.py")) == sorted(
        p.relative_to(newest.path)
        for p in newest.path.rglob("*.py")
        if "__pycache__" not in p.parts
    )
    for path in folder.rglob("*.py"):
        text = path.read_text()
        assert f"steps.{newest.package}" not in text, path
        assert "--8<--" not in text, path  # no page includes a section of it yet
    main = (folder / "main.py").read_text()
    assert f'"step": {number},' in main
    assert 'title="A demo step"' in main
    # The copy's catalog lists it, with the newest step's features.
    code = f"from shared import catalog; s = catalog.get({number}); print(s.package, s.title, "
    code += "*sorted(s.features), sep='|')"
    asked = run(root, "-c", code)
    assert (
        asked.stdout.split() == f"{package}|A demo step|{'|'.join(sorted(newest.features))}".split()
    )
    page = (root / "docs" / "steps" / f"{package}.md").read_text()
    for part in ("code", "diff", "run", "try"):
        assert f'--8<-- "{package}/{part}.md"' in page
    assert f"      - steps/{package}.md\n" in (root / "mkdocs.yml").read_text()
    assert (
        f"| {number} | [`steps/{package}`](steps/{package}) |" in (root / "README.md").read_text()
    )
    assert run(root, "-m", "shared.lists", "--check").returncode == 0
    # The catalog, the step and the rest stay lint-clean (make new-step formats them).
    lint = run_make(root, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_new_step_refuses_a_name_that_is_not_a_package_name() -> None:
    result = run(ROOT, "-m", "shared.scaffold", "Bad-Name", "Title")
    assert result.returncode == 2
    assert result.stdout.startswith("usage: make new-step")
