"""Make the first admin, or make an existing user an admin.

Run it from the repository root, on a migrated database (the one DATABASE_URL
names, as for the app):

    python -m steps.step08_production.create_admin ada --email ada@example.com

It asks for the password twice; a script can set ADMIN_PASSWORD instead. An
existing user keeps their data, becomes an admin and gets this password (the
way to let a user from before step 6 log in). Neither the password nor its
hash is ever printed.
"""

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import ValidationError

from . import crud
from .database import DatabaseNotMigratedError, SessionLocal, check_database_is_migrated, engine
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


async def make_admin(username: str, email: str | None, full_name: str | None) -> str:
    """Create or promote the user; say what was done."""
    async with SessionLocal() as db:
        user = await crud.get_user_by_username(db, username)
        if user is None and email is None:
            raise Refused(f"There is no user {username!r}: give --email to create one.")
        # getpass waits for the keyboard and blocks, but this command serves
        # no one else: nothing else runs on its event loop meanwhile.
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
                user = await crud.create_user(db, user_in, await hash_password(user_in.password))
                return f"Created the admin {user.username!r} (id {user.id})."
            changes = UserUpdate(role=Role.ADMIN, password=password)
            new_hash = await hash_password(changes.password)
            await crud.update_user(db, user, changes, password_hash=new_hash)
            return f"{user.username!r} (id {user.id}) is now an admin, with the new password."
        except ValidationError as error:
            raise Refused(problems(error)) from error
        except crud.DuplicateError as error:
            raise Refused(f"That {error.field} belongs to another user.") from error


async def check_and_make_admin(args: argparse.Namespace) -> str:
    try:
        await check_database_is_migrated()
        return await make_admin(args.username, args.email, args.full_name)
    finally:
        # The pooled connections belong to this command's event loop, which
        # ends with it.
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m steps.step08_production.create_admin",
        description="Create an admin, or make an existing user one.",
    )
    parser.add_argument("username")
    parser.add_argument("--email", help="needed to create a new user")
    parser.add_argument("--full-name")
    args = parser.parse_args(argv)
    try:
        print(asyncio.run(check_and_make_admin(args)))
    except (DatabaseNotMigratedError, Refused) as error:
        print(f"Nothing changed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
