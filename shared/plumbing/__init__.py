"""Plumbing, not lessons: what every step's app needs but no step teaches.

A step's `main.py` calls `harden(app)` once, right after `app = FastAPI(...)`:

- `/docs` and `/redoc` serve Swagger UI and ReDoc with assets from the app
  itself, never a CDN (offline_docs.py);
- a body over 1 MiB is refused with 413 before it is read (body_limit.py);
- a 422 stays a 422 when the invalid input cannot be echoed as JSON, such as
  `NaN` or half a surrogate pair (errors.py);
- every route that takes a body declares in the OpenAPI the two answers it can
  get before the endpoint runs: FastAPI's 400 for a body that cannot be
  decoded, and the limit's 413;
- Python's garbage collector runs ten times less often, which saves a sixth
  of a read's CPU in a server (collector.py; this one sets the whole process).

The app is created with `docs_url=None, redoc_url=None`: the offline pages
take those paths. The routes may be added before or after the call.
"""

from fastapi import FastAPI
from pydantic import BaseModel

from .body_limit import DEFAULT_MAX_BYTES, BodySizeLimit
from .collector import collect_garbage_less_often
from .errors import keep_validation_errors_json
from .offline_docs import serve_docs_offline

__all__ = ["harden"]


class Message(BaseModel):
    """An error's body: FastAPI's `{"detail": ...}`."""

    detail: str


# The component the declarations refer to: the app's own `Message`, when it has
# one (every step does), else this one.
MESSAGE_REF = {"$ref": "#/components/schemas/Message"}
BODY_ERRORS = {
    400: "The body cannot be decoded",
    413: f"The body is over {DEFAULT_MAX_BYTES // 2**20} MiB",
}


def harden(app: FastAPI, *, max_bytes: int = DEFAULT_MAX_BYTES) -> FastAPI:
    """The plumbing of every step, in one call (see the module's docstring)."""
    serve_docs_offline(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    keep_validation_errors_json(app)
    declare_body_errors(app)
    collect_garbage_less_often()
    return app


def declare_body_errors(app: FastAPI) -> None:
    """Every operation with a body declares the 400 and 413 it can get, in the OpenAPI.

    Added to the document FastAPI makes (and caches), so that routes included
    after the call are declared too; an operation that declares these codes
    itself keeps its own.
    """
    make_openapi = app.openapi

    def openapi() -> dict:
        schema = make_openapi()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if "requestBody" not in operation:
                    continue
                for code, description in BODY_ERRORS.items():
                    operation["responses"].setdefault(
                        str(code),
                        {
                            "description": description,
                            "content": {"application/json": {"schema": MESSAGE_REF}},
                        },
                    )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("Message", Message.model_json_schema())
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
