"""The ceiling: the cheapest endpoint FastAPI can serve on this machine.

Every result is also reported as a fraction of this app's requests per second
under the same load, which cancels out most of how fast the machine is. The
endpoint is a `def`, like the steps' endpoints, so that both pay for FastAPI's
thread pool and the difference is the step's own work.
"""

from fastapi import FastAPI

app = FastAPI(title="Constant")


@app.get("/")
def constant() -> dict[str, str]:
    return {"status": "ok"}
