"""A 422, never a 500, for input that cannot be echoed back as JSON.

FastAPI's 422 body repeats the invalid input. Python's JSON parser accepts
`NaN` and half a UTF-16 surrogate pair (`"\\ud800"`), which the response's
strict JSON encoder then refuses, so such a request would end in a 500.
This is plumbing, not a lesson: a step calls `keep_validation_errors_json(app)`
once, and gets FastAPI's own 422 in every other case.
"""

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    try:
        return await request_validation_exception_handler(request, error)
    except ValueError:
        problems = [
            {key: value for key, value in problem.items() if key != "input"}
            for problem in error.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(problems)}, status_code=422)


def keep_validation_errors_json(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
