"""Schema-driven fuzzing of every step with schemathesis (issue 6, part 1).

Schemathesis reads the step's own `/openapi.json` and sends what the schema
allows (positive cases) and what it forbids (negative cases), then checks
every response: no 5xx, a status code the route declares, a body that matches
the declared schema, invalid input refused, valid input accepted. The
stateful test chains calls through the links it infers from the schema
(create a task, then read, replace and delete it with the id it got back).

Bounded and deterministic: a fixed number of examples, derandomized, no
example database written to the repository.

The operations are driven one by one with `APIOperation.as_strategy()`:
`schemathesis.pytest.from_fixture` would be the shorter path, but it writes
pytest's private `Node._nodeid`, which pytest 9.2 no longer has.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.specs.openapi.schemas import OpenApiSchema

from shared.catalog import Step

pytestmark = [pytest.mark.fuzz, pytest.mark.requires("tasks")]

EXAMPLES_PER_OPERATION = 100
SCENARIOS = 25
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
)


@pytest.fixture(scope="module", autouse=True)
def hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis caches what it learns in ./.hypothesis: keep that out of the repository."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture
def api_schema(app: FastAPI) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def any_case(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Valid and invalid requests alike, as schemathesis' own runner draws them."""
    return st.one_of([operation.as_strategy(mode) for mode in schemathesis.GenerationMode])


def test_every_operation_keeps_its_contract(
    api_schema: OpenApiSchema, subtests: pytest.Subtests
) -> None:
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=any_case(operation))
        @settings(FUZZ_SETTINGS, max_examples=EXAMPLES_PER_OPERATION)
        def keeps_its_contract(case: schemathesis.Case) -> None:
            case.call_and_validate()

        with subtests.test(operation.label):
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
            FUZZ_SETTINGS, max_examples=SCENARIOS, stateful_step_count=CALLS_PER_SCENARIO
        )
    )
