"""Engine and session factory; SQLite (file, WAL) is the embedded default."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = Path("instance") / "vastbas.sqlite3"
# Seconds to wait for PostgreSQL to accept a connection (`?connect_timeout=` in the URL wins).
CONNECT_TIMEOUT_S = 5


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, then DATABASE_URL, then the SQLite file in instance/."""
    url = url or os.environ.get("DATABASE_URL")
    if url:
        return (
            url.replace("postgresql://", "postgresql+psycopg://", 1)
            if url.startswith("postgresql://")
            else url
        )
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


class _RowsHidden(logging.Filter):
    """SQLAlchemy's DEBUG log shows every row it fetches, personal data included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.args = ("(hidden)",)
        return True


ROWS_HIDDEN = _RowsHidden()


def make_engine(url: str | None = None, **kwargs: object) -> sa.Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    What it logs (at INFO or DEBUG, when someone turns that on) is the SQL only: its bound
    parameters and the rows it fetches hold children's names and personnummer.
    """
    url = database_url(url)
    kwargs.setdefault("hide_parameters", True)
    logging.getLogger("sqlalchemy.engine.Engine").addFilter(ROWS_HIDDEN)
    if url.startswith("sqlite"):
        connect_args = {"timeout": 30, **kwargs.pop("connect_args", {})}  # type: ignore[dict-item]
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    # A connection the database dropped (a restart, a network cut) is noticed before use
    # and replaced; a database that does not answer fails fast instead of hanging a worker.
    kwargs.setdefault("pool_pre_ping", True)
    connect_args = dict(kwargs.pop("connect_args", {}))  # type: ignore[call-overload]
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    return sa.create_engine(url, connect_args=connect_args, **kwargs)


def _configure_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, open transactions: BEGIN IMMEDIATE takes the
        # write lock up front so two writers queue instead of failing mid-transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back on any error."""
    with sessions() as session, session.begin():
        yield session
