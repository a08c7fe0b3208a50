"""Alembic environment: migrate the Västbas database, SQLite or PostgreSQL.

The database comes from `config.attributes["connection"]` when code passes one (a
Connection, or a URL string), else from `vastbas.db.database_url()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from logging.config import fileConfig
from typing import Any

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.types import TypeDecorator

from vastbas.db import database_url, make_engine
from vastbas.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write our TypeDecorators (UTCDateTime) as the SQLAlchemy type they store as.

    The database column is the same either way, and migrations then never import
    application code that may later change or move.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        compare_type=True,
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, sa.Connection):
        _run_migrations(given)
        return
    engine = make_engine(database_url(given), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _run_migrations(connection)
    finally:
        engine.dispose()


def _run_migrations(connection: sa.Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=sqlite,
        render_item=render_item,
        # SQLite's DDL is transactional once the driver leaves transactions to
        # SQLAlchemy (vastbas.db issues BEGIN IMMEDIATE): one upgrade, one transaction.
        transactional_ddl=True,
    )
    foreign_keys_off = _sqlite_foreign_keys_off(connection) if sqlite else nullcontext()
    with foreign_keys_off, context.begin_transaction():
        context.run_migrations()
        if sqlite:
            _check_foreign_keys(connection)


@contextmanager
def _sqlite_foreign_keys_off(connection: sa.Connection) -> Iterator[None]:
    """Turn SQLite's foreign keys off while migrating.

    A batch migration rebuilds a table by copy, drop and rename; with foreign keys on,
    the drop would cascade-delete the rows that point at it. The PRAGMA is ignored
    inside a transaction, so it goes to the driver before the migration begins one.
    """
    if connection.in_transaction():
        yield
        return
    driver_connection = connection.connection.driver_connection
    driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver_connection.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: sa.Connection) -> None:
    """Refuse to commit a SQLite migration that left rows pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration broke foreign keys: {broken[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
