"""Input no API should accept: the malformed bodies and URLs the suite sends.

The contract's tests send them through the in-process client
(tests/lesson/test_hostile_input.py); the hardening's, over a real socket to
uvicorn (tests/full/test_body_limit.py). Whatever arrives, the answer is a
4xx with a `detail` in strict JSON.
"""

from __future__ import annotations

import json

import httpx2
from fastapi.testclient import TestClient

JSON = "application/json"


DEEPLY_NESTED = b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


HUGE_NUMBER = b'{"title": "ok", "completed": ' + b"9" * 10_000 + b"}"


# (what it is, body, content type): none of them is a task.
MALFORMED_TASK_BODIES = [
    ("truncated JSON", b'{"title": "Buy', JSON),
    ("JSON that is a number", b"42", JSON),
    ("JSON null", b"null", JSON),
    ("invalid UTF-8", b'{"title": "\xc3\x28"}', JSON),
    ("a lone surrogate in the title", b'{"title": "\\ud800"}', JSON),
    ("a lone surrogate in the description", b'{"title": "ok", "description": "\\udfff"}', JSON),
    ("a NUL byte", b'{"title": "a\\u0000b"}', JSON),
    ("nested 100,000 deep", DEEPLY_NESTED, JSON),
    ("a 10,000-digit number", HUGE_NUMBER, JSON),
    ("NaN for a boolean", b'{"title": "ok", "completed": NaN}', JSON),
    ("a title that is an object", b'{"title": {"$gt": ""}}', JSON),
    ("XML", b"<task><title>Buy milk</title></task>", "application/xml"),
    ("multipart form", b"--x\r\n\r\nBuy milk\r\n--x--\r\n", "multipart/form-data; boundary=x"),
    ("no content type", b'{"title": "Buy milk"}', None),
]


# Paths and queries no task list answers with a 2xx.
MALFORMED_TASK_URLS = [
    "/tasks/0",
    "/tasks/-1",
    f"/tasks/{2**63}",
    f"/tasks/{2**64}",
    "/tasks/" + "9" * 5000,
    "/tasks/1e3",
    "/tasks/%F0%9F%90%8D",
    "/tasks/%00",
    "/tasks?limit=0",
    "/tasks?limit=101",
    f"/tasks?limit={2**64}",
    "/tasks?skip=-1",
    "/tasks?skip=" + "9" * 5000,
    "/tasks?skip=NaN",
    "/tasks?limit=1%00",
]


def strict_json(text: str) -> object:
    """Parse JSON as the standard defines it: no NaN, no Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def assert_refused(response: httpx2.Response, case: str = "") -> None:
    """A 4xx with a `detail`, in strict JSON. `case`: what was sent, named when it is not."""
    sent = f"{case}: " if case else ""
    assert 400 <= response.status_code < 500, f"{sent}{response.status_code} {response.text}"
    assert strict_json(response.text)["detail"], f"{sent}{response.text}"


def post(client: TestClient | httpx2.Client, path: str, body: bytes, content_type: str | None):
    headers = {"content-type": content_type} if content_type else {}
    return client.post(path, content=body, headers=headers)
