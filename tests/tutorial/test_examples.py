"""The docs' example requests (shared/examples.py), run through the suite's client.

The docs generator shows these requests with the responses it captured; here
the same data runs against every step and backend, so a page can never show
a status or a shape the code does not give.
"""

import pytest
from fastapi.testclient import TestClient

from shared import examples
from shared.catalog import STEPS, Step

# The docs' examples of the catalog's steps: left out when judging another app.
pytestmark = pytest.mark.internals


def test_every_step_has_examples() -> None:
    for step in STEPS:
        assert examples.for_step(step), f"step {step.number} has no examples to show"


def test_every_example_is_a_well_formed_request() -> None:
    for step in STEPS:
        for example in examples.for_step(step):
            assert example.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
            assert example.path.startswith("/")
            assert (example.expect is None) == (example.status == 204), example.title


def test_each_example_answers_as_the_docs_show(client: TestClient, step: Step) -> None:
    client.auth = None  # sent exactly as the docs show them
    for example in examples.for_step(step):
        response = client.request(example.method, example.path, json=example.body)
        assert response.status_code == example.status, (example.title, response.text)
        body = response.json() if response.content else None
        assert examples.conforms(body, example.expect), (example.title, body)


@pytest.mark.parametrize(
    ("actual", "expected", "verdict"),
    [
        ({"id": 1, "title": "a"}, {"id": int, "title": "a"}, True),
        ({"id": 1, "title": "a", "extra": 0}, {"id": int, "title": "a"}, False),
        ({"id": 1}, {"id": int, "title": "a"}, False),
        ({"id": True}, {"id": int}, False),
        ([{"id": 1}], [{"id": int}], True),
        ([{"id": 1}, {"id": 2}], [{"id": int}], False),
        ({"detail": []}, {"detail": list}, True),
        ({"detail": "x"}, {"detail": list}, False),
        (0, False, False),
        (None, None, True),
        ("x", None, False),
    ],
)
def test_conforms_checks_keys_types_and_values(actual, expected, verdict) -> None:
    assert examples.conforms(actual, expected) is verdict
