"""`python -m shared.bench`: run the benchmark, print the table, save the results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from shared.bench import report
from shared.bench.runner import Benchmark, Settings
from shared.catalog import ROOT

DEFAULT_OUTPUT = ROOT / "docs" / "assets" / "benchmark"


def parse_args(argv: list[str]) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m shared.bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=defaults.requests, help="per row")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--warmup", type=int, default=defaults.warmup, help="requests per row")
    parser.add_argument("--tasks", type=int, default=defaults.tasks)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--posts-per-user", type=int, default=defaults.posts_per_user)
    parser.add_argument("--loading-users", type=int, default=defaults.loading_users)
    parser.add_argument(
        "--loading-posts-per-user", type=int, default=defaults.loading_posts_per_user
    )
    parser.add_argument("--batch-rows", type=int, default=defaults.batch_rows)
    parser.add_argument(
        "--step", type=int, action="append", default=[], help="only this step (repeatable)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        tasks=args.tasks,
        users=args.users,
        posts_per_user=args.posts_per_user,
        loading_users=args.loading_users,
        loading_posts_per_user=args.loading_posts_per_user,
        batch_rows=args.batch_rows,
        steps=tuple(args.step),
    )


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        benchmark = Benchmark(
            settings_from(args), Path(workdir), log=lambda line: print(line, flush=True)
        )
        results = benchmark.run()
    results["meta"] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    results["targets"] = report.targets(results)

    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results)
    (args.output / "results.md").write_text(table)
    (args.output / "chart.svg").write_text(report.svg_chart(results))
    print()
    print(table)
    print(f"Saved to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
