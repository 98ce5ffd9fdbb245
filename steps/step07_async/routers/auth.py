"""POST /auth/token: the OAuth2 password flow, a username and a password for a token."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from ..database import SessionDep
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


@router.post("/token", responses=INCORRECT)
async def log_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], db: SessionDep) -> Token:
    """Trade a username and password (form fields, as OAuth2 wants) for a bearer token."""
    user = await authenticate(db, form.username, form.password)
    if user is None:
        # One answer for an unknown username and a wrong password alike.
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers=BEARER,
        )
    return Token(access_token=create_access_token(user))
