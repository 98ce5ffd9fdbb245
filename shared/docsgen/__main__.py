"""`python -m shared.docsgen [--out build/docs]`: write the generated parts of the docs."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from shared.catalog import ROOT, STEPS
from shared.docsgen import (
    checks,
    commands,
    contract,
    overview,
    reference,
    requests,
    sources,
)

DEFAULT_OUT = ROOT / "build" / "docs"


def generate(out: Path) -> list[Path]:
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
            pages[f"{step.package}/code.md"] = sources.code_page(step)
            pages[f"{step.package}/diff.md"] = sources.diff_page(step)
            pages[f"{step.package}/run.md"] = commands.run_page(step)
        pages["reference/api.md"] = reference.api_page()
    written = []
    for name, text in pages.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.docsgen", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    args = parser.parse_args(argv)
    written = generate(args.out.resolve())
    print(f"docsgen: wrote {len(written)} files into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
