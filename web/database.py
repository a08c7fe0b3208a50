"""One database session per request, closed when the request ends."""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy.orm import Session

# Errors that mean "the database cannot be used right now", not "this request is wrong":
# SQLAlchemy's wrappers of the driver's errors, the pool's own, and the drivers' errors
# themselves, for code that meets them unwrapped.
UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)


def get_db() -> Session:
    """The request's session (services commit it; views only pass it on)."""
    if "db" not in g:
        g.db = current_app.extensions["vastbas.sessions"]()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, says the database is out of reach.

    Follows the chain, since a later error (a rollback that fails, a session that must be
    rolled back first) often hides the lost connection that caused it.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UNAVAILABLE):
            return True
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
