"""APScheduler wiring of the fixed jobs: the sweep, the outbox, the daily digest, retention.

APScheduler is the trigger, not the store (DESIGN.md, "Durability"): the jobs live in
memory and are the same in every process, and all state is in our own rows. So any number
of scheduler processes may run, and a restart loses nothing. The sweep, the outbox and
the digest also run once at start, so a process that was down catches up at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from vastbas import clock
from vastbas.calendar import STOCKHOLM
from vastbas.digest import send_digests
from vastbas.outbox import SendReport, send_due
from vastbas.services.gallring import GallringReport, gallra
from vastbas.settings import Settings
from vastbas.sweep import sweep

log = logging.getLogger(__name__)

# APScheduler's default grace is 1 s: a run late by more (a busy or suspended process)
# would be skipped. Late is fine for us; never is not.
GRACE_S = 3600
DIGEST_GRACE_S = 6 * 3600
RETENTION_AT = (3, 30)

Job = Callable[[sessionmaker[Session], Settings], Any]


def run_sweep(sessions: sessionmaker[Session], settings: Settings) -> str:
    """Fire every timer that is due now."""
    report = sweep(sessions, settings, now=clock.now())
    return f"{report.fired} timers fired, {report.notifications} notifications"


def run_outbox(sessions: sessionmaker[Session], settings: Settings) -> str:
    """Send what is due in the outbox, batch after batch while batches come back full."""
    total = drain_outbox(sessions, settings, now=clock.now, passes=10)
    return f"{total.sent} sent, {total.retried} to retry, {total.failed} failed"


def run_digest(sessions: sessionmaker[Session], settings: Settings) -> str:
    """Queue today's digests (send_digests itself skips weekends and holidays)."""
    return f"{send_digests(sessions, settings, now=clock.now())} digests queued"


def run_retention(sessions: sessionmaker[Session], settings: Settings) -> str:
    """Nightly thinning of closed cases (gallring)."""
    report = retention(sessions, settings, now=clock.now())
    return (
        f"{len(report.thinned)} closed cases thinned, {len(report.failed)} failed, "
        f"{report.skipped} left for the next run"
    )


def retention(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime
) -> GallringReport:
    """Thin the cases closed longer than VASTBAS_GALLRING_MONTHS, one transaction each.

    At 03:30, not in the 02:00–03:00 hour that a DST change skips or repeats; a second
    run (two schedulers, a repeated hour) would find nothing left to thin anyway.
    """
    with sessions() as db:
        return gallra(db, now, settings, dry_run=False)


def drain_outbox(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: Callable[[], datetime],
    passes: int,
) -> SendReport:
    """Run outbox passes until one handles less than a full batch (at most `passes`)."""
    sent = retried = failed = 0
    for _ in range(passes):
        report = send_due(sessions, settings, now=now())
        sent, retried, failed = sent + report.sent, retried + report.retried, failed + report.failed
        if report.sent + report.retried + report.failed < settings.batch_size:
            break
    return SendReport(sent, retried, failed)


def build_scheduler(settings: Settings, sessions: sessionmaker[Session]) -> BackgroundScheduler:
    """A scheduler (not started) with the four fixed jobs, in memory, in Stockholm time."""
    scheduler = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": GRACE_S},
        timezone=STOCKHOLM,
    )
    at_start = datetime.now(STOCKHOLM)

    def add(job: Job, trigger: Any, *, grace: int = GRACE_S, start: bool = False) -> None:
        name = job.__name__.removeprefix("run_")
        scheduler.add_job(
            _guarded,
            trigger,
            args=[name, job, sessions, settings],
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
            **({"next_run_time": at_start} if start else {}),
        )

    add(run_sweep, IntervalTrigger(seconds=settings.sweep_interval_s), start=True)
    add(run_outbox, IntervalTrigger(seconds=settings.outbox_interval_s), start=True)
    add(run_digest, digest_trigger(settings), grace=DIGEST_GRACE_S, start=True)
    hour, minute = RETENTION_AT
    add(run_retention, CronTrigger(hour=hour, minute=minute, timezone=STOCKHOLM))
    return scheduler


def digest_trigger(settings: Settings) -> CronTrigger:
    """Working-day mornings at the digest hour, Stockholm wall-clock time all year."""
    return CronTrigger(
        hour=settings.digest_hour, minute=0, day_of_week="mon-fri", timezone=STOCKHOLM
    )


def _guarded(name: str, job: Job, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Run one job; a failure is logged and the scheduler goes on with the next run.

    Only the exception's type and the stack are logged: a database error's message can
    quote the statement's parameters, and those may hold personal data.
    """
    started = time.monotonic()
    try:
        outcome = job(sessions, settings)
    except Exception as exc:
        log.error(
            "scheduler: job %s failed (%s)\n%s",
            name,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
        )
        return
    log.info("scheduler: job %s: %s (%.2f s)", name, outcome, time.monotonic() - started)


def run_forever(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Run the scheduler in the foreground until SIGTERM or SIGINT; finish running jobs."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("scheduler: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    scheduler = build_scheduler(settings, sessions)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        log.info(
            "scheduler: started (sweep every %s s, outbox every %s s, digest at %02d:00)",
            settings.sweep_interval_s,
            settings.outbox_interval_s,
            settings.digest_hour,
        )
        # A timeout, so the main thread wakes up for signals on every platform.
        while not stop.wait(1.0):
            pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)  # the running jobs finish their pass first
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler: stopped")
