"""Our timers at scale: the idle sweep, firing 10,000 at once, adding, starting up.

On the generated database (N pending timers spread over the year that starts a day
after generation): `sweep_zero_due_ms` is the median of whole sweeps with nothing due
(with its parts, the claim and the stalled-case check); `fire_10k_s` is one sweep at the
instant the 10,000 earliest timers fall due, checked to fire exactly those and to write
one notification per recipient; `add_s` adds reminders the way services do
(`deadlines.start`, one transaction each) on a sample, extrapolated to N; `startup_s`
is our scheduler from start() to its first pass. The EXPLAIN of every statement of an
idle sweep goes to stderr.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from bench.common import Figures, Scale, say, stopwatch
from bench.databases import Database
from bench.generate import Generated
from vastbas import clock
from vastbas.calendar import local_date
from vastbas.db import make_engine, session_factory
from vastbas.models import Base, Case, Notification
from vastbas.scheduler import build_scheduler
from vastbas.services import deadlines as deadline_service
from vastbas.settings import Settings
from vastbas.sweep import SweepReport, claim_due, remind_stalled, sweep
from vastbas.workflow import workflow_named

TARGET_ZERO_DUE_MS = 5
TARGET_FIRE_S = 10
SETTINGS = Settings(base_url="https://vastbas.example")


@dataclass(frozen=True)
class Ours:
    """Our figures the peers are compared with."""

    fire_s: float
    add_s: float
    startup_s: float
    zero_due_ms: float


def run(database: Database, generated: Generated, scale: Scale, figures: Figures) -> Ours:
    engine = database.engine
    say("  EXPLAIN of a sweep with nothing due:")
    explain(engine, generated, figures)
    idle = zero_due(engine, generated, scale, figures)
    fired = fire(engine, generated, scale, figures)
    started = startup(figures)
    added = add(engine, scale, figures)
    return Ours(fired, added, started, idle)


def zero_due(engine: sa.Engine, generated: Generated, scale: Scale, figures: Figures) -> float:
    """Median time of a whole sweep with nothing due, and of its two parts."""
    sessions = session_factory(engine)
    now = generated.start

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

    median = 0.0
    for name, part in (("claim", claim_only), ("stalled_check", stalled_only), ("sweep", whole)):
        part()  # warm: statement cache, pool
        times = []
        for _ in range(scale.zero_due_runs):
            with stopwatch() as took:
                part()
            times.append(took() * 1000)
        median = statistics.median(times)
        target = TARGET_ZERO_DUE_MS if name == "sweep" else None
        figures.emit(f"{name}_zero_due_ms", round(median, 2), "ms", target)
    return median


def explain(engine: sa.Engine, generated: Generated, figures: Figures) -> None:
    """EXPLAIN every statement of a sweep with nothing due, to stderr."""
    seen: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.split(None, 1)[0].upper() in ("SELECT", "UPDATE"):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        sweep(session_factory(engine), SETTINGS, now=generated.start)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    claim_plan = ""
    for statement, parameters in seen:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            connection.rollback()  # EXPLAIN ANALYZE of an UPDATE runs it: undo
        plan = "\n".join(f"      {row[-1]}" for row in rows)
        say(f"    {' '.join(statement.split())[:70]}\n{plan}")
        if statement.startswith("UPDATE timers"):
            claim_plan = plan
    figures.emit("claim_uses_due_index", int("ix_timers_due" in claim_plan), "bool", 1)


def due_instant(generated: Generated, due: int) -> Any:
    """The instant at which exactly the `due` earliest timers are due."""
    return sorted(generated.fire_at)[due - 1]


def fire(engine: sa.Engine, generated: Generated, scale: Scale, figures: Figures) -> float:
    """One sweep at the instant the `due` earliest timers fall due; checks what it wrote."""
    due_at = due_instant(generated, scale.due)
    sessions = session_factory(engine)
    cpu = time.process_time()
    with stopwatch() as took:
        report = sweep(sessions, SETTINGS, now=due_at)
    cpu = time.process_time() - cpu
    expected = sum(
        r for r, at in zip(generated.recipients, generated.fire_at, strict=True) if at <= due_at
    )
    with engine.connect() as connection:
        made = connection.scalar(sa.select(sa.func.count()).select_from(Notification))
    if (report.fired, report.notifications, made) != (scale.due, expected, expected):
        raise RuntimeError(f"fired {report.fired}, {report.notifications}/{made} of {expected}")
    figures.emit("fire_10k_s", round(took(), 2), "s", TARGET_FIRE_S, due=scale.due)
    figures.emit("fire_10k_cpu_s", round(cpu, 2), "s")
    figures.emit("fire_10k_notifications", expected, "rows")
    return took()


def add(engine: sa.Engine, scale: Scale, figures: Figures) -> float:
    """Reminders added the way services add them: `deadlines.start`, one transaction each."""
    sessions = session_factory(engine)
    definition = workflow_named("vastbas").deadlines["evaluation"]
    per_deadline = len(definition.reminders)
    with sessions() as db:
        open_cases = sa.select(Case).where(Case.closed_at.is_(None)).order_by(Case.id)
        cases = list(db.scalars(open_cases.limit(scale.add_sample // per_deadline)))
    today = local_date(clock.now())
    with stopwatch() as took:
        for case in cases:
            with sessions() as db:
                deadline_service.start(db, case, definition, counted_from=today, now=clock.now())
                db.commit()
    added = len(cases) * per_deadline
    extrapolated = took() / added * scale.timers
    note = f"extrapolated linearly from {added:,} reminders added in {took():.2f} s"
    figures.emit("add_s", round(extrapolated, 1), "s", note=note)
    return extrapolated


def startup(figures: Figures) -> float:
    """Our scheduler, start() to first pass done: four fixed jobs, nothing loaded.

    Its jobs then run once at start against an empty side database (not timed).
    """
    with tempfile.TemporaryDirectory(prefix="vastbas-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'side.sqlite3'}")
        Base.metadata.create_all(engine)
        scheduler = build_scheduler(SETTINGS, session_factory(engine))
        took = time_first_pass(scheduler)
        scheduler.shutdown(wait=True)
        engine.dispose()
    figures.emit("startup_s", round(took, 4), "s")
    return took


def time_first_pass(scheduler: BackgroundScheduler) -> float:
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
