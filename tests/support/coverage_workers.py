"""Stop the second coverage measurement pytest-cov starts in each pytest-xdist worker.

pytest-cov (7.1) decides how to measure when its plugin loads, from the
command line: with `-n`, as xdist's controller. A worker is started with the
controller's options, `-n` included, so it too starts the controller's
measurement (tracing every line the worker runs, from its start-up and
collection on); at session start it then starts its own, the one that
reports. Coverage.py keeps a stack of measurements: the first is only paused
under the second, and resumes whenever the second stops, as it does for a
test marked `no_cover`. The first measurement is never saved: it only costs
time (in `make test STEP=3`, about 4 CPU-s of the workers' collection, and a
`no_cover` test traced as if it were not marked). This stops it, in workers
only, before collection.
"""

from __future__ import annotations

import pytest


def stop_the_controllers_measurement(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        return  # the controller, or a run without workers: its measurement is the real one
    plugin = config.pluginmanager.get_plugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or type(controller).__name__ != "DistMaster":
        return  # no --cov, or a pytest-cov that no longer does this
    controller.cov.stop()
