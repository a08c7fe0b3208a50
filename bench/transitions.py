"""Committed workflow transitions per second, and their ratio to raw SQL writing the same rows.

    python -m bench.transitions [--cases 10000] [--db sqlite|postgres] [--quick] [--profile]

Set-up (not timed): a fresh database with the demo municipality and N cases bulk-inserted
in `request` with an active consent. Measured: `transitions.fire(..., "start_assessment")`
for each case, one committed transaction each with its audit event, through the real
service (permission check, guards, optimistic lock), one session per call as a web
request has. Baseline: the same UPDATE and INSERT per case, one transaction each, through
the bare driver (sqlite3 or psycopg) into a second fresh, identical database.

Figures go to stdout as JSON lines {"name", "value", "unit", "target"}; a target is a
minimum, null when there is none. `--profile` instead runs our path under cProfile and a
statement counter and prints where the time goes to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import resource
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Json

from vastbas import clock
from vastbas.calendar import add_period, local_date
from vastbas.db import make_engine, session_factory
from vastbas.demo import build_municipality, fictional_personnummer
from vastbas.enums import InitiatorKind
from vastbas.models import Base, Case, Consent, Event
from vastbas.services import transitions
from vastbas.services.cases import CONSENT_REVIEW
from vastbas.workflow import workflow_named

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TRIGGER = "start_assessment"
FROM_STATE, TO_STATE = "request", "assessment"
TARGET_PER_S = 1000
TARGET_RATIO = 0.5
QUICK_CASES = 1000


@dataclass(frozen=True)
class RawSql:
    """The baseline's statements and value conversions for one driver."""

    begin: str | None
    update: str
    insert: str
    instant: Callable[[datetime], Any]
    json: Callable[[dict[str, Any]], Any]


def _raw_sql(
    mark: str,
    begin: str | None,
    instant: Callable[[datetime], Any],
    as_json: Callable[[dict[str, Any]], Any],
) -> RawSql:
    """The brief's baseline statements, with the driver's parameter mark."""
    return RawSql(
        begin=begin,
        update=(
            f"UPDATE cases SET state={mark}, stage_seq=stage_seq+1, state_entered_at={mark}, "
            f"last_activity_at={mark}, version=version+1 WHERE id={mark} AND version={mark}"
        ),
        insert=(
            'INSERT INTO events (case_id, actor_id, at, action, "before", "after") '
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})"
        ),
        instant=instant,
        json=as_json,
    )


# The same text SQLAlchemy stores on SQLite: naive UTC, microseconds always written.
SQLITE_SQL = _raw_sql(
    "?",
    "BEGIN IMMEDIATE",
    lambda at: at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
    json.dumps,
)
POSTGRES_SQL = _raw_sql("%s", None, lambda at: at, Json)


@dataclass(frozen=True)
class Database:
    """One fresh, empty database: an engine for our path and a bare driver connection."""

    engine: sa.Engine
    connect_raw: Callable[[], Any]
    raw: RawSql


@dataclass(frozen=True)
class Seeded:
    """What set-up made: the acting samordnare and the cases as (id, reference)."""

    actor_id: int
    cases: list[tuple[int, str]]


@contextmanager
def sqlite_databases() -> Iterator[Callable[[], Database]]:
    """Make fresh SQLite files (WAL, via make_engine) in a temporary directory."""
    engines: list[sa.Engine] = []
    with tempfile.TemporaryDirectory(prefix="vastbas-bench-") as folder:

        def new_database() -> Database:
            path = Path(folder) / f"db{len(engines)}.sqlite3"
            engine = make_engine(f"sqlite:///{path}")
            engines.append(engine)

            def connect_raw() -> sqlite3.Connection:
                # Same settings as make_engine; WAL is already persistent in the file.
                connection = sqlite3.connect(path, timeout=30, isolation_level=None)
                connection.execute("PRAGMA foreign_keys=ON")
                connection.execute("PRAGMA synchronous=NORMAL")
                return connection

            return Database(engine, connect_raw, SQLITE_SQL)

        try:
            yield new_database
        finally:
            for engine in engines:
                engine.dispose()


@contextmanager
def postgres_databases() -> Iterator[Callable[[], Database]]:
    """Make throwaway schemas on the PostgreSQL server; all dropped at the end."""
    admin = make_engine(POSTGRES_URL, poolclass=sa.NullPool)
    made: list[tuple[str, sa.Engine]] = []
    conninfo = _postgres_conninfo()

    def new_database() -> Database:
        schema = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        options = f"-csearch_path={schema}"
        engine = make_engine(POSTGRES_URL, connect_args={"options": options})
        made.append((schema, engine))
        return Database(engine, lambda: psycopg.connect(conninfo, options=options), POSTGRES_SQL)

    try:
        yield new_database
    finally:
        for schema, engine in made:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _postgres_conninfo() -> str:
    url = sa.make_url(POSTGRES_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def seed(engine: sa.Engine, n: int) -> Seeded:
    """Create the schema, the municipality and n cases in `request` with an active consent."""
    Base.metadata.create_all(engine)
    with session_factory(engine)() as db:
        people = build_municipality(db)
        registrar = people.units[0].eht[0].id
        units = [unit.id for unit in people.units]
        now = clock.now()
        ids = range(1, n + 1)
        db.execute(
            sa.insert(Case), [_case_row(i, units[i % len(units)], registrar, now) for i in ids]
        )
        db.execute(sa.insert(Consent), [_consent_row(i, registrar, now) for i in ids])
        db.execute(sa.insert(Event), [_registered_row(i, registrar, now) for i in ids])
        db.commit()
        return Seeded(people.samordnare.id, [(i, _reference(i)) for i in ids])


def _reference(i: int) -> str:
    return f"VB-2026-{i:05d}"


def _case_row(i: int, unit_id: int, registrar: int, now: datetime) -> dict[str, Any]:
    return dict(
        id=i,
        reference=_reference(i),
        workflow="vastbas",
        state=FROM_STATE,
        child_name=f"Barn {i}",
        child_personnummer=fictional_personnummer(2010 + i % 10, 1 + i % 12, 1 + i % 28, i),
        unit_id=unit_id,
        initiator_kind=InitiatorKind.SKOLA,
        background="Hög frånvaro.",
        registered_by_id=registrar,
        created_at=now,
        state_entered_at=now,
        last_activity_at=now,
    )


def _consent_row(case_id: int, registrar: int, now: datetime) -> dict[str, Any]:
    today = local_date(now)
    return dict(
        case_id=case_id,
        given_by="Vårdnadshavare",
        actors=["skola", "socialtjänst"],
        given_on=today,
        review_on=add_period(today, CONSENT_REVIEW),
        recorded_by_id=registrar,
        recorded_at=now,
    )


def _registered_row(case_id: int, registrar: int, now: datetime) -> dict[str, Any]:
    """The audit event register_request would have written."""
    trigger = workflow_named("vastbas").initial.trigger
    return dict(
        case_id=case_id, actor_id=registrar, at=now, action=trigger, after={"state": FROM_STATE}
    )


def run_ours(database: Database, seeded: Seeded) -> tuple[float, list[float]]:
    """Fire the trigger on every case through the service; wall seconds and each call's."""
    sessions = session_factory(database.engine)
    durations = []
    started = time.perf_counter()
    for _case_id, reference in seeded.cases:
        begun = time.perf_counter()
        with sessions() as db:
            transitions.fire(db, reference, TRIGGER, actor=seeded.actor_id, expected_version=1)
        durations.append(time.perf_counter() - begun)
    return time.perf_counter() - started, durations


def run_raw(database: Database, seeded: Seeded) -> float:
    """Write the same rows in plain SQL, one transaction per case; wall seconds."""
    sql = database.raw
    before = {"state": FROM_STATE, "period": 1, "outcome": None}
    after = {"state": TO_STATE, "period": 1, "outcome": None}
    connection = database.connect_raw()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        for case_id, reference in seeded.cases:
            at = sql.instant(clock.now())
            if sql.begin:
                cursor.execute(sql.begin)
            cursor.execute(sql.update, (TO_STATE, at, at, case_id, 1))
            if cursor.rowcount != 1:
                raise RuntimeError(f"{reference} was not at version 1")
            row = (case_id, seeded.actor_id, at, TRIGGER, sql.json(before), sql.json(after))
            cursor.execute(sql.insert, row)
            connection.commit()
        return time.perf_counter() - started
    finally:
        connection.close()


def check_moved(engine: sa.Engine, n: int) -> None:
    """Both paths must leave the same rows: n cases moved and n events written."""
    with engine.connect() as connection:
        moved = connection.scalar(
            sa.select(sa.func.count())
            .select_from(Case)
            .where(Case.state == TO_STATE, Case.version == 2, Case.stage_seq == 2)
        )
        events = connection.scalar(
            sa.select(sa.func.count()).select_from(Event).where(Event.action == TRIGGER)
        )
    if moved != n or events != n:
        raise RuntimeError(f"expected {n} moved cases and events, found {moved} and {events}")


def emit(name: str, value: float, unit: str, target: float | None = None) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, "target": target}), flush=True)


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def benchmark(new_database: Callable[[], Database], n: int) -> None:
    """Measure our path and the raw baseline on two fresh, identical databases."""
    ours_db, raw_db = new_database(), new_database()
    ours_seed, raw_seed = seed(ours_db.engine, n), seed(raw_db.engine, n)
    workflow_named("vastbas")  # loaded once per process, as in the app
    # CPU time of this process only (not the server's): steadier than wall time when
    # other work shares the machine.
    cpu = time.process_time()
    ours_s, durations = run_ours(ours_db, ours_seed)
    ours_cpu, cpu = time.process_time() - cpu, time.process_time()
    raw_s = run_raw(raw_db, raw_seed)
    raw_cpu = time.process_time() - cpu
    check_moved(ours_db.engine, n)
    check_moved(raw_db.engine, n)
    ours_rate, raw_rate = n / ours_s, n / raw_s
    emit("transitions_per_s", round(ours_rate, 1), "1/s", TARGET_PER_S)
    emit("raw_sql_transitions_per_s", round(raw_rate, 1), "1/s")
    emit("transitions_ratio_raw_sql", round(ours_rate / raw_rate, 3), "ratio", TARGET_RATIO)
    emit("ms_per_transition_p50", round(percentile(durations, 50) * 1000, 3), "ms")
    emit("ms_per_transition_p95", round(percentile(durations, 95) * 1000, 3), "ms")
    emit("cpu_ms_per_transition", round(ours_cpu / n * 1000, 3), "ms")
    emit("raw_sql_cpu_ms_per_transition", round(raw_cpu / n * 1000, 3), "ms")
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    emit("rss_mb", round(rss_kib / 1024, 1), "MB")


def profile(new_database: Callable[[], Database], n: int) -> None:
    """Run our path under cProfile and a statement counter; the breakdown goes to stderr."""
    database = new_database()
    seeded = seed(database.engine, n)
    workflow_named("vastbas")
    shapes: Counter[str] = Counter()

    @sa.event.listens_for(database.engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        shapes[_shape(statement)] += 1

    profiler = cProfile.Profile()
    profiler.enable()
    run_ours(database, seeded)
    profiler.disable()
    total = sum(shapes.values())
    emit("statements_per_transition", round(total / n, 2), "statements")
    print(f"\nStatements per transition (COMMIT excluded), {n} transitions:", file=sys.stderr)
    for shape, count in shapes.most_common():
        print(f"  {count / n:5.2f}  {shape}", file=sys.stderr)
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


def _shape(statement: str) -> str:
    """A statement reduced to its verb, table and first WHERE column, for counting."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    if verb == "SELECT":
        table = re.search(r" FROM (\w+)", text)
        where = re.search(r" WHERE ([\w.]+)", text)
        return f"SELECT FROM {table[1] if table else '?'} WHERE {where[1] if where else '-'}"
    if verb in ("UPDATE", "INSERT", "DELETE"):
        return " ".join(text.split(" ")[:3])
    return text[:40]


def describe(kind: str) -> str:
    """The database and its version, for the header line."""
    if kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(_postgres_conninfo()) as connection:
        return f"PostgreSQL {connection.info.parameter_status('server_version')}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transitions", description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CASES} cases")
    parser.add_argument("--profile", action="store_true", help="cProfile our path instead")
    args = parser.parse_args(argv)
    n = QUICK_CASES if args.quick else args.cases
    databases = sqlite_databases if args.db == "sqlite" else postgres_databases
    with databases() as new_database:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        header = f"# {n} cases on {describe(args.db)}, Python {sys.version.split()[0]}"
        print(f"{header}, load average {load}", file=sys.stderr)
        (profile if args.profile else benchmark)(new_database, n)


if __name__ == "__main__":
    main()
