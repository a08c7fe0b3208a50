"""The migrations build the database the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from vastbas.db import make_engine
from vastbas.migrations import alembic_config, pending_differences, upgrade_database
from vastbas.models import Base, Event, ReferenceCounter

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def test_upgrading_an_empty_database_gives_what_the_models_describe(
    empty_engine: sa.Engine,
) -> None:
    upgrade_database(engine=empty_engine)

    assert current_revision(empty_engine) == HEAD
    assert pending_differences(empty_engine) == []


def test_a_second_upgrade_changes_nothing(empty_engine: sa.Engine) -> None:
    upgrade_database(engine=empty_engine)
    with Session(empty_engine) as session, session.begin():
        session.add(ReferenceCounter(prefix="VB", year=2025, last=7))
    statements: list[str] = []
    sa.event.listen(
        empty_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: statements.append(statement),
    )

    upgrade_database(engine=empty_engine)

    changing = [s for s in statements if s.split()[0].upper() in {"CREATE", "ALTER", "DROP"}]
    assert changing == []
    assert current_revision(empty_engine) == HEAD
    with Session(empty_engine) as session:
        assert session.get(ReferenceCounter, ("VB", 2025)).last == 7


def test_downgrading_to_base_removes_every_table(empty_engine: sa.Engine) -> None:
    upgrade_database(engine=empty_engine)

    with empty_engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    remaining = set(sa.inspect(empty_engine).get_table_names())
    assert remaining <= {"alembic_version"}
    assert not remaining & set(Base.metadata.tables)


def test_a_sqlite_file_is_upgraded_by_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.sqlite3'}"

    upgrade_database(url)

    engine = make_engine(url)
    try:
        assert current_revision(engine) == HEAD
        assert pending_differences(engine) == []
    finally:
        engine.dispose()


def test_sqlite_foreign_keys_are_on_again_after_upgrading(tmp_path: Path) -> None:
    # One pooled connection, so the one that migrated is the one checked.
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.sqlite3'}", poolclass=sa.StaticPool)
    try:
        upgrade_database(engine=engine)

        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_audit_log_is_append_only(db: Session, change: str) -> None:
    event = Event(action="case_registered", at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    db.add(event)
    db.commit()

    if change == "update":
        event.action = "case_closed"
    else:
        db.delete(event)
    with pytest.raises(PermissionError, match="append-only"):
        db.flush()
    db.rollback()

    assert db.scalars(sa.select(Event.action)).all() == ["case_registered"]
