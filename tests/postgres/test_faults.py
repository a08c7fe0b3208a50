"""Faults in production mode: a killed web server, a killed scheduler, a lost database, no SMTP.

Real gunicorn and `vastbas scheduler` processes on a PostgreSQL schema, real SMTP
(aiosmtpd), and a TCP proxy in front of PostgreSQL that the tests cut. After each fault
the database must hold every change that was acknowledged, no case half-written, and
each reminder must arrive exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import sqlalchemy as sa
from conftest import csrf_token
from mailserver import MailServer
from processes import Site, postgres_site, schema_url, wait_for
from tcp_proxy import TcpProxy
from workload import (
    VERSION,
    Ledger,
    WebUser,
    all_mail_settled,
    build_cases,
    case_problems,
    due_timers,
    mails,
    timer_statuses,
)

from vastbas import clock
from vastbas.db import make_engine
from vastbas.migrations import upgrade_database
from vastbas.models import Base, Event, Notification, Timer
from web import create_app
from web.i18n import t

postgres = pytest.mark.postgres

FAST = {"VASTBAS_SWEEP_INTERVAL": "1", "VASTBAS_OUTBOX_INTERVAL": "1"}
LEASE_S = 3


@pytest.fixture
def site(postgres_url: str, new_postgres_schema: Any, tmp_path: Path) -> Iterator[Site]:
    with postgres_site(postgres_url, new_postgres_schema(), tmp_path, FAST) as site:
        yield site


def assert_swedish_503(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text[:300]
    assert 'lang="sv"' in answer.text and t("error.503") in answer.text
    assert "Traceback" not in answer.text and "psycopg" not in answer.text
    assert answer.headers["Retry-After"]


# ------------------------------------------------------------------- kill -9 of the web server


@postgres
def test_a_web_server_killed_in_a_burst_of_changes_keeps_every_acknowledged_one(
    site: Site,
) -> None:
    references = build_cases(site.engine, 40)
    web = site.processes.web(workers=2)
    ledger = Ledger()

    def burst(work: list[str]) -> None:
        me = WebUser(web.url, "samordnare")
        try:
            me.log_in()
            for reference in work:
                me.fire(reference, "start_assessment", ledger)
                me.record_consent(reference, ledger)
        except requests.ConnectionError:
            return  # the server is gone; what was in flight is noted as unanswered

    with ThreadPoolExecutor(4) as clients:
        running = [clients.submit(burst, references[i::4]) for i in range(4)]
        wait_for(
            "30 acknowledged changes",
            lambda: sum(ledger.acknowledged().values()) >= 30,
            logs=site.processes.logs,
        )
        web.kill9()
        for client in running:
            client.result()

    asked = {answer.reference for answer in ledger.answers}
    untouched = [reference for reference in references if reference not in asked]
    assert untouched, "the burst was over before the kill"
    assert case_problems(site.engine, ledger, exact=False) == []
    # A new server on the same database goes on from where the killed one stopped.
    again = site.processes.web(workers=1)
    me = WebUser(again.url, "samordnare")
    me.log_in()
    assert me.fire(untouched[0], "start_assessment", ledger).status == 302
    assert me.record_consent(untouched[0], ledger).status == 302
    assert case_problems(site.engine, ledger, exact=False) == []
    assert "Traceback" not in again.log_text()


# ----------------------------------------------------------------- kill -9 of a scheduler


@postgres
def test_a_scheduler_killed_in_the_middle_of_a_sweep_is_taken_over_after_its_lease(
    site: Site,
) -> None:
    build_cases(site.engine, 30)
    due = due_timers(site.engine)
    assert len(due) == 60
    env = {"VASTBAS_LEASE_SECONDS": str(LEASE_S), "VASTBAS_BATCH_SIZE": "10"}
    with MailServer() as mail:
        env |= mail.env()
        with site.engine.connect() as blocker:
            # Holding the outbox table stops the sweep after its claim, where it writes.
            blocker.exec_driver_sql("LOCK TABLE notifications IN SHARE ROW EXCLUSIVE MODE")
            doomed = site.processes.scheduler("doomed", **env)
            wait_for(
                "the sweep to claim and wait",
                lambda: sweep_waits(site.engine),
                logs=site.processes.logs,
            )
            held = claimed(site.engine)
            doomed.kill9()
            blocker.rollback()
        assert len(held) == 10 and len({token for token, _until in held.values()}) == 1

        successor = site.processes.scheduler("successor", **env)
        wait_for(
            "every reminder to be sent",
            lambda: all_mail_settled(site.engine, due),
            logs=site.processes.logs,
        )
        assert successor.stop() == 0

    assert timer_statuses(site.engine, due) == {"fired": len(due)}
    with site.engine.connect() as connection:
        fired = connection.execute(
            sa.select(Timer.id, Timer.claim_token, Timer.fired_at).where(Timer.id.in_(held))
        ).all()
        reminders = connection.scalar(
            sa.select(sa.func.count()).where(Notification.kind == "reminder")
        )
    for timer_id, token, fired_at in fired:
        doomed_token, until = held[timer_id]
        assert token != doomed_token and fired_at >= until  # taken over, after the lease
    assert reminders == len(due)  # one samordnare per timer, each told once
    assert_each_mail_once(site.engine, mail)


def sweep_waits(engine: sa.Engine) -> bool:
    """The sweep has claimed timers and waits for the lock on the outbox table."""
    with engine.connect() as connection:
        waiting = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE NOT granted "
            "AND relation = to_regclass(current_schema() || '.notifications')"
        ).scalar_one()
    return waiting > 0 and bool(claimed(engine))


def claimed(engine: sa.Engine) -> dict[int, tuple[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Timer.id, Timer.claim_token, Timer.claimed_until).where(
                Timer.status == "claimed"
            )
        )
        return {row.id: (row.claim_token, row.claimed_until) for row in rows}


def assert_each_mail_once(engine: sa.Engine, mail: MailServer) -> None:
    outbox = mails(engine)
    assert set(outbox) == {"sent"}
    received = mail.message_ids()
    assert sorted(received) == sorted(outbox["sent"])
    assert set(received.values()) == {1}


# -------------------------------------------------------------- the database out of reach


@postgres
def test_without_its_database_the_server_answers_503_in_swedish_and_recovers_by_itself(
    site: Site,
) -> None:
    (reference,) = build_cases(site.engine, 1)
    database = sa.make_url(site.url)
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        through_proxy = database.set(host="127.0.0.1", port=proxy.port)
        web = site.processes.web(
            workers=2, DATABASE_URL=through_proxy.render_as_string(hide_password=False)
        )
        me, newcomer = WebUser(web.url, "samordnare"), WebUser(web.url, "admin")
        me.log_in()
        assert me.get("/").status_code == 200
        form = me.transition_form(reference, "start_assessment")
        login = newcomer.form("/login")
        processes = [web.pid, *web.children()]

        proxy.cut()
        cut_at = time.monotonic()
        while time.monotonic() - cut_at < 2:  # a few seconds without the database
            assert_swedish_503(me.get("/"))
            assert_swedish_503(me.get(f"/cases/{reference}"))
            assert_swedish_503(me.post(f"/cases/{reference}/transitions/start_assessment", form))
            data = {**login, "username": "admin", "password": "demo"}
            assert_swedish_503(newcomer.post("/login", data))
            assert me.get("/health").status_code == 503
        proxy.restore()

        assert me.get("/").status_code == 200
        ledger = Ledger()
        assert me.fire(reference, "start_assessment", ledger).status == 302
        newcomer.log_in()
        assert [web.pid, *web.children()] == processes  # the same server, no restart
    assert case_problems(site.engine, ledger, exact=True) == []
    assert "Traceback" not in web.log_text()


# ---------------------------------------------------------------------------- SMTP is down


@postgres
def test_with_smtp_down_reminders_wait_in_the_outbox_and_go_once_when_it_is_back(
    site: Site,
) -> None:
    build_cases(site.engine, 10)
    due = due_timers(site.engine)
    mail = MailServer()  # made, not started: its port refuses connections
    try:
        scheduler = site.processes.scheduler(**mail.env())
        wait_for(
            "every reminder to wait for SMTP",
            lambda: all_waiting(site.engine, due),
            logs=site.processes.logs,
        )
        assert scheduler.stop() == 0
        assert set(mails(site.engine)) == {"pending"}  # nothing lost, nothing given up

        mail.start()
        # The first retry is a minute after the failure; the clock moves on past it.
        later = (clock.now() + timedelta(minutes=10)).isoformat()
        done = site.processes.run("tick", "--now", later, **mail.env())
        assert "0 väntar, 0 misslyckade" in done.stdout, done.stdout
        assert_each_mail_once(site.engine, mail)
    finally:
        mail.stop()
    assert timer_statuses(site.engine, due) == {"fired": len(due)}


def all_waiting(engine: sa.Engine, due: list[int]) -> bool:
    """Every due timer fired and every mail it made was tried, failed to connect, and waits."""
    with engine.connect() as connection:
        untried = connection.scalar(
            sa.select(sa.func.count()).where(
                Notification.email.is_not(None),
                sa.or_(Notification.status != "pending", Notification.attempts == 0),
            )
        )
    return timer_statuses(engine, due) == {"fired": len(due)} and untried == 0


# ------------------------------------------------------- every way the database can be lost


@postgres
def test_a_commit_cut_off_from_the_database_gives_503_and_changes_nothing(
    postgres_url: str, new_postgres_schema: Any
) -> None:
    schema = new_postgres_schema()
    upgrade_database(engine=schema)
    (reference,) = build_cases(schema, 1)
    database = sa.make_url(schema_url(postgres_url, schema))
    with TcpProxy(database.host or "127.0.0.1", database.port or 5432) as proxy:
        proxied = database.set(host="127.0.0.1", port=proxy.port)
        engine = make_engine(proxied.render_as_string(hide_password=False))
        app = create_app({"TESTING": True, "ENGINE": engine, "SECRET_KEY": "test-secret"})
        client = app.test_client()
        login = {"username": "samordnare", "password": "demo"}
        client.post("/login", data={"csrf_token": csrf_token(client), **login})
        path = f"/cases/{reference}/transitions/start_assessment"
        page = client.get(path).get_data(as_text=True)
        form = {"csrf_token": csrf_token(client, path), "version": VERSION.findall(page)[0]}
        # The network goes the moment the change is committed: the COMMIT never arrives.
        sa.event.listen(engine, "commit", lambda _connection: proxy.cut(), once=True)

        cut_off = client.post(path, data=form)
        proxy.restore()
        unchanged = [e.action for e in events(schema)]
        again = client.post(path, data=form)
        engine.dispose()

    assert cut_off.status_code == 503 and t("error.503") in cut_off.get_data(as_text=True)
    assert "start_assessment" not in unchanged
    assert again.status_code == 302  # the version the user saw is still the case's version
    assert [e.action for e in events(schema)].count("start_assessment") == 1


def events(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(Event.action).order_by(Event.id)))


def wrapped(
    kind: type[sa.exc.DBAPIError], driver: Exception | None = None, **options: Any
) -> Exception:
    """A driver's error as SQLAlchemy raises it."""
    driver = driver or psycopg.OperationalError("server closed the connection unexpectedly")
    return kind("SELECT 1", {}, driver, **options)  # type: ignore[arg-type]


def rollback_after_loss() -> Exception:
    """What a service meets when its rollback fails because the connection is gone."""
    try:
        try:
            raise wrapped(sa.exc.OperationalError)
        except sa.exc.OperationalError:
            raise sa.exc.ResourceClosedError("This Connection is closed") from None
    except sa.exc.ResourceClosedError as closed:
        return closed


LOST: dict[str, Callable[[], Exception]] = {
    "operational": lambda: wrapped(sa.exc.OperationalError),
    "interface": lambda: wrapped(sa.exc.InterfaceError, psycopg.InterfaceError("closed")),
    "invalidated": lambda: wrapped(sa.exc.DatabaseError, connection_invalidated=True),
    "disconnection": lambda: sa.exc.DisconnectionError("the connection was invalidated"),
    "pool-timeout": lambda: sa.exc.TimeoutError("QueuePool limit reached, timed out"),
    "driver": lambda: psycopg.OperationalError("connection failed: Connection refused"),
    "failed-rollback": rollback_after_loss,
}
NOT_LOST: dict[str, Callable[[], Exception]] = {
    "integrity": lambda: wrapped(sa.exc.IntegrityError, psycopg.errors.UniqueViolation("dup")),
    "bug": lambda: ValueError("a bug"),
}


@pytest.mark.parametrize("make_error", LOST.values(), ids=list(LOST))
def test_every_way_of_losing_the_database_gives_the_swedish_503_page(
    make_error: Callable[[], Exception], tmp_path: Path
) -> None:
    assert page_for(make_error(), tmp_path).status_code == 503


@pytest.mark.parametrize("make_error", NOT_LOST.values(), ids=list(NOT_LOST))
def test_other_errors_stay_500(make_error: Callable[[], Exception], tmp_path: Path) -> None:
    assert page_for(make_error(), tmp_path).status_code == 500


def page_for(error: Exception, tmp_path: Path) -> Any:
    """What the browser gets when a page meets `error`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'vastbas.sqlite3'}")
    Base.metadata.create_all(engine)
    app = create_app({"TESTING": True, "ENGINE": engine, "SECRET_KEY": "test-secret"})

    @app.get("/broken")
    def broken() -> None:
        raise error

    answer = app.test_client().get("/broken")
    engine.dispose()
    text = answer.get_data(as_text=True)
    assert 'lang="sv"' in text and "Traceback" not in text and "SELECT" not in text
    if answer.status_code == 503:
        assert t("error.503") in text and answer.headers["Retry-After"]
    return answer
