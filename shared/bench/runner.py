"""What the benchmark measures, and in which order: the orchestration of a run.

The ceiling is served for the whole run; then every persistent step is
measured on its endpoints, then the experiments run; the ceiling is measured
before, between and after, and the results are gathered for the report.
"""

from __future__ import annotations

import statistics
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

from shared.bench import cores, targets, wrk
from shared.bench.endpoints import CEILING, ENDPOINTS, Data
from shared.bench.experiments import (
    LOAD_EXPERIMENTS,
    batch_experiment,
    experiment_step,
    gc_experiment,
    hops_experiment,
    loading_experiment,
    profile_experiment,
    write_and_pool_experiments,
)
from shared.bench.lab import Lab
from shared.bench.measure import line, numbers
from shared.bench.production import limiter_experiment, production_step, workers_experiment
from shared.bench.sync_async import sync_async_experiment, sync_async_steps
from shared.catalog import Step


class Benchmark(Lab):
    def run(self) -> dict[str, Any]:
        with ExitStack() as stack:
            stack.enter_context(cores.kept_on(self.placement.load))
            ceiling = self.ceiling_server()
            self.start_all(stack, [ceiling])
            self.warm_up(ceiling, CEILING, Data(), self.settings.warmup)
            self.ceiling = ceiling
            try:
                return self._run()
            finally:
                self.ceiling = None

    def _run(self) -> dict[str, Any]:
        auth_costs = None
        if any(step.offers("auth") for step in self.steps):
            from shared.bench.auth import costs

            auth_costs = costs(self.settings.hash_samples)
            self.log(f"auth: {auth_costs}")
        ceiling_before = self.measure_ceiling()
        self.log(f"ceiling  GET /  {numbers(ceiling_before)}")
        endpoints = [row for step in self.steps for row in self.run_step(step)]
        ceiling_between = self.measure_ceiling()
        self.log(f"ceiling  GET /  {numbers(ceiling_between)}")
        experiments = self._experiments()
        limiter = self._production(experiments)
        ceiling_after = self.measure_ceiling()
        self.log(f"ceiling  GET /  {numbers(ceiling_after)}")
        ceilings = (ceiling_before, ceiling_between, ceiling_after)
        ceiling_rps = statistics.median(c["requests_per_s"] for c in ceilings)
        ceiling_cpu = statistics.median(c["server_cpu_us"] for c in ceilings)
        measured = (*LOAD_EXPERIMENTS, "workers", "limiter")
        for row in [*endpoints, *(row for name in measured for row in experiments[name])]:
            row["ceiling_ratio"] = round(row["requests_per_s"] / ceiling_rps, 3)
        return {
            "settings": asdict(self.settings),
            "generator": self.generator_name(),
            "placement": self.placement.describe(),
            "ceiling": {
                "before": ceiling_before,
                "between": ceiling_between,
                "after": ceiling_after,
                "requests_per_s": ceiling_rps,
                "server_cpu_us": round(ceiling_cpu),
            },
            "endpoints": endpoints,
            "auth": auth_costs,
            "limiter": limiter,
            "experiments": experiments,
            "skipped": self.skipped,
        }

    def _experiments(self) -> dict[str, Any]:
        experiments: dict[str, Any] = {name: [] for name in (*LOAD_EXPERIMENTS, "batch")}
        experiments["hops"] = hops_experiment(self)
        if not self.settings.experiments:
            self.skipped["the A/B experiments"] = (
                "asked for with --experiments (make bench BENCH_ARGS=--experiments)"
            )
            return experiments
        step = experiment_step(self.steps)
        if step is None:
            self.skipped["experiments"] = "no step without async among those measured"
        else:
            with_posts = step if step.offers("posts") else None
            experiments |= write_and_pool_experiments(self, step)
            experiments |= {
                "batch": batch_experiment(self, step),
                "gc": gc_experiment(self, step),
                "loading": loading_experiment(self, with_posts) if with_posts else [],
                "profile": profile_experiment(self, step),
            }
        pair = sync_async_steps(self.settings, self.steps)
        if pair is not None:
            experiments["async"] = sync_async_experiment(self, *pair)
        return experiments

    def generator_name(self) -> str:
        if self.settings.generator == "wrk":
            return f"wrk ({wrk.version()}, one thread)"
        return targets.PYTHON_DRIVER

    def _production(self, experiments: dict[str, Any]) -> dict[str, Any]:
        """Step 8's rows on PostgreSQL (workers, limiter); what else the limiter's figures need."""
        step = production_step(self.steps)
        if step is None:
            experiments |= {"workers": [], "limiter": []}
            return {}
        experiments["workers"] = workers_experiment(self, step)
        limiter = limiter_experiment(self, step)
        experiments["limiter"] = limiter.pop("rows")
        return limiter

    # -- the runs ---------------------------------------------------------------

    def run_step(self, step: Step) -> list[dict[str, Any]]:
        url, data = self.fresh_database(step, self.full, step.package)
        rows = []
        with ExitStack() as stack:
            server = self.step_server(step, url)
            self.start_all(stack, [server])
            if step.offers("auth"):
                data = self.log_in(server, data.user_ids)
            for endpoint in ENDPOINTS:
                if not step.offers(endpoint.feature):
                    continue
                result = {"step": step.number, "endpoint": endpoint.name}
                result |= self.measure(server, endpoint, data, step)
                self.log(line(result))
                rows.append(result)
        return rows
