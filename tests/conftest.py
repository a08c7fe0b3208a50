"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL.

A test gets a database by asking for `db` (a Session) or `engine`; it then runs
once on SQLite and once on PostgreSQL (marked `postgres`). On PostgreSQL each test
session works in its own schema, so several runs can share one server.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas.db import make_engine, session_factory
from vastbas.models import Base

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
pytest_plugins = ["e2e.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres-url",
        default=os.environ.get("VASTBAS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="PostgreSQL for the tests marked postgres (env VASTBAS_TEST_POSTGRES_URL)",
    )


@pytest.fixture(scope="session")
def postgres_url(request: pytest.FixtureRequest) -> str:
    """The reachable PostgreSQL server; skips the test, or fails it in CI, if there is none."""
    url: str = request.config.getoption("--postgres-url")
    probe = make_engine(url, poolclass=sa.NullPool, connect_args={"connect_timeout": 5})
    try:
        with probe.connect():
            pass
    except sa.exc.OperationalError as error:
        message = f"PostgreSQL is not reachable at {probe.url!r}: {error.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}\nThe PostgreSQL tests are required in CI.", pytrace=False)
        pytest.skip(message)
    finally:
        probe.dispose()
    return url


@pytest.fixture(scope="session")
def new_postgres_schema(postgres_url: str) -> Iterator[_SchemaMaker]:
    """Make empty schemas, each with an engine that works in it; all dropped at the end."""
    maker = _SchemaMaker(postgres_url)
    yield maker
    maker.drop_all()


class _SchemaMaker:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = make_engine(url, poolclass=sa.NullPool)
        self.made: list[tuple[str, sa.Engine]] = []

    def __call__(self) -> sa.Engine:
        schema = f"vbt_{os.getpid()}_{secrets.token_hex(4)}"
        with self.admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(self.url, connect_args={"options": f"-csearch_path={schema}"})
        self.made.append((schema, engine))
        return engine

    def drop_all(self) -> None:
        for schema, engine in self.made:
            engine.dispose()
            with self.admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(new_postgres_schema: _SchemaMaker) -> sa.Engine:
    """The test session's own PostgreSQL schema, with every table created once."""
    engine = new_postgres_schema()
    Base.metadata.create_all(engine)
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine on a database with all tables and no rows."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'vastbas.sqlite3'}")
        Base.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield engine


@pytest.fixture
def empty_engine(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[sa.Engine]:
    """An engine on a database with no tables at all, for migration tests."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    yield request.getfixturevalue("new_postgres_schema")()


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[Session]:
    """A session on a fresh database; whatever the test leaves open is rolled back."""
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def app(engine: sa.Engine) -> Flask:
    """The web app on the test database (CSRF on, as in production)."""
    from web import create_app

    return create_app({"TESTING": True, "ENGINE": engine, "SECRET_KEY": "test-secret"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of a form page, as a browser would find it."""
    page = client.get(path)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1)


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[..., None]:
    """Log a demo user in by username (demo password), through the login form."""

    def log_in(username: str, password: str = "demo") -> None:
        token = csrf_token(client, "/login")
        answer = client.post(
            "/login", data={"csrf_token": token, "username": username, "password": password}
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)

    return log_in
