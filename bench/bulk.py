"""Bulk writes for the generator: COPY on PostgreSQL, big executemany batches on SQLite.

Rows come as tuples of Python values in the table's column order given (aware datetimes,
dates, dicts and lists for JSON, enums as their values). They are written through the
driver, below SQLAlchemy, in the form SQLAlchemy itself stores, so the app reads them back
exactly as rows it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from vastbas.models import Base, UTCDateTime

Convert = Callable[[Any], Any]


def _sqlite_instant(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME text: naive UTC, microseconds always written.
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _converters(dialect: str, table: sa.Table, columns: Sequence[str]) -> list[tuple[int, Convert]]:
    """Which columns need a conversion for this driver, and the function that does it."""
    found: list[tuple[int, Convert]] = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, sa.JSON):
            found.append((index, _json))
        elif dialect != "sqlite":
            continue
        elif isinstance(kind, UTCDateTime | sa.DateTime):
            found.append((index, _sqlite_instant))
        elif isinstance(kind, sa.Date):
            found.append((index, _sqlite_date))
        elif isinstance(kind, sa.Boolean):
            found.append((index, _sqlite_bool))
    return found


def write(
    connection: sa.Connection, name: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Write rows into a table in the caller's transaction; returns how many."""
    table = Base.metadata.tables[name]
    dialect = connection.dialect.name
    convert = _converters(dialect, table, columns)

    def converted() -> Iterable[Sequence[Any]]:
        for row in rows:
            if not convert:
                yield row
                continue
            values = list(row)
            for index, function in convert:
                values[index] = function(values[index])
            yield values

    driver = connection.connection.driver_connection
    assert driver is not None
    quoted = ", ".join(f'"{column}"' for column in columns)
    count = 0
    if dialect == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for values in converted():
                copy.write_row(values)
                count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    cursor = driver.cursor()
    batch: list[Sequence[Any]] = []
    for values in converted():
        batch.append(values)
        if len(batch) == 20_000:
            cursor.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', batch)
            count += len(batch)
            batch = []
    if batch:
        cursor.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', batch)
        count += len(batch)
    cursor.close()
    return count


def reset_sequences(connection: sa.Connection, names: Iterable[str]) -> None:
    """After explicit ids on PostgreSQL, let the next insert by the app take the next id."""
    if connection.dialect.name != "postgresql":
        return
    for name in names:
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
        )
