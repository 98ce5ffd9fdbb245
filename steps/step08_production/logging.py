"""Logs: a request id on every line, one access line per request, JSON for machines.

The standard `logging` module, configured once at start-up: uvicorn's own
lines, the app's and its libraries' all go through the same handler and
format. Each request gets an id (the client's X-Request-ID when it sent a
well-formed one, else a new one), sent back in the response's X-Request-ID
and written on every line logged while the request is served, so that one
request's lines can be found among thousands, across workers.

What is logged: method, path (never the query string), status, duration,
the request id. What is never logged: bodies, headers, tokens, passwords.
"""

import json
import logging
import logging.config
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The id of the request being served. Each request runs in a task of its own,
# with its own copy of the context: setting it here never leaks into another.
request_id: ContextVar[str] = ContextVar("request_id", default="-")

# Letters, digits and - _ . : only, 128 at most: an id from a proxy or a client
# (a UUID, a trace id) is kept; anything else, which could forge or break a
# log line, is replaced.
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdFilter(logging.Filter):
    """Writes the current request's id on every record (a handler's filter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# The fields of a record that say what happened; the others are logging's own.
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors read without a parser of their own."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "pid": record.process,  # which worker wrote it
        }
        line |= {name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


# The app's own loggers: this package's modules (logging.getLogger(__name__)).
APP = __name__.rpartition(".")[0]


def configure_logging(log_format: str, level: str) -> None:
    """Every logger, uvicorn's included, through one handler to stderr."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": RequestIdFilter}},
            "formatters": {
                "json": {"()": JsonFormatter},
                "console": {
                    "format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"
                },
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": log_format,
                    "filters": ["request_id"],
                }
            },
            # Libraries say only what goes wrong: at DEBUG, some (aiosqlite,
            # SQLAlchemy) log each query with its parameters, password hashes
            # included. LOG_LEVEL is for the app's own lines and uvicorn's.
            "root": {"handlers": ["stderr"], "level": "WARNING"},
            "loggers": {
                APP: {"level": level},
                "access": {"level": level},
                # uvicorn's lines go to the root's handler, in the same format.
                "uvicorn": {"handlers": [], "level": level, "propagate": True},
                "uvicorn.error": {"level": level},
                # This module writes the access lines, with the request id:
                # uvicorn's own (no id) are turned off.
                "uvicorn.access": {"handlers": [], "propagate": False},
            },
        }
    )


# --8<-- [start:middleware]
access_logger = logging.getLogger("access")


class RequestLogging:
    """An ASGI middleware: the request id, in and out, and the access line.

    Plain ASGI rather than `@app.middleware("http")`: it wraps every answer,
    the body limit's 413 included, and never buffers a body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        this_id = given if WELL_FORMED_ID.fullmatch(given) else uuid.uuid4().hex
        request_id.set(this_id)
        start = time.perf_counter()
        status = 500  # unless the app answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = this_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - start) * 1000, 1)
            access_logger.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )


# --8<-- [end:middleware]
