"""How Alembic connects: the step's own engine and models, one DATABASE_URL."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from steps.step08_production import models  # noqa: F401  (registers every table on Base.metadata)
from steps.step08_production.database import IS_SQLITE, Base, engine

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def configure(**options) -> None:
    context.configure(
        target_metadata=target_metadata,
        # SQLite can alter little in place: "batch" operations rebuild a table
        # (create a copy, move the rows, swap) when a change needs it.
        render_as_batch=IS_SQLITE,
        compare_server_default=True,
        **options,
    )


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    configure(url=engine.url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_sqlite_migrations(connection: Connection) -> None:
    # A batch rebuild drops the old table: with foreign keys enforced, that
    # DROP would cascade and delete every child row. So they are off while
    # migrating (the pragma only works outside a transaction), and checked
    # once at the end instead.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migrations left rows with dangling foreign keys: {broken}")
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def run_migrations(connection: Connection) -> None:
    if IS_SQLITE:
        run_sqlite_migrations(connection)
    else:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


async def run_async_migrations() -> None:
    # Alembic's API is sync: run_sync hands it a sync view of the async
    # connection, as Alembic's own async template does.
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        # The connections belong to this command's event loop, which ends here.
        await engine.dispose()


def run_migrations_online() -> None:
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
