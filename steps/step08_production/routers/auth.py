"""POST /auth/token: the OAuth2 password flow, a username and a password for a token."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from ..database import SessionDep
from ..ratelimit import TOO_MANY_ATTEMPTS, LoginLimiterDep
from ..schemas import Message, Token
from ..security import BEARER, authenticate, create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])

INCORRECT = {
    status.HTTP_401_UNAUTHORIZED: {
        "model": Message,
        "description": "Incorrect username or password",
        "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    }
}


@router.post("/token", responses={**INCORRECT, **TOO_MANY_ATTEMPTS})
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: SessionDep,
    limiter: LoginLimiterDep,
    request: Request,
) -> Token:
    """Trade a username and password (form fields, as OAuth2 wants) for a bearer token."""
    # Counted before the hash: an attempt over the limit costs us no Argon2.
    # Behind a proxy, uvicorn's --proxy-headers makes request.client the client's.
    address = request.client.host if request.client else "unknown"
    await limiter.attempt(form.username, address)
    user = await authenticate(db, form.username, form.password)
    if user is None:
        # One answer for an unknown username and a wrong password alike.
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers=BEARER,
        )
    await limiter.succeeded(form.username)
    return Token(access_token=create_access_token(user))
