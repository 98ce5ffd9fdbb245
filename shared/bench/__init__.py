"""`make bench`: how fast each persistent step is, as a user would feel it.

    python -m shared.bench                the default run (about 3 minutes on 2 cores)
    python -m shared.bench --experiments  with every A/B experiment too
    python -m shared.bench --help         smaller data sets, fewer requests, other output

Each step runs in its own uvicorn (one worker, no access log) on loopback,
seeded with a fixed data set, and is driven from this process with a fixed
number of requests at a fixed concurrency, by wrk when it is installed (else
by the Python driver, driver.py). The results go to
docs/assets/benchmark/ (JSON, a Markdown table and an SVG chart), which the
"How fast is it?" page shows.
"""

# The path at which the benchmark's wrapper app (served.py) reports how many
# SQL statements the step has sent and how much CPU its process has used; no
# step has this path.
COUNTERS_PATH = "/_bench/counters"
# Where the wrapper answers its CPU profile (profile.py) since the last call,
# when it was started with BENCH_PROFILE=1.
PROFILE_PATH = "/_bench/profile"
# Where the wrapper closes the step's pooled connections (the sync-vs-async
# A/B empties one side's pool before the other side's round, so that the two
# servers never hold PostgreSQL connections at the same time).
DISPOSE_PATH = "/_bench/dispose"
