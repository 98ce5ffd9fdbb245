"""The last request a test's client sent, and what came back: what a failed rule shows.

The suite's clients record every exchange here (tests/conftest.py); when a
rule fails, `make check` prints the last one beside what the rule expected
(tests/support/judge.py), so a learner sees which request failed and how.
"""

from __future__ import annotations

import contextlib
import json

import httpx2
import pytest

LAST = pytest.StashKey[str]()
# A body shown in a reason is cut to this many characters.
SHOWN = 200
# A longer body (or one nested deeper than Python parses) is shown as text, not parsed.
PARSED = 10_000


def shown(content: bytes, content_type: str) -> str:
    """A body as one short line: compact JSON, or its text, cut to SHOWN characters."""
    text = content[:PARSED].decode(errors="replace")
    if "json" in content_type and len(content) <= PARSED:
        with contextlib.suppress(ValueError, RecursionError):
            text = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def describe_request(request: httpx2.Request) -> str:
    target = request.url.raw_path.decode(errors="replace")
    line = f"{request.method} {target}"
    try:
        content = request.content
    except httpx2.RequestNotRead:  # a streamed body
        return f"{line} (a streamed body)"
    if content:
        line += f" {shown(content, request.headers.get('content-type', ''))}"
    return line


def recorder(item: pytest.Item) -> dict[str, list]:
    """Event hooks for an httpx client that note each exchange on `item`."""

    def sent(request: httpx2.Request) -> None:
        item.stash[LAST] = describe_request(request)  # no answer yet: the app may raise

    def answered(response: httpx2.Response) -> None:
        response.read()
        body = shown(response.content, response.headers.get("content-type", ""))
        answer = f"{response.status_code} {body}".rstrip()
        item.stash[LAST] = f"{describe_request(response.request)}\n  -> {answer}"

    return {"request": [sent], "response": [answered]}


def last(item: pytest.Item) -> str | None:
    return item.stash.get(LAST, None)
