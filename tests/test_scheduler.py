"""The scheduler process and `vastbas tick`, as an operator runs them, against a real SMTP server.

The restart tests run `vastbas scheduler` as a real process on a SQLite file, stop it (SIGTERM)
or kill it (SIGKILL) while reminders are due, start it again, and count the messages an
aiosmtpd server received by Message-ID: every reminder arrives exactly once. Waits are
bounded polls of the database; no test sleeps until a deadline, the timers are made due.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from builders import case_at, municipality
from click.testing import CliRunner, Result
from mailserver import Inbox, MailServer

from vastbas import clock
from vastbas import scheduler as scheduler_module
from vastbas.calendar import STOCKHOLM, local_date, next_working_day
from vastbas.cli import _instant, cli
from vastbas.db import make_engine, session_factory
from vastbas.migrations import upgrade_database
from vastbas.models import Case, Notification, Timer
from vastbas.scheduler import build_scheduler
from vastbas.settings import Settings

WAIT_S = 20.0
TICK_LINE = re.compile(
    r"Påminnelser: (?P<fired>\d+) utlösta, (?P<notifications>\d+) meddelanden; "
    r"e-post: (?P<sent>\d+) skickade, (?P<waiting>\d+) väntar, (?P<failed>\d+) misslyckade; "
    r"dagsöversikter: (?P<digests>\d+)"
)


def wait_for(what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll `done` until it is true; fail (never hang) after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.1)
    pytest.fail(f"waited {timeout:.0f} s for {what}")


# ---------------------------------------------------------------------------- the jobs


def test_the_scheduler_has_exactly_the_fixed_jobs() -> None:
    settings = Settings(sweep_interval_s=60, outbox_interval_s=30, digest_hour=7)

    jobs = {job.id: job for job in build_scheduler(settings, None).get_jobs()}  # type: ignore[arg-type]

    assert set(jobs) == {"sweep", "outbox", "digest", "retention"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
    assert {name: job.misfire_grace_time for name, job in jobs.items()} == {
        "sweep": 3600,
        "outbox": 3600,
        "digest": 6 * 3600,
        "retention": 3600,
    }
    assert isinstance(jobs["sweep"].trigger, IntervalTrigger)
    assert jobs["sweep"].trigger.interval == timedelta(seconds=60)
    assert isinstance(jobs["outbox"].trigger, IntervalTrigger)
    assert jobs["outbox"].trigger.interval == timedelta(seconds=30)
    digest, retention = jobs["digest"].trigger, jobs["retention"].trigger
    assert isinstance(digest, CronTrigger) and isinstance(retention, CronTrigger)
    assert str(digest.timezone) == str(retention.timezone) == "Europe/Stockholm"
    assert {f.name: str(f) for f in digest.fields if not f.is_default} == {
        "day_of_week": "mon-fri",
        "hour": "7",
        "minute": "0",
    }
    after = datetime(2026, 6, 1, 12, tzinfo=STOCKHOLM)
    assert retention.get_next_fire_time(None, after) == datetime(
        2026, 6, 2, 3, 30, tzinfo=STOCKHOLM
    )


def test_a_failing_job_is_logged_without_its_message_and_the_next_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = []
    # What a database error's message may quote: a statement's parameters.
    personal = " ".join(["Alice Andersson", "20120101-9801"])

    def failing(sessions, settings):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise ValueError(personal)

    with caplog.at_level(logging.INFO, logger="vastbas.scheduler"):
        scheduler_module._guarded("sweep", failing, None, Settings())  # type: ignore[arg-type]
        scheduler_module._guarded("sweep", failing, None, Settings())  # type: ignore[arg-type]

    assert len(calls) == 2
    assert "job sweep failed (ValueError)" in caplog.text
    assert "Alice" not in caplog.text and "20120101" not in caplog.text


# ------------------------------------------------------------- a real scheduler process


def vastbas_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("vastbas")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "vastbas.cli", *args]


class Database:
    """The SQLite file the scheduler processes share, read in short transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url, poolclass=sa.NullPool)
        self.sessions = session_factory(self.engine)

    def scalar(self, query: sa.Select) -> int:  # type: ignore[type-arg]
        with self.sessions() as db:
            return int(db.scalar(query) or 0)

    def timer_statuses(self, ids: list[int]) -> Counter[str]:
        with self.sessions() as db:
            return Counter(db.scalars(sa.select(Timer.status).where(Timer.id.in_(ids))))

    def mail_ids(self, *statuses: str) -> list[str]:
        with self.sessions() as db:
            return list(
                db.scalars(
                    sa.select(Notification.message_id).where(
                        Notification.email.is_not(None), Notification.status.in_(statuses)
                    )
                )
            )

    def all_sent(self, due: list[int]) -> bool:
        """Every due timer fired and every e-mail of the outbox sent."""
        fired = self.timer_statuses(due)
        return (
            fired["pending"] + fired["claimed"] == 0
            and not self.mail_ids("pending", "sending")
            and bool(self.mail_ids("sent"))
        )


@pytest.fixture
def due_database(tmp_path: Path) -> Iterator[tuple[Database, list[int]]]:
    """A migrated SQLite file with three cases whose every pending timer is already due."""
    url = f"sqlite:///{tmp_path / 'vastbas.sqlite3'}"
    upgrade_database(url)
    database = Database(url)
    with database.sessions() as db:
        people = municipality(db)
        case_at(db, people, "request", n=1, unit=0)
        case_at(db, people, "pre_meeting", n=2, unit=1)
        case_at(db, people, "interventions", n=3, unit=2)
        db.commit()
        due = list(db.scalars(sa.select(Timer.id).where(Timer.status == "pending")))
        db.execute(sa.update(Timer).values(fire_at=clock.now() - timedelta(minutes=1)))
        db.commit()
    assert len(due) >= 8
    yield database, due
    database.engine.dispose()


class SchedulerProcess:
    """`vastbas scheduler` in a process of its own, its log in a file."""

    def __init__(self, database: Database, mail: MailServer, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "VASTBAS_SMTP_HOST": "127.0.0.1",
            "VASTBAS_SMTP_PORT": str(mail.port),
            "VASTBAS_SWEEP_INTERVAL": "1",
            "VASTBAS_OUTBOX_INTERVAL": "1",
            # A short lease, so a restart takes over a killed process's claims at once.
            "VASTBAS_LEASE_SECONDS": "2",
        }
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                vastbas_command("scheduler"), env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_started(self) -> None:
        wait_for("the scheduler to start", lambda: "scheduler: started" in self.log_text())

    def stop(self) -> int:
        """SIGTERM, then the exit code (bounded; a hang is killed and fails the test)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the scheduler did not stop on SIGTERM:\n{self.log_text()}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=WAIT_S)

    def ensure_gone(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def assert_delivered_exactly_once(database: Database, due: list[int], inbox: Inbox) -> None:
    sent = database.mail_ids("sent")
    received = inbox.message_ids()
    assert database.timer_statuses(due) == Counter({"fired": len(due)})
    assert database.mail_ids("pending", "sending", "failed") == []
    assert set(received) == set(sent)
    assert max(received.values()) == 1, [mid for mid, n in received.items() if n > 1]
    with database.sessions() as db:
        reminded = list(
            db.scalars(sa.select(Notification.dedupe_key).where(Notification.kind == "reminder"))
        )
    # A timer whose roles nobody holds yet (no kontaktperson before step 6) tells no one.
    timers = Counter(int(key.split(":")[1]) for key in reminded)
    assert set(timers) <= set(due)
    assert len(timers) > len(due) // 2


def test_a_scheduler_stopped_with_sigterm_and_started_again_sends_each_reminder_once(
    due_database: tuple[Database, list[int]], tmp_path: Path
) -> None:
    database, due = due_database
    inbox = Inbox()
    with MailServer(inbox) as mail:
        first = SchedulerProcess(database, mail, tmp_path / "first.log")
        try:
            first.wait_started()  # its first sweep and outbox pass are running now
            assert first.stop() == 0, first.log_text()
        finally:
            first.ensure_gone()
        assert "scheduler: stopped" in first.log_text()

        second = SchedulerProcess(database, mail, tmp_path / "second.log")
        try:
            # The first may have sent everything already: a SIGTERM before the second has
            # set up its signal handlers would kill it instead of stopping it.
            second.wait_started()
            wait_for("every reminder to be sent", lambda: database.all_sent(due))
            assert second.stop() == 0, second.log_text()
        finally:
            second.ensure_gone()

    assert_delivered_exactly_once(database, due, inbox)
    assert "Traceback" not in first.log_text() + second.log_text()


def test_a_scheduler_killed_in_the_middle_of_sending_loses_and_repeats_nothing(
    due_database: tuple[Database, list[int]], tmp_path: Path
) -> None:
    database, due = due_database
    inbox = Inbox(hold_at=2)
    with MailServer(inbox) as mail:
        first = SchedulerProcess(database, mail, tmp_path / "first.log")
        try:
            wait_for("the first process to be sending", inbox.holding.is_set)
            first.kill()  # SIGKILL while its second message waits for the server's answer
        finally:
            first.ensure_gone()
        inbox.release.set()
        assert len(inbox.received) == 1
        assert database.mail_ids("sending"), "the killed process left no claimed mail"

        second = SchedulerProcess(database, mail, tmp_path / "second.log")
        try:
            # The first may have sent everything already: a SIGTERM before the second has
            # set up its signal handlers would kill it instead of stopping it.
            second.wait_started()
            wait_for("every reminder to be sent", lambda: database.all_sent(due))
            assert second.stop() == 0, second.log_text()
        finally:
            second.ensure_gone()

    assert_delivered_exactly_once(database, due, inbox)
    assert "Traceback" not in second.log_text()


# ------------------------------------------------------------------------ vastbas tick


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_tick_a_year_later_sends_the_reminders_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'vastbas.sqlite3'}"
    inbox = Inbox()
    with MailServer(inbox) as mail:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("VASTBAS_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VASTBAS_SMTP_PORT", str(mail.port))
        assert run("init-db").exit_code == 0
        assert run("demo").exit_code == 0
        # 09:00 Stockholm time on a working day a year from now, written without a zone.
        later = next_working_day(local_date(clock.now()) + timedelta(days=365))
        at = f"{later.isoformat()}T09:00"

        first = run("tick", "--now", at)
        second = run("tick", "--now", at)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    did = {k: int(v) for k, v in TICK_LINE.search(first.stdout).groupdict().items()}  # type: ignore[union-attr]
    again = {k: int(v) for k, v in TICK_LINE.search(second.stdout).groupdict().items()}  # type: ignore[union-attr]
    assert did["fired"] > 40 and did["notifications"] > 40 and did["digests"] > 0
    assert (did["waiting"], did["failed"]) == (0, 0)
    assert did["sent"] == len(inbox.received) > 40
    assert again == dict.fromkeys(again, 0)
    assert max(inbox.message_ids().values()) == 1
    subjects = Counter(str(r.message["Subject"]).split(":")[0] for r in inbox.received)
    assert subjects["Påminnelse"] + subjects["Försenat"] > 0
    assert subjects["Västbas"] == did["digests"]
    engine = make_engine(url)
    with engine.connect() as connection:
        children = connection.execute(sa.select(Case.child_name, Case.child_personnummer)).all()
    engine.dispose()
    for received in inbox.received:
        text = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for name, personnummer in children:
            assert name not in text and personnummer not in text


def test_tick_reads_a_time_without_zone_as_stockholm_time() -> None:
    assert _instant("2026-03-30T07:00") == datetime(2026, 3, 30, 5, 0, tzinfo=UTC)
    assert _instant("2026-12-01T07:00") == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    assert _instant("2026-12-01T07:00+00:00") == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_tick_refuses_a_time_it_cannot_read() -> None:
    result = run("tick", "--now", "i morgon")

    assert result.exit_code == 2
    assert "ingen tidpunkt" in result.output


# ----------------------------------------------------------------------- vastbas serve


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """`serve` with run_simple replaced by a stand-in that notes what was running."""
    url = f"sqlite:///{tmp_path / 'vastbas.sqlite3'}"
    upgrade_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("VASTBAS_EMBEDDED_SCHEDULER", raising=False)
    seen: dict[str, object] = {"schedulers": []}
    real_build = scheduler_module.build_scheduler

    def build(settings, sessions):  # type: ignore[no-untyped-def]
        made = real_build(settings, sessions)
        seen["schedulers"].append(made)  # type: ignore[attr-defined]
        return made

    def run_simple(host, port, app, **options):  # type: ignore[no-untyped-def]
        seen["options"] = options
        seen["running"] = [s.running for s in seen["schedulers"]]  # type: ignore[attr-defined]

    monkeypatch.setattr(scheduler_module, "build_scheduler", build)
    monkeypatch.setattr("werkzeug.serving.run_simple", run_simple)
    return seen


def test_serve_runs_one_scheduler_in_the_process_and_stops_it(served: dict[str, object]) -> None:
    result = run("serve", "--port", "5999")

    assert result.exit_code == 0, result.output
    assert served["running"] == [True]
    assert served["options"].get("use_reloader", False) is False  # type: ignore[attr-defined]
    assert [s.running for s in served["schedulers"]] == [False]  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_without_the_scheduler(
    served: dict[str, object], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv("VASTBAS_EMBEDDED_SCHEDULER", "0")
    args = ["serve", "--port", "5999"] + (["--no-scheduler"] if how == "option" else [])

    result = run(*args)

    assert result.exit_code == 0, result.output
    assert served["schedulers"] == []
    assert "running" in served
