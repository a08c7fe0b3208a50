"""The peer for timers: APScheduler 3 with one job per reminder in a SQLAlchemyJobStore.

A SQLAlchemyJobStore in the same database (its own table, the same engine), one `date`
job per pending timer (run_date = fire_at, misfire_grace_time=None, coalesce), a no-op
job that counts, a thread-pool executor. Figures, each `apscheduler_jobstore_*`:
`add_s` (add_job one by one on a sample, extrapolated linearly to N; the other jobs go
straight into its table with the pickles add_job makes), `startup_s` (start() to its
first pass), `zero_due_ms`, `get_jobs_s` (listing: every row unpickled) and
`fire_10k_s` (the same 10,000 made due: start() until all ran). Each has its ratio to
ours, `apscheduler_jobstore_ratio_*` = APScheduler's time / ours (> 1: ours is faster).
"""

from __future__ import annotations

import pickle
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from bench.common import Figures, Scale, ratio, say, stopwatch
from bench.databases import Database
from bench.generate import Generated
from bench.sweep import Ours, due_instant, time_first_pass

PREFIX = "apscheduler_jobstore"


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


def _scheduler(store: SQLAlchemyJobStore) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(10)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )


def run(
    database: Database, generated: Generated, scale: Scale, figures: Figures, ours: Ours
) -> None:
    engine = database.engine
    n = len(generated.fire_at)
    sample = min(scale.add_sample, n)
    store = SQLAlchemyJobStore(engine=engine)
    scheduler = _scheduler(store)
    scheduler.start(paused=True)
    with stopwatch() as took:
        for timer_id in range(1, sample + 1):
            at = generated.fire_at[timer_id - 1]
            job = scheduler.add_job(remind, DateTrigger(at), args=[timer_id], id=str(timer_id))
    template = job.__getstate__()
    scheduler.shutdown()
    added = took() / sample * n
    note = f"extrapolated linearly from {sample:,} jobs added one by one in {took():.2f} s"
    figures.emit(f"{PREFIX}_add_s", round(added, 1), "s", note=note)
    figures.emit(f"{PREFIX}_ratio_add", ratio(added, ours.add_s), "x")

    say(f"  apscheduler: writing the other {n - sample:,} jobs into its table")
    table = store.jobs_t
    for first in range(sample + 1, n + 1, 20_000):
        rows = [
            _job_row(template, i, generated.fire_at[i - 1])
            for i in range(first, min(first + 20_000, n + 1))
        ]
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ANALYZE {table.name}")  # as autovacuum would

    scheduler = _scheduler(SQLAlchemyJobStore(engine=engine))
    started = time_first_pass(scheduler)
    figures.emit(f"{PREFIX}_startup_s", round(started, 4), "s")
    figures.emit(f"{PREFIX}_ratio_startup", ratio(started, ours.startup_s), "x")
    times = []
    for _ in range(scale.zero_due_runs):
        with stopwatch() as took:
            scheduler._jobstores["default"].get_due_jobs(datetime.now(UTC))
            scheduler._jobstores["default"].get_next_run_time()
        times.append(took() * 1000)
    idle = statistics.median(times)
    figures.emit(f"{PREFIX}_zero_due_ms", round(idle, 2), "ms")
    figures.emit(f"{PREFIX}_ratio_zero_due", ratio(idle, ours.zero_due_ms), "x")
    with stopwatch() as took:
        listed = len(scheduler.get_jobs())
    scheduler.shutdown()
    if listed != n:
        raise RuntimeError(f"APScheduler lists {listed} jobs, not {n}")
    figures.emit(f"{PREFIX}_get_jobs_s", round(took(), 2), "s")
    _fire(engine, generated, scale, figures, ours, template, table)


def _fire(
    engine: sa.Engine,
    generated: Generated,
    scale: Scale,
    figures: Figures,
    ours: Ours,
    template: dict[str, Any],
    table: sa.Table,
) -> None:
    """The same timers ours fired, made due with a run date just past; run them all."""
    n = len(generated.fire_at)
    due_at = due_instant(generated, scale.due)
    past = datetime.now(UTC) - timedelta(seconds=1)
    due = [i for i, at in enumerate(generated.fire_at, start=1) if at <= due_at]
    with engine.begin() as connection:
        connection.execute(
            table.update().where(table.c.id == sa.bindparam("job_id")),
            [dict(_job_row(template, i, past), job_id=str(i)) for i in due],
        )
    RAN.reset(scale.due)
    scheduler = _scheduler(SQLAlchemyJobStore(engine=engine))
    cpu = time.process_time()
    with stopwatch() as took:
        scheduler.start()
        if not RAN.done.wait(1800):
            raise RuntimeError(f"only {RAN.count} of {scale.due} APScheduler jobs ran")
    cpu = time.process_time() - cpu
    fired = took()
    scheduler.shutdown(wait=True)
    with engine.connect() as connection:
        left = connection.scalar(sa.select(sa.func.count()).select_from(table))
    if left != n - scale.due:
        raise RuntimeError(f"{left} APScheduler jobs left, expected {n - scale.due}")
    figures.emit(f"{PREFIX}_fire_10k_s", round(fired, 2), "s", due=scale.due)
    figures.emit(f"{PREFIX}_fire_10k_cpu_s", round(cpu, 2), "s")
    figures.emit(f"{PREFIX}_ratio_fire_10k", ratio(fired, ours.fire_s), "x")


def _job_row(template: dict[str, Any], timer_id: int, at: datetime) -> dict[str, Any]:
    state = dict(
        template, id=str(timer_id), args=(timer_id,), trigger=DateTrigger(at), next_run_time=at
    )
    return dict(
        id=str(timer_id),
        next_run_time=at.timestamp(),
        job_state=pickle.dumps(state, pickle.HIGHEST_PROTOCOL),
    )
