"""Make the first admin, or make an existing user an admin.

Run it from the repository root, on a migrated database (the one DATABASE_URL
names, as for the app):

    python -m steps.step06_auth.create_admin ada --email ada@example.com

It asks for the password twice; a script can set ADMIN_PASSWORD instead. An
existing user keeps their data, becomes an admin and gets this password (the
way to let a user from before step 6 log in). Neither the password nor its
hash is ever printed.
"""

import argparse
import getpass
import os
import sys

from pydantic import ValidationError

from . import crud
from .database import DatabaseNotMigratedError, SessionLocal, check_database_is_migrated
from .models import Role
from .schemas import UserCreate, UserUpdate
from .security import hash_password


class Refused(Exception):
    """Nothing was changed, for the reason given."""


def read_password() -> str:
    from_environment = os.environ.get("ADMIN_PASSWORD")
    if from_environment:
        return from_environment
    password = getpass.getpass("Password: ")
    if getpass.getpass("The same password again: ") != password:
        raise Refused("The two passwords differ.")
    return password


def problems(error: ValidationError) -> str:
    # Field and message only: a ValidationError's text repeats the input,
    # which may be the password.
    return "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in error.errors())


def make_admin(username: str, email: str | None, full_name: str | None) -> str:
    """Create or promote the user; say what was done."""
    with SessionLocal() as db:
        user = crud.get_user_by_username(db, username)
        if user is None and email is None:
            raise Refused(f"There is no user {username!r}: give --email to create one.")
        password = read_password()
        try:
            if user is None:
                user_in = UserCreate(
                    username=username,
                    email=email,
                    full_name=full_name,
                    password=password,
                    role=Role.ADMIN,
                )
                user = crud.create_user(db, user_in, hash_password(user_in.password))
                return f"Created the admin {user.username!r} (id {user.id})."
            changes = UserUpdate(role=Role.ADMIN, password=password)
            crud.update_user(db, user, changes, password_hash=hash_password(changes.password))
            return f"{user.username!r} (id {user.id}) is now an admin, with the new password."
        except ValidationError as error:
            raise Refused(problems(error)) from error
        except crud.DuplicateError as error:
            raise Refused(f"That {error.field} belongs to another user.") from error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m steps.step06_auth.create_admin",
        description="Create an admin, or make an existing user one.",
    )
    parser.add_argument("username")
    parser.add_argument("--email", help="needed to create a new user")
    parser.add_argument("--full-name")
    args = parser.parse_args(argv)
    try:
        check_database_is_migrated()
        print(make_admin(args.username, args.email, args.full_name))
    except (DatabaseNotMigratedError, Refused) as error:
        print(f"Nothing changed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
