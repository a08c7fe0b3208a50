"""A fresh database for one run: a SQLite file, or a throwaway PostgreSQL schema."""

from __future__ import annotations

import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa

from vastbas.db import make_engine

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Database:
    """An empty database: the engine for this process, the URL for a second one."""

    backend: str  # sqlite | postgres
    url: str  # what DATABASE_URL must say for a server process to use the same data
    engine: sa.Engine
    folder: Path  # scratch files of this run (scripts, logs)


@contextmanager
def fresh_database(
    backend: str, postgres_url: str = POSTGRES_URL, folder: Path | None = None
) -> Iterator[Database]:
    """A new, empty database; removed again when the block ends."""
    with _scratch_folder(folder) as scratch:
        if backend == "sqlite":
            url = f"sqlite:///{scratch / 'bench.sqlite3'}"
            engine = make_engine(url)
            try:
                yield Database(backend, url, engine, scratch)
            finally:
                engine.dispose()
            return
        with _postgres_schema(postgres_url) as url:
            engine = make_engine(url)
            try:
                yield Database(backend, url, engine, scratch)
            finally:
                engine.dispose()


@contextmanager
def _scratch_folder(folder: Path | None) -> Iterator[Path]:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="vastbas-bench-") as made:
        yield Path(made)


@contextmanager
def _postgres_schema(postgres_url: str) -> Iterator[str]:
    """A schema of its own on the server; the URL sets it as the search path."""
    admin = make_engine(postgres_url, poolclass=sa.NullPool)
    schema = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def describe(database: Database) -> str:
    """The database and its version, for the header line."""
    if database.backend == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        return f"PostgreSQL {raw.info.parameter_status('server_version')}"
