"""`make bench`: how fast each persistent step is, as a user would feel it.

    python -m shared.bench            the full run (about 2 minutes on 2 cores)
    python -m shared.bench --help     smaller data sets, fewer requests, other output

Each step runs in its own uvicorn (one worker, no access log) on loopback,
seeded with a fixed data set, and is driven from this process with a fixed
number of requests at a fixed concurrency. The results go to
docs/assets/benchmark/ (JSON, a Markdown table and an SVG chart), which the
"How fast is it?" page shows.
"""

# The path at which the benchmark's wrapper app (served.py) reports how many
# SQL statements the step has sent; no step has this path.
STATEMENTS_PATH = "/_bench/statements"
