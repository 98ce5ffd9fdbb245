"""Who is asking (authentication): passwords, the signing key, tokens, the current user.

What a user may then do is decided in permissions.py (authorization).
"""

import os
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordBearer
from pwdlib import PasswordHash
from pydantic import BaseModel, Field, Secret, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from . import crud
from .database import SessionDep
from .dependencies import MAX_ID
from .models import Role, User
from .schemas import Message
from .settings import MAKE_A_KEY, MIN_KEY_LENGTH, settings

# --8<-- [start:passwords]
# Argon2id with pwdlib's recommended parameters (64 MiB of memory, 3 passes):
# slow and memory-hungry on purpose, so that every guess at a stolen hash
# costs an attacker what one login costs us.
password_hash = PasswordHash.recommended()


# Each hash is ~100 ms of CPU with no await in it. On the event loop it would
# stop every other request for that long, so it runs in a worker thread
# (Argon2 releases the GIL: several hashes use several cores meanwhile).
async def hash_password(password: Secret[str]) -> str:
    return await run_in_threadpool(password_hash.hash, password.get_secret_value())


async def verify_password(password: Secret[str], hashed: str) -> bool:
    return await run_in_threadpool(password_hash.verify, password.get_secret_value(), hashed)


@cache
def dummy_hash() -> str:
    """A hash of nobody's password, made at the first login (not at import)."""
    return password_hash.hash(secrets.token_urlsafe(16))


def verify_against_dummy_hash(password: str) -> bool:
    return password_hash.verify(password, dummy_hash())


async def authenticate(db: AsyncSession, username: str, password: str) -> User | None:
    """The user with this username and password, or None; as slow either way."""
    # No username holds a NUL (schemas.Text), and PostgreSQL cannot compare one.
    user = await crud.get_user_by_username(db, username) if "\x00" not in username else None
    if user is None or user.password_hash is None:
        # Hash anyway: answering an unknown username at once, without the
        # ~100 ms of a hash, would tell anyone timing it who has an account.
        await run_in_threadpool(verify_against_dummy_hash, password)
        return None
    valid, updated_hash = await run_in_threadpool(
        password_hash.verify_and_update, password, user.password_hash
    )
    if not valid:
        return None
    if updated_hash is not None:
        # Made with older, weaker parameters: now that we hold the password,
        # store a hash made with today's.
        await crud.set_password_hash(db, user, updated_hash)
    return user


# --8<-- [end:passwords]


ALGORITHM = "HS256"


class WeakKeyError(RuntimeError):
    """The signing key is too short to be safe."""


@cache
def secret_key() -> str:
    """The key that signs and checks tokens: SECRET_KEY, or the key file's."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()  # checked by the settings
    key = read_or_create_key(settings.secret_key_file)
    if len(key) < MIN_KEY_LENGTH:
        raise WeakKeyError(
            f"The key in {settings.secret_key_file} must be at least {MIN_KEY_LENGTH} "
            f"characters; make one with: {MAKE_A_KEY}"
        )
    return key


def read_or_create_key(path: Path) -> str:
    if not path.exists():
        create_key_file(path)
    return path.read_text().strip()


def create_key_file(path: Path) -> None:
    """Write a new random key at `path`, unless another process is first.

    The key is written in full to a file of its own, readable by its owner
    only from the start, then linked to `path`. A link never replaces a file:
    when two workers start at once, one link succeeds and the other fails,
    so both read the same key, and none can read a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made the key first: use that one
    finally:
        draft.unlink()


def create_access_token(user: User) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),  # JWT wants the subject as a string
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_expire_minutes),
    }
    return jwt.encode(claims, secret_key(), algorithm=ALGORITHM)


class TokenClaims(BaseModel):
    """What the app reads in a token it signed: the user id."""

    sub: Annotated[int, Field(gt=0, le=MAX_ID)]


def user_id_in(token: str) -> int | None:
    """The user id a valid token names; None for any other token."""
    try:
        # algorithms=[...]: only HS256 is accepted, never the token's own
        # choice ("alg": "none" would need no signature at all).
        claims = jwt.decode(
            token, secret_key(), algorithms=[ALGORITHM], options={"require": ["sub", "iat", "exp"]}
        )
        return TokenClaims.model_validate(claims).sub
    except (jwt.InvalidTokenError, ValidationError):
        return None


# Reads "Authorization: Bearer <token>". tokenUrl tells Swagger UI's
# "Authorize" button where to log in (relative, like the app's own paths).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token")
# The same, but a request without a token gets None instead of a 401.
optional_oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)

BEARER = {"WWW-Authenticate": "Bearer"}  # RFC 6750: say which kind of token is wanted
UNAUTHORIZED = {
    status.HTTP_401_UNAUTHORIZED: {
        "model": Message,
        "description": "No token, or not a valid one: log in at /auth/token",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    }
}


async def user_of_token(db: AsyncSession, token: str) -> User:
    """The user a token names; 401 if it is not valid or that user is gone."""
    user_id = user_id_in(token)
    user = await crud.get_user(db, user_id) if user_id is not None else None
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Could not validate credentials",
            headers=BEARER,
        )
    return user


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], db: SessionDep) -> User:
    return await user_of_token(db, token)


async def get_current_user_if_any(
    token: Annotated[str | None, Depends(optional_oauth2_scheme)], db: SessionDep
) -> User | None:
    return None if token is None else await user_of_token(db, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
CurrentUserIfAny = Annotated[User | None, Depends(get_current_user_if_any)]


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.ADMIN


PASSWORD_FIELDS = frozenset({"password", "current_password"})
HIDDEN = "**********"


def hide_passwords(value: Any) -> Any:
    """`value` with the value of every password field in it hidden, however deep."""
    if isinstance(value, dict):
        return {
            key: HIDDEN if key in PASSWORD_FIELDS else hide_passwords(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [hide_passwords(item) for item in value]
    return value


def hide_passwords_in_validation_errors(app: FastAPI) -> None:
    """FastAPI's 422 repeats the input it refused: leave any password out of it."""
    show = app.exception_handlers[RequestValidationError]

    async def without_passwords(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = [
            {**problem, "input": HIDDEN}
            if problem["loc"][-1] in PASSWORD_FIELDS
            else hide_passwords(problem)
            for problem in error.errors()
        ]
        return await show(request, RequestValidationError(problems))

    app.add_exception_handler(RequestValidationError, without_passwords)
