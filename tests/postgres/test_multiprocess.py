"""Production mode on PostgreSQL: gunicorn workers and scheduler processes on one database.

Two gunicorn workers (web/gunicorn_conf.py) and three `vastbas scheduler` processes run
against a schema that `vastbas init-db` migrated. Several clients log in over HTTP and
move 200 cases on at once, some of them racing for the same case with the same version;
meanwhile the schedulers fire the cases' overdue reminders into one real SMTP server.
Afterwards the database must agree with every answer the clients got and with itself,
and every reminder must have arrived exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest
import sqlalchemy as sa
from mailserver import MailServer
from processes import Site, postgres_site, stop_all, wait_for
from workload import (
    Ledger,
    WebUser,
    all_mail_settled,
    build_cases,
    case_problems,
    due_timers,
    mails,
    timer_statuses,
)

from vastbas.models import Case, Notification

pytestmark = pytest.mark.postgres

CASES = 200
CLIENTS = 4
SCHEDULER_ENV = {
    "VASTBAS_SWEEP_INTERVAL": "1",
    "VASTBAS_OUTBOX_INTERVAL": "1",
    # Small batches, so the three schedulers share the due timers between them.
    "VASTBAS_BATCH_SIZE": "20",
}
REASON = "Andra insatser räcker; inte ett Västbasärende."


def is_raced(n: int) -> bool:
    return n % 10 == 5


def records_consent(n: int) -> bool:
    return n % 4 == 2


def is_closed(n: int) -> bool:
    return n % 5 == 0


@pytest.fixture
def site(postgres_url: str, new_postgres_schema: Any, tmp_path: Path) -> Iterator[Site]:
    schema = new_postgres_schema()
    with postgres_site(postgres_url, schema, tmp_path, SCHEDULER_ENV, init_db_command=True) as site:
        yield site


def race(first: WebUser, second: WebUser, reference: str, ledger: Ledger) -> list[int | None]:
    """Two tabs open the same step form, see the same version, and send at once."""
    forms = [user.transition_form(reference, "start_assessment") for user in (first, second)]
    assert forms[0]["version"] == forms[1]["version"]
    start = threading.Barrier(2)

    def send(user: WebUser, fields: dict[str, str]) -> int | None:
        start.wait()
        return user.submit_transition(reference, "start_assessment", fields, ledger).status

    with ThreadPoolExecutor(2) as pool:
        return sorted(pool.map(send, [first, second], forms), key=str)


def drive(base_url: str, work: list[tuple[int, str]], ledger: Ledger) -> list[list[int | None]]:
    """One client: start each assessment, record some consents, close some cases.

    In a race the samordnare has the case open in two tabs and sends from both at once.
    """
    me = WebUser(base_url, "samordnare")
    me.log_in()
    other_tab = me.tab()
    races = []
    for n, reference in work:
        if is_raced(n):
            races.append(race(me, other_tab, reference, ledger))
        else:
            me.fire(reference, "start_assessment", ledger)
        if records_consent(n):
            me.record_consent(reference, ledger)
        if is_closed(n):
            me.fire(reference, "reject_case", ledger, reason=REASON)
    return races


def test_two_web_workers_and_three_schedulers_lose_nothing_and_send_each_reminder_once(
    site: Site,
) -> None:
    references = build_cases(site.engine, CASES)
    due = due_timers(site.engine)
    assert len(due) == 2 * CASES  # each assessment's reminder the day before, and overdue
    ledger = Ledger()

    with MailServer() as mail:
        web = site.processes.web(workers=2)
        schedulers = [
            site.processes.scheduler(f"scheduler-{i}", wait=False, **mail.env()) for i in range(3)
        ]
        work = list(enumerate(references, start=1))
        with ThreadPoolExecutor(CLIENTS) as clients:
            shares = [
                clients.submit(drive, web.url, work[i::CLIENTS], ledger) for i in range(CLIENTS)
            ]
            races = [statuses for share in shares for statuses in share.result()]
        for scheduler in schedulers:  # a SIGTERM before it is up would kill it, not stop it
            scheduler.wait_logged("scheduler: started")
        # Someone looks a child up by name: the name is in the query string, not in a log.
        searcher = WebUser(web.url, "samordnare")
        searcher.log_in()
        name = child_names(site.engine)[0]
        assert searcher.get("/cases?" + urlencode({"sok": name})).status_code == 200
        wait_for(
            "every reminder to be sent",
            lambda: all_mail_settled(site.engine, due),
            logs=site.processes.logs,
        )
        assert stop_all([*schedulers, web]) == [0, 0, 0, 0], site.processes.logs()

    # The races: one of the two won, the other was told the case had changed.
    assert races and all(statuses == [302, 409] for statuses in races), races
    assert ledger.statuses() == {302: len(ledger.answers) - len(races), 409: len(races)}
    assert case_problems(site.engine, ledger, exact=True) == []
    with site.engine.connect() as connection:
        states = dict(
            connection.execute(sa.select(Case.state, sa.func.count()).group_by(Case.state)).all()
        )
    closed = sum(is_closed(n) for n in range(1, CASES + 1))
    assert states == {"assessment": CASES - closed, "closed": closed}

    # Every due reminder fired once (or was cancelled by the closing), each mail arrived once.
    assert set(timer_statuses(site.engine, due)) <= {"fired", "cancelled"}
    outbox = mails(site.engine)
    assert set(outbox) == {"sent"}
    received = mail.message_ids()
    assert sorted(received) == sorted(outbox["sent"])
    assert set(received.values()) == {1}
    with site.engine.connect() as connection:
        reminders = connection.scalar(
            sa.select(sa.func.count()).where(Notification.kind == "reminder")
        )
    assert reminders >= CASES
    logs = site.processes.logs()
    # Production logs carry references, never a child's name; nothing crashed.
    assert "Traceback" not in logs
    leaked = [
        name
        for name in child_names(site.engine)
        if any(form in logs for form in (name, quote(name), quote_plus(name)))
    ]
    assert leaked == []
    assert "scheduler: started" not in web.log_text()


def child_names(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.select(Case.child_name).order_by(Case.id)))
