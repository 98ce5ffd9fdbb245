"""Refuse request bodies over a size limit with 413, without reading them.

Uvicorn does not cap the size of a request body, so by default a client can
make the app buffer gigabytes. This pure ASGI middleware answers 413 straight
away when `Content-Length` is too large, and stops a streamed (chunked) body
as soon as it grows past the limit, always with a JSON `{"detail": ...}` like
every other error of the API. (FastAPI 0.165 added `max_body_size=`, but it
answers an oversized `Content-Length` with a text/plain body.) It is plumbing, not a
lesson: a step adds it in one line, `app.add_middleware(BodySizeLimit)`.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BYTES = 1024 * 1024


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    @property
    def detail(self) -> str:
        return f"Request body is larger than {self.max_bytes} bytes"

    def _too_large(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail}, status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large()(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException, so that FastAPI's own handler answers it
                    # (FastAPI turns other errors while reading a body into a 400).
                    raise HTTPException(status_code=413, detail=self.detail)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as error:
            if error.status_code != 413 or response_started:
                raise
            await self._too_large()(scope, receive, send)
