"""Run a step's example requests against its app and render them with the real responses."""

from __future__ import annotations

import importlib
import json
import os
import shlex
from http import HTTPStatus
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

from shared.catalog import Step
from shared.docsgen.markdown import fence, tabs
from shared.examples import Example, conforms, for_step

BASE_URL = "http://127.0.0.1:8000"


class ExampleFailed(Exception):
    """The app did not answer an example as shared/examples.py says it does."""


def capture(step: Step, database_dir: Path) -> list[tuple[Example, int, Any]]:
    """Send the step's examples to its app on an empty SQLite database."""
    url = f"sqlite:///{database_dir / step.package}.db"
    # Read at import time by the step's database module, as in a learner's shell.
    os.environ["DATABASE_URL"] = url
    # Step 6 on: the signing key of a throw-away app is throw-away too, and is
    # never written into the repository's .data/.
    os.environ["SECRET_KEY_FILE"] = str(database_dir / f"{step.package}.key")
    if step.offers("migrations"):
        # `alembic -c <ini> upgrade head`, in this process: a process of its own
        # per step would import Alembic, SQLAlchemy and the step again.
        command.upgrade(Config(str(step.alembic_ini)), "head")
    app = importlib.import_module(step.module).app
    answers = []
    with TestClient(app, base_url=BASE_URL) as client:
        for example in for_step(step):
            response = client.request(example.method, example.path, json=example.body)
            body = response.json() if response.content else None
            if response.status_code != example.status or not conforms(body, example.expect):
                raise ExampleFailed(
                    f"step {step.number}: {example.method} {example.path} answered "
                    f"{response.status_code} {response.text}; shared/examples.py expects "
                    f"{example.status} {example.expect!r}"
                )
            answers.append((example, response.status_code, body))
    return answers


def curl(example: Example) -> str:
    words = ["curl", "-i"] if example.method == "GET" else ["curl", "-i", "-X", example.method]
    lines = [" ".join([*words, BASE_URL + example.path])]
    if example.body is not None:
        lines += [
            "-H 'Content-Type: application/json'",
            "-d " + shlex.quote(json.dumps(example.body)),
        ]
    return " \\\n  ".join(lines)


def httpie(example: Example) -> str:
    words = ["http", example.method, "127.0.0.1:8000" + example.path]
    for field, value in (example.body or {}).items():
        if isinstance(value, str):
            words.append(shlex.quote(f"{field}={value}"))
        else:
            words.append(shlex.quote(f"{field}:={json.dumps(value)}"))
    return " ".join(words)


def python_literal(value: Any) -> str:
    """A JSON value written as Python source, with double quotes as ruff formats it."""
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)}: {python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(python_literal, value)) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def httpx_code(example: Example) -> str:
    call = f'httpx.{example.method.lower()}("{BASE_URL}{example.path}"'
    if example.body is not None:
        call += f", json={python_literal(example.body)}"
    shown = "response.status_code, response.json()" if example.expect else "response.status_code"
    return f"import httpx\n\nresponse = {call})\nprint({shown})\n"


def render(answers: list[tuple[Example, int, Any]]) -> str:
    parts = []
    for number, (example, status, body) in enumerate(answers, start=1):
        request = tabs(
            [
                ("curl", fence(curl(example), "bash")),
                ("HTTPie", fence(httpie(example), "bash")),
                ("Python (httpx)", fence(httpx_code(example), "python")),
            ]
        )
        answer = f"{status} {HTTPStatus(status).phrase}"
        shown = json.dumps(body, indent=2, ensure_ascii=False) if body is not None else ""
        response = fence(shown or "(no body)", f'{{ .json .example-response title="{answer}" }}')
        parts.append(f"**{number}. {example.title}**\n\n{request}\n{response}")
    return (
        "Run these in order against a fresh server: each response below is the one "
        "the app gave when this page was built.\n\n" + "\n".join(parts)
    )
