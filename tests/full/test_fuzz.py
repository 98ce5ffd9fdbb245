"""Schema-driven fuzzing of every step with schemathesis.

Schemathesis reads the step's own `/openapi.json` and sends what the schema
allows (positive cases) and what it forbids (negative cases), then checks
every response: no 5xx, a status code the route declares, a body that matches
the declared schema, invalid input refused, valid input accepted. The
stateful test chains calls through the links it infers from the schema
(create a task, then read, replace and delete it with the id it got back).

Bounded and deterministic: a fixed number of examples (BUDGETS below),
derandomized, no example database written to the repository.

The operations are driven one by one with `APIOperation.as_strategy()`:
`schemathesis.pytest.from_fixture` would be the shorter path, but it writes
pytest's private `Node._nodeid`, which pytest 9.2 no longer has.
"""

import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.specs.openapi.schemas import OpenApiSchema

from shared.catalog import ROOT, Step
from tests.support import auth

# no_cover: the coverage gate (100 % of steps/) is met by the deterministic
# tests alone, so it never depends on what a random draw happened to reach; and
# under the coverage tracer, generating examples costs 2.5 times the CPU.
pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.requires("tasks"),
    pytest.mark.no_cover,
    pytest.mark.taught("why-it-is-built-this-way"),
]


@dataclass(frozen=True)
class Budget:
    """How many examples each operation gets, and how many stateful scenarios."""

    with_body: int  # POST, PUT, PATCH: where fuzzing has found bugs so far
    without_body: int  # GET, DELETE: path and query parameters only
    scenarios: int
    # Shrinking turns a failure into the smallest request that fails, which
    # can take minutes: worth it to a developer, not to `make check`, which
    # only says that the rule fails.
    shrink: bool = True


# `make test` spends its budget where fuzzing has found bugs (request bodies:
# an undeclared 400 for a body that is not UTF-8, NaN and lone surrogates that
# FastAPI could not echo back; tests/support/hostile.py sends those on every
# run) and keeps the suite fast: a sample of each operation and of the linked
# calls, on every step. The strength is CI's, which runs the whole suite at the
# full budget: FUZZ_BUDGET=full .venv/bin/python -m pytest tests/full/test_fuzz.py -m fuzz
BUDGETS = {
    "quick": Budget(with_body=15, without_body=5, scenarios=5),
    "full": Budget(with_body=100, without_body=100, scenarios=25),
    "judge": Budget(with_body=30, without_body=10, scenarios=10, shrink=False),
}
BUDGET = BUDGETS[os.environ.get("FUZZ_BUDGET", "quick")]
CALLS_PER_SCENARIO = 10
# The collections a step offers, per catalog feature; emptied between
# stateful scenarios. Deleting a user deletes its posts.
COLLECTIONS = {"tasks": "/tasks", "users": "/users"}

# "format: email" allows any RFC 5322 address, but EmailStr (email-validator)
# also refuses special-use domains such as `.test`, which schemathesis likes
# to draw: valid requests would be refused. Draw addresses EmailStr accepts.
schemathesis.openapi.format(
    "email", st.from_regex(r"\A[A-Za-z0-9_+-]{1,30}@[a-z][a-z0-9]{0,19}\.(com|org|net)\Z")
)

FUZZ_SETTINGS = settings(
    derandomize=True,  # the same examples on every run and every machine
    database=None,  # no .hypothesis/ folder in the repository
    deadline=None,  # timing depends on the machine, correctness does not
    # Negative cases are drawn by filtering, and an operation without
    # parameters has few distinct cases: neither is a problem here.
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    phases=[phase for phase in Phase if BUDGET.shrink or phase is not Phase.shrink],
)


# Hypothesis keeps its files in ./.hypothesis; keep them in the git-ignored
# build/ folder instead, from one run to the next: besides examples (not kept
# here, database=None) it caches the Unicode tables it draws text from, which
# cost every worker seconds of CPU to compute again.
HYPOTHESIS_HOME = ROOT / "build" / "hypothesis"


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home() -> Iterator[None]:
    set_hypothesis_home_dir(HYPOTHESIS_HOME)
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(autouse=True)
def no_running_client_outlives_the_pause(worker_clients: dict[int, TestClient]) -> Iterator[None]:
    """After each test here, the worker's running clients end; the next test starts new ones.

    pytest-cov pauses coverage for a `no_cover` test by stopping the
    measurement and starting it again: from then on, coverage.py no longer
    traces the threads that were running before. A client kept running for
    the session (tests/conftest.py, `worker_clients`) keeps its event loop's
    thread and its worker threads: every line the app ran in them after a
    fuzz test went unmeasured, and `make test` missed the coverage gate or not
    depending on which tests a worker had run before (crud.py's lost race).
    """
    yield
    for running in worker_clients.values():
        running.__exit__(None, None, None)
    worker_clients.clear()


@pytest.fixture
def api_schema(app: FastAPI) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def any_case(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Valid and invalid requests alike, as schemathesis' own runner draws them."""
    return st.one_of([operation.as_strategy(mode) for mode in schemathesis.GenerationMode])


@pytest.fixture
def callers(client: TestClient, step: Step) -> list[tuple[str, dict[str, str]]]:
    """Who sends the fuzzed requests: anyone; from step 6 on, also a member with a real token."""
    if not step.offers("auth"):
        return [("anyone", {})]
    auth.sign_up(client, "fuzzer")
    return [("anonymous", {}), ("a logged-in member", auth.login_headers(client, "fuzzer"))]


def secrets_check(passwords: bool) -> schemathesis.CheckFunction:
    """No password, hash or key in any answer (the suite's other clients check the same).

    `passwords`: the app has passwords (see auth.secrets_in).
    """

    def no_secrets(ctx: schemathesis.CheckContext, response, case: schemathesis.Case) -> bool:
        content_type = ", ".join(response.headers.get("content-type", []))
        found = auth.secrets_in_answer(
            case.operation.path, content_type, response.content, passwords=passwords
        )
        assert not found, f"the answer shows {found}"
        return True

    return no_secrets


def reads_a_token(api_schema: OpenApiSchema, operation: schemathesis.APIOperation) -> bool:
    """The operation declares a security scheme: who calls it can change what it does.

    Only the steps' security dependencies read the Authorization header, and
    FastAPI declares each of them in the operation's `security`: an operation
    without one answers a member exactly as it answers anyone.
    """
    return bool(operation.definition.raw.get("security", api_schema.raw_schema.get("security")))


def test_every_operation_keeps_its_contract(
    api_schema: OpenApiSchema,
    callers: list[tuple[str, dict[str, str]]],
    subtests: pytest.Subtests,
    step: Step,
) -> None:
    no_secrets = secrets_check(passwords=step.offers("auth"))
    for result in api_schema.get_all_operations():
        operation = result.ok()
        cases = any_case(operation)  # built once, drawn from for every caller
        # The member's token would go unread where no security is declared:
        # the same requests again, for the same answers.
        fuzzed_as = callers if reads_a_token(api_schema, operation) else callers[:1]
        for caller, headers in fuzzed_as:
            with subtests.test(f"{operation.label}, as {caller}"):
                fuzz(operation, cases, headers, no_secrets)


def fuzz(
    operation: schemathesis.APIOperation,
    cases: st.SearchStrategy[schemathesis.Case],
    headers: dict[str, str],
    no_secrets: schemathesis.CheckFunction,
) -> None:
    """Send `operation` its budget of requests drawn from `cases`, with `headers`; check them."""

    @given(case=cases)
    @settings(
        FUZZ_SETTINGS,
        max_examples=BUDGET.with_body if operation.body else BUDGET.without_body,
    )
    def keeps_its_contract(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, additional_checks=[no_secrets])

    keeps_its_contract()


def empty_collections(client: TestClient, step: Step) -> None:
    for feature, collection in COLLECTIONS.items():
        if not step.offers(feature):
            continue
        for item in client.get(collection, params={"limit": 100}).json():
            client.delete(f"{collection}/{item['id']}")
        assert client.get(collection).json() == [], f"{collection} is not empty"


def test_linked_calls_keep_the_contract(
    api_schema: OpenApiSchema, client: TestClient, step: Step
) -> None:
    class Workflow(api_schema.as_state_machine()):
        def setup(self) -> None:
            # Each scenario starts from an empty API, so that what it draws
            # does not depend on what the scenarios before it left behind.
            empty_collections(client, step)

    Workflow.run(
        settings=settings(
            FUZZ_SETTINGS, max_examples=BUDGET.scenarios, stateful_step_count=CALLS_PER_SCENARIO
        )
    )


def test_the_fuzzing_runs_untraced() -> None:
    """`no_cover` pauses coverage here, in this thread and in the threads it starts.

    Under `make test` (pytest-xdist workers, coverage on) this failed while
    pytest-cov's second measurement in each worker took over whenever the real
    one paused: see tests/support/coverage_workers.py.
    """
    assert sys.gettrace() is None
    assert threading.gettrace() is None
