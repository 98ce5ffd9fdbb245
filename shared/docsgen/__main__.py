"""`python -m shared.docsgen [--out build/docs] [--step N]`: write the docs' generated parts."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from shared.catalog import ROOT, STEPS, Step, get
from shared.docsgen import checks, commands, contract, overview, reference, sources

DEFAULT_OUT = ROOT / "build" / "docs"


def source_pages(step: Step) -> dict[str, str]:
    """The step's files as its page shows them: its code tabs and its diff."""
    return {
        f"{step.package}/code.md": sources.code_page(step),
        f"{step.package}/diff.md": sources.diff_page(step),
    }


def all_pages() -> dict[str, str]:
    # Imported here, not above: it imports FastAPI, SQLAlchemy and Alembic (most of
    # a second), which `--step` does not need.
    from shared.docsgen import requests

    pages: dict[str, str] = {
        "steps.md": overview.steps_table(),
        "steps-diagram.md": overview.steps_diagram(),
        "reference/make.md": reference.make_page(ROOT / "Makefile"),
        "exercises.md": commands.exercises_page(),
        "contract.md": contract.contract_page(),
        "checks.md": checks.checks_table(),
    }
    with tempfile.TemporaryDirectory(prefix="docs-examples-") as databases:
        for step in STEPS:
            answers = requests.capture(step, Path(databases))
            pages[f"{step.package}/try.md"] = requests.render(answers)
            pages |= source_pages(step)
            pages[f"{step.package}/run.md"] = commands.run_page(step)
        pages["reference/api.md"] = reference.api_page()
    return pages


def write(pages: dict[str, str], out: Path) -> list[Path]:
    written = []
    for name, text in pages.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def generate(out: Path) -> list[Path]:
    return write(all_pages(), out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.docsgen", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument(
        "--step",
        type=int,
        metavar="N",
        help="write only step N's code tabs and diff, without running every step for its "
        "responses (what the docs' tests write again after changing a line of a step)",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    written = write(source_pages(get(args.step)), out) if args.step else generate(out)
    print(f"docsgen: wrote {len(written)} files into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
