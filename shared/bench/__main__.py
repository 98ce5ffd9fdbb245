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

from shared.bench import chart, report, targets
from shared.bench.runner import Benchmark
from shared.bench.settings import Settings
from shared.catalog import ROOT

DEFAULT_OUTPUT = ROOT / "docs" / "assets" / "benchmark"
# The same benchmark run on the code before the write queue (made once, with
# `--output` elsewhere and its results.json copied here): the page compares
# every run with it.
BASELINE = DEFAULT_OUTPUT / "baseline.json"


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
        "--hashing-requests",
        type=int,
        default=defaults.hashing_requests,
        help="per row of an endpoint that hashes a password (sign-up, login)",
    )
    parser.add_argument("--hashing-warmup", type=int, default=defaults.hashing_warmup)
    parser.add_argument(
        "--hash-samples", type=int, default=defaults.hash_samples, help="hashes timed in-process"
    )
    parser.add_argument(
        "--async-requests",
        type=int,
        default=defaults.async_requests,
        help="per row of the sync-vs-async A/B",
    )
    parser.add_argument(
        "--async-concurrency",
        type=int,
        action="append",
        default=[],
        help=f"connections of the sync-vs-async A/B (repeatable; {defaults.async_concurrency})",
    )
    parser.add_argument(
        "--postgres",
        default=defaults.postgres_url,
        metavar="URL",
        help="server for the A/B's PostgreSQL rows ('' to leave them out)",
    )
    parser.add_argument(
        "--sync-async",
        type=int,
        nargs=2,
        default=(),
        metavar=("SYNC", "ASYNC"),
        help="the A/B's steps (default: from the catalog; 6 6 measures the method's noise)",
    )
    parser.add_argument(
        "--step", type=int, action="append", default=[], help="only this step (repeatable)"
    )
    parser.add_argument(
        "--experiments",
        action="store_true",
        help="the A/B experiments too (journal, writers, pool, loading, profile, commits, "
        "sync vs async): several minutes more",
    )
    parser.add_argument(
        "--generator",
        choices=("wrk", "python"),
        default=defaults.generator,
        help=f"the load generator (default here: {defaults.generator}; wrk when installed)",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the servers and the load generator share every core "
        "(by default each server has a core of its own: shared/bench/cores.py)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="folder")
    parser.add_argument(
        "--baseline", type=Path, default=BASELINE, help="results.json to compare with, if it exists"
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    defaults = Settings()
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
        hashing_requests=args.hashing_requests,
        hashing_warmup=args.hashing_warmup,
        hash_samples=args.hash_samples,
        async_requests=args.async_requests,
        async_concurrency=tuple(args.async_concurrency) or defaults.async_concurrency,
        postgres_url=args.postgres,
        sync_async_steps=tuple(args.sync_async),
        steps=tuple(args.step),
        generator=args.generator,
        experiments=args.experiments,
        pin=args.pin,
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
    baseline = json.loads(args.baseline.read_text()) if args.baseline.is_file() else None
    results["targets"] = targets.targets(results, baseline)

    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report.markdown(results, baseline)
    (args.output / "results.md").write_text(table)
    (args.output / "chart.svg").write_text(chart.svg_chart(results))
    print()
    print(table)
    print(f"Saved to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
