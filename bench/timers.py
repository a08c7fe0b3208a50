"""Our timer rows against APScheduler 3's SQLAlchemyJobStore, with a million reminders.

    python -m bench.timers [--quick] [--db sqlite|postgres|both] [--profile]

Set-up (not timed): a fresh database (a SQLite file, or a throwaway PostgreSQL schema)
with the demo municipality and N pending timers (1,000,000; 100,000 with --quick),
bulk-loaded with Core in chunks: N/5 open cases, each with a koordinator pair and a
kontaktperson, three deadlines (evaluation, network meeting 1, EHT) and five timers
whose reminders go to 1–3 people. fire_at is spread evenly over the year that starts a
day from now, in random order of the cases.

Measured, ours: `sweep_zero_due_ms`, the median of several whole sweeps with nothing due
(and its parts: the claim alone, the stalled-case check); `fire_10k_s`, one sweep at
the instant the 10,000 earliest timers are due (claims, fires, writes the
notifications); `add_s`, durable reminders added one transaction at a time through
`deadlines.start`, measured on a sample and extrapolated linearly to N; `startup_s`,
our scheduler (four fixed jobs in memory) from `start()` to its first pass done.

Measured, APScheduler 3 (a SQLAlchemyJobStore on the same database, its own table,
the same engine settings; one `date` job per timer, run_date = fire_at, a no-op that
counts; thread-pool executor): `apscheduler_add_s` (add_job one by one on a sample,
extrapolated linearly to N; the rest of the N jobs are written straight into its table
with the pickles add_job makes), `apscheduler_startup_s` (`start()` to its first pass
done), `apscheduler_get_jobs_s` (listing the jobs: every row unpickled),
`apscheduler_zero_due_ms`, and `apscheduler_fire_10k_s` (the same 10,000 made due:
`start()` until all 10,000 ran). `ratio_*` is APScheduler's figure over ours (> 1: we are
faster). The EXPLAIN of every statement a sweep with nothing due runs goes to stderr.
`--profile` instead fires the 10,000 under cProfile and prints the top entries.

Figures go to stdout as JSON lines {"name", "value", "unit", "target", "db"} (a target is
a maximum, null when there is none; "note" says how an extrapolated figure was made);
`*_cpu_s` is this process's CPU time, steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pickle
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from bench.transitions import Database, _shape, describe, postgres_databases, sqlite_databases
from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.db import make_engine, session_factory
from vastbas.deadlines import plan_reminders
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.models import Assignment, Base, Case, CaseDeadline, Notification, Timer
from vastbas.scheduler import build_scheduler
from vastbas.services import deadlines as deadline_service
from vastbas.settings import Settings
from vastbas.sweep import SweepReport, claim_due, remind_stalled, sweep
from vastbas.workflow import workflow_named

FULL, QUICK = 1_000_000, 100_000
DUE = 10_000
TIMERS_PER_CASE = 5
DEADLINES = ("evaluation", "network_meeting_1", "eht_raise")
CASES_PER_CHUNK = 5_000
ADD_SAMPLE = {FULL: 20_000, QUICK: 5_000}  # reminders added one by one, then extrapolated
ZERO_DUE_RUNS = 15
TARGET_ZERO_DUE_MS = 5
TARGET_FIRE_S = 10
SETTINGS = Settings(base_url="https://vastbas.example")
DAY, YEAR = timedelta(days=1), timedelta(days=365)


RUN = {"db": ""}  # which database the figures being printed are for


def emit(name: str, value: float, unit: str, target: float | None = None, **extra: str) -> None:
    """One JSON line, tagged with the database; an extrapolated figure says so in `note`."""
    line = {"name": name, "value": value, "unit": unit, "target": target, "db": RUN["db"]}
    line |= extra
    print(json.dumps(line, ensure_ascii=False), flush=True)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - started
    ended.append(time.perf_counter())


# --- loading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """The bench database: its start instant and the timers' fire_at, by timer id."""

    start: datetime
    fire_at: list[datetime]  # index = timer id - 1
    recipients: list[int]  # how many people each timer reaches


def load(engine: sa.Engine, n: int) -> Loaded:
    """Create the tables, the municipality and n pending timers, in chunks of cases."""
    Base.metadata.create_all(engine)
    workflow = workflow_named("vastbas")
    with session_factory(engine)() as db:
        people = demo.build_municipality(db)
        samordnare = people.samordnare.id
        schools = [(u.id, [p.id for p in u.eht]) for u in people.units if u.eht]
        koordinatorer = [p.id for p in people.koordinatorer]
    start = clock.now().replace(microsecond=0)
    slots = list(range(n))
    random.Random(20261123).shuffle(slots)
    step = (YEAR - DAY) / n
    fire_at = [start + DAY + slot * step for slot in slots]
    plans = {
        name: plan_reminders(workflow.deadlines[name], local_date(start)) for name in DEADLINES
    }
    plans["eht_raise"] = [p for p in plans["eht_raise"] if p.overdue]
    recipients: list[int] = []
    timer_id = deadline_id = 0
    for first in range(1, n // TIMERS_PER_CASE + 1, CASES_PER_CHUNK):
        cases, assignments, deadlines, timers = [], [], [], []
        for case_id in range(first, min(first + CASES_PER_CHUNK, n // TIMERS_PER_CASE + 1)):
            unit_id, eht = schools[case_id % len(schools)]
            cases.append(_case(case_id, unit_id, samordnare, start))
            holders = (
                (CaseRole.KOORDINATOR_1, koordinatorer[case_id % len(koordinatorer)]),
                (CaseRole.KOORDINATOR_2, koordinatorer[(case_id + 7) % len(koordinatorer)]),
                (CaseRole.KONTAKTPERSON, eht[case_id % len(eht)]),
            )
            assignments += [
                dict(
                    case_id=case_id,
                    role=role,
                    person_id=person,
                    started_at=start,
                    appointed_by_id=samordnare,
                )
                for role, person in holders
            ]
            for name in DEADLINES:
                deadline_id += 1
                deadlines.append(
                    dict(
                        id=deadline_id,
                        case_id=case_id,
                        name=name,
                        period=1,
                        due_on=local_date(start) + timedelta(days=180),
                        started_at=start,
                    )
                )
                for planned in plans[name]:
                    timer_id += 1
                    recipients.append(len(planned.to))
                    timers.append(
                        dict(
                            id=timer_id,
                            deadline_id=deadline_id,
                            case_id=case_id,
                            reminder_index=planned.index,
                            overdue=planned.overdue,
                            recipients=list(planned.to),
                            fire_at=fire_at[timer_id - 1],
                            status="pending",
                        )
                    )
        with engine.begin() as connection:
            for model, rows in ((Case, cases), (Assignment, assignments)):
                connection.execute(sa.insert(model), rows)
            connection.execute(sa.insert(CaseDeadline), deadlines)
            connection.execute(sa.insert(Timer), timers)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("cases", "case_deadlines", "timers"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            connection.exec_driver_sql("ANALYZE")  # what autovacuum does after a bulk load
    return Loaded(start, fire_at, recipients)


def _case(case_id: int, unit_id: int, registrar: int, at: datetime) -> dict[str, Any]:
    return dict(
        id=case_id,
        reference=f"VB-2026-{case_id:07d}",
        workflow="vastbas",
        state="interventions",
        child_name=f"Barn {case_id}",
        child_personnummer=demo.child_personnummer(case_id),
        unit_id=unit_id,
        initiator_kind=InitiatorKind.SKOLA,
        background="",
        registered_by_id=registrar,
        created_at=at,
        state_entered_at=at,
        # Active all year: a sweep at a later `now` then fires timers only, instead of
        # also telling the samordnare about every case as stalled.
        last_activity_at=at + YEAR,
    )


# --- ours ---------------------------------------------------------------------------------


def zero_due(engine: sa.Engine, loaded: Loaded) -> None:
    """Median time of a whole sweep with nothing due, and of its two parts."""
    sessions = session_factory(engine)
    now = loaded.start

    def claim_only() -> None:
        with sessions() as db:
            assert not claim_due(db, now=now, token="bench", lease_s=300, limit=500)
            db.commit()

    def stalled_only() -> None:
        with sessions() as db:
            remind_stalled(db, now=now, settings=SETTINGS, report=SweepReport())
            db.commit()

    def whole() -> None:
        assert sweep(sessions, SETTINGS, now=now).fired == 0

    for name, run in (("claim", claim_only), ("stalled_check", stalled_only), ("sweep", whole)):
        run()  # warm: statement cache, pool
        times = []
        for _ in range(ZERO_DUE_RUNS):
            with stopwatch() as took:
                run()
            times.append(took() * 1000)
        target = TARGET_ZERO_DUE_MS if name == "sweep" else None
        emit(f"{name}_zero_due_ms", round(statistics.median(times), 2), "ms", target)


def explain(engine: sa.Engine, loaded: Loaded) -> None:
    """EXPLAIN every statement of a sweep with nothing due, to stderr.

    Emits whether the claim uses the (status, fire_at) index.
    """
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.split(None, 1)[0].upper() in ("SELECT", "UPDATE"):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        sweep(session_factory(engine), SETTINGS, now=loaded.start)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    claim_plan = ""
    for statement, parameters in seen:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            connection.rollback()  # EXPLAIN ANALYZE of an UPDATE runs it: undo
        plan = "\n".join(f"    {row[-1]}" for row in rows)
        say(f"  {_shape(statement)}\n{plan}")
        if statement.startswith("UPDATE timers"):
            claim_plan = plan
    emit("claim_uses_due_index", int("ix_timers_due" in claim_plan), "bool", 1)


def fire(engine: sa.Engine, loaded: Loaded) -> float:
    """One sweep at the instant the DUE earliest timers fall due; checks what it wrote."""
    due_at = sorted(loaded.fire_at)[DUE - 1]
    sessions = session_factory(engine)
    cpu = time.process_time()
    with stopwatch() as took:
        report = sweep(sessions, SETTINGS, now=due_at)
    cpu = time.process_time() - cpu
    expected = sum(
        r for r, at in zip(loaded.recipients, loaded.fire_at, strict=True) if at <= due_at
    )
    with engine.connect() as connection:
        made = connection.scalar(sa.select(sa.func.count()).select_from(Notification))
    if (report.fired, report.notifications, made) != (DUE, expected, expected):
        raise RuntimeError(f"fired {report.fired}, {report.notifications}/{made} of {expected}")
    emit("fire_10k_s", round(took(), 2), "s", TARGET_FIRE_S)
    emit("fire_10k_cpu_s", round(cpu, 2), "s")
    emit("fire_10k_notifications", expected, "rows")
    return took()


def profile(engine: sa.Engine, loaded: Loaded) -> None:
    """Fire the DUE earliest timers under cProfile and a statement counter."""
    due_at = sorted(loaded.fire_at)[DUE - 1]
    shapes: Counter[str] = Counter()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        shapes[_shape(statement)] += 1

    profiler = cProfile.Profile()
    profiler.enable()
    sweep(session_factory(engine), SETTINGS, now=due_at)
    profiler.disable()
    say(f"\nStatements for {DUE} timers (batch {SETTINGS.batch_size}):")
    for shape, count in shapes.most_common():
        say(f"  {count:6d}  {shape}")
    stats = pstats.Stats(profiler, stream=sys.stderr).strip_dirs()
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)


def add_ours(engine: sa.Engine, n: int, sample: int) -> float:
    """Reminders added the way services add them: `deadlines.start`, one transaction each."""
    sessions = session_factory(engine)
    definition = workflow_named("vastbas").deadlines["evaluation"]
    with sessions() as db:
        cases = list(db.scalars(sa.select(Case).order_by(Case.id).limit(sample)))
    per_deadline = len(definition.reminders)
    today = local_date(clock.now())
    with stopwatch() as took:
        for i in range(sample // per_deadline):
            with sessions() as db:
                deadline_service.start(
                    db, cases[i], definition, counted_from=today, now=clock.now()
                )
                db.commit()
    extrapolated = took() / sample * n
    note = f"extrapolated linearly from {sample:,} reminders added in {took():.2f} s"
    emit("add_s", round(extrapolated, 1), "s", note=note)
    return extrapolated


def startup_ours() -> float:
    """Our scheduler, start() to first pass done: four fixed jobs, nothing loaded.

    Its jobs then run once at start against an empty side database (not timed).
    """
    with tempfile.TemporaryDirectory(prefix="vastbas-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'side.sqlite3'}")
        Base.metadata.create_all(engine)
        scheduler = build_scheduler(SETTINGS, session_factory(engine))
        took = _time_first_pass(scheduler)
        scheduler.shutdown(wait=True)
        engine.dispose()
    emit("startup_s", round(took, 4), "s")
    return took


def _time_first_pass(scheduler: BackgroundScheduler) -> float:
    """Seconds from start() until the scheduler's first look at its job stores is done."""
    done = threading.Event()
    process_jobs = scheduler._process_jobs

    def first_pass() -> float | None:
        wait = process_jobs()
        done.set()
        return wait

    scheduler._process_jobs = first_pass  # type: ignore[method-assign]
    with stopwatch() as took:
        scheduler.start()
        done.wait(600)
    return took()


# --- APScheduler --------------------------------------------------------------------------


class Ran:
    """Counts the no-op job's runs; `done` is set when `target` runs were counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count, self.target = 0, 0
        self.done = threading.Event()

    def reset(self, target: int) -> None:
        self.count, self.target = 0, target
        self.done.clear()

    def add(self) -> None:
        with self.lock:
            self.count += 1
            if self.count == self.target:
                self.done.set()


RAN = Ran()


def remind(timer_id: int) -> None:
    """The APScheduler job: a reminder that does nothing but count."""
    RAN.add()


def aps_scheduler(store: SQLAlchemyJobStore) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )


def apscheduler(database: Database, loaded: Loaded, n: int, sample: int) -> dict[str, float]:
    """APScheduler's figures with one job per timer in its SQLAlchemyJobStore."""
    engine = database.engine  # the same database and engine settings as ours
    figures = {}

    # Add the sample one by one through the scheduler, as an application would.
    store = SQLAlchemyJobStore(engine=engine)
    scheduler = aps_scheduler(store)
    scheduler.start(paused=True)
    with stopwatch() as took:
        for timer_id in range(1, sample + 1):
            job = scheduler.add_job(
                remind, DateTrigger(loaded.fire_at[timer_id - 1]), args=[timer_id], id=str(timer_id)
            )
    template = job.__getstate__()
    scheduler.shutdown()
    figures["add"] = took() / sample * n
    note = f"extrapolated linearly from {sample:,} jobs added one by one in {took():.2f} s"
    emit("apscheduler_add_s", round(figures["add"], 1), "s", note=note)

    # The rest of the N jobs, straight into its table (not timed).
    table = store.jobs_t
    for first in range(sample + 1, n + 1, 20_000):
        ids = range(first, min(first + 20_000, n + 1))
        rows = [_job_row(template, i, loaded.fire_at[i - 1]) for i in ids]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ANALYZE {table.name}")  # as autovacuum would

    scheduler = aps_scheduler(SQLAlchemyJobStore(engine=engine))
    figures["startup"] = _time_first_pass(scheduler)
    emit("apscheduler_startup_s", round(figures["startup"], 4), "s")
    times = []
    for _ in range(ZERO_DUE_RUNS):
        with stopwatch() as took:
            scheduler._jobstores["default"].get_due_jobs(datetime.now(UTC))
            scheduler._jobstores["default"].get_next_run_time()
        times.append(took() * 1000)
    figures["zero_due"] = statistics.median(times)
    emit("apscheduler_zero_due_ms", round(figures["zero_due"], 2), "ms")
    with stopwatch() as took:
        listed = len(scheduler.get_jobs())
    scheduler.shutdown()
    if listed != n:
        raise RuntimeError(f"APScheduler lists {listed} jobs, not {n}")
    emit("apscheduler_get_jobs_s", round(took(), 2), "s")

    # The same DUE timers made due: rewritten with a run date just past (not timed).
    due_at = sorted(loaded.fire_at)[DUE - 1]
    past = datetime.now(UTC) - timedelta(seconds=1)
    due = [i for i, at in enumerate(loaded.fire_at, start=1) if at <= due_at]
    with engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.id == sa.bindparam("job_id")),
            [dict(_job_row(template, i, past), job_id=str(i)) for i in due],
        )
    RAN.reset(DUE)
    scheduler = aps_scheduler(SQLAlchemyJobStore(engine=engine))
    cpu = time.process_time()
    with stopwatch() as took:
        scheduler.start()
        if not RAN.done.wait(1800):
            raise RuntimeError(f"only {RAN.count} of {DUE} APScheduler jobs ran")
    cpu = time.process_time() - cpu
    figures["fire"] = took()
    scheduler.shutdown(wait=True)
    emit("apscheduler_fire_10k_s", round(figures["fire"], 2), "s")
    emit("apscheduler_fire_10k_cpu_s", round(cpu, 2), "s")
    with engine.connect() as connection:
        left = connection.scalar(sa.select(sa.func.count()).select_from(table))
    if left != n - DUE:
        raise RuntimeError(f"{left} APScheduler jobs left, expected {n - DUE}")
    return figures


def _job_row(template: dict[str, Any], timer_id: int, at: datetime) -> dict[str, Any]:
    state = dict(
        template, id=str(timer_id), args=(timer_id,), trigger=DateTrigger(at), next_run_time=at
    )
    return dict(
        id=str(timer_id),
        next_run_time=at.timestamp(),
        job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL),
    )


# --- the run ------------------------------------------------------------------------------


def benchmark(new_database: Callable[[], Database], n: int, *, profiling: bool) -> None:
    database = new_database()
    engine = database.engine
    workflow_named("vastbas")
    with stopwatch() as took:
        loaded = load(engine, n)
    emit("load_s", round(took(), 1), "s")
    emit("pending_timers", n, "rows")
    if profiling:
        profile(engine, loaded)
        return
    say("EXPLAIN of a sweep with nothing due:")
    explain(engine, loaded)
    zero_due(engine, loaded)
    ours_fire = fire(engine, loaded)
    ours_startup = startup_ours()
    sample = ADD_SAMPLE.get(n, min(n, 5_000))
    ours_add = add_ours(engine, n, sample)
    theirs = apscheduler(database, loaded, n, sample)
    emit("ratio_add", round(theirs["add"] / ours_add, 2), "ratio")
    emit("ratio_startup", round(theirs["startup"] / ours_startup, 2), "ratio")
    emit("ratio_fire_10k", round(theirs["fire"] / ours_fire, 2), "ratio")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} timers")
    parser.add_argument("--timers", type=int, default=None, help=f"default {FULL:,}")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="cProfile the firing instead")
    args = parser.parse_args(argv)
    n = args.timers or (QUICK if args.quick else FULL)
    n -= n % TIMERS_PER_CASE
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        databases = sqlite_databases if kind == "sqlite" else postgres_databases
        with databases() as new_database:
            load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
            say(f"# {n:,} timers on {describe(kind)}, Python {sys.version.split()[0]}, "
                f"load average {load_avg}")  # fmt: skip
            RUN["db"] = kind
            benchmark(new_database, n, profiling=args.profile)


if __name__ == "__main__":
    # Run in the importable module, so APScheduler's pickled jobs can refer to `remind`.
    from bench.timers import main as run

    run()
