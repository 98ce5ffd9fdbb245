"""The suite's own check that no answer shows a secret.

It must catch a leak, and let a field name through.
"""

from __future__ import annotations

import pytest

from tests.support import auth
from tests.support.auth import PASSWORD


@pytest.mark.parametrize(
    ("body", "shows_a_secret"),
    [
        ({"id": 1, "username": "ada"}, False),
        ({"detail": [{"loc": ["body", "password"], "input": {"password": "**********"}}]}, False),
        ({"id": 1, "password_hash": "x"}, True),
        # A 422 echoing a key the client sent, named like a hash column: the client's own.
        ({"detail": [{"loc": ["body", "title"], "input": {"password_hash": {"x": 1}}}]}, False),
        ({"detail": [{"loc": ["body"], "input": {"password": "hunter22"}}]}, True),
        ({"id": 1, "password": "hunter22"}, True),
        ([{"note": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}], True),
        ({"detail": f"bad {PASSWORD}"}, True),
        ("plain text with the key " + auth.TEST_SECRET_KEY, True),
    ],
)
def test_the_suites_secret_check_tells_a_secret_from_a_field_name(
    body: object, shows_a_secret: bool
) -> None:
    # Every client of the suite runs this check on every answer (conftest.py,
    # test_fuzz.py): it must catch a leak, and let a masked 422 through.
    assert bool(auth.secrets_in(body)) == shows_a_secret


def test_in_an_app_without_passwords_an_echoed_password_key_is_the_clients_own() -> None:
    # Steps 1-5 have no passwords: a 422 that echoes a key the client named
    # "password" shows nothing of the app's. From step 6 on it must be masked.
    body = {"detail": [{"loc": ["body", "title"], "input": {"password": {"x": 1}}}]}
    assert auth.secrets_in(body, passwords=True)
    assert not auth.secrets_in(body, passwords=False)


def test_the_secret_check_reads_a_json_answer_as_json_and_any_other_as_text() -> None:
    # One reader for both clients of the suite: the contract client's hook and
    # the fuzzer's check.
    leaked = b'{"id": 1, "password": "hunter22"}'
    assert auth.secrets_in_answer("/users", "application/json", leaked)
    # As text, a key is only characters; a hash is found in any body.
    assert not auth.secrets_in_answer("/users", "text/plain", leaked)
    assert auth.secrets_in_answer("/users", "text/html", b"<p>$argon2id$v=19$m=1</p>")
    # A body that says JSON but is not is read as text.
    assert auth.secrets_in_answer("/users", "application/json", b"{$argon2id$")
    # The schema names the password field: it describes inputs and holds no data.
    assert not auth.secrets_in_answer("/openapi.json", "application/json", leaked)
