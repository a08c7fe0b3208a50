"""The e-mail outbox against a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

Each test sends through smtplib to a server on 127.0.0.1 that records what it gets, and
counts deliveries by Message-ID there: that is what "never lost, never sent twice" means.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from mailserver import MailServer
from sqlalchemy.orm import Session

from vastbas import demo, outbox
from vastbas.db import session_factory
from vastbas.enums import Organisation, Profession
from vastbas.errors import NotAllowed, NotFound, RuleBroken
from vastbas.messages import case_link, reminder_message
from vastbas.models import Case, Notification, Person
from vastbas.outbox import SendReport
from vastbas.services import notifications
from vastbas.settings import Settings

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
WHAT = "Bedömning av förfrågan"
DUE = date(2026, 12, 1)


@pytest.fixture
def server() -> Iterator[MailServer]:
    """A running SMTP server."""
    mail = MailServer()
    mail.start()
    yield mail
    mail.stop()


@pytest.fixture
def down() -> Iterator[MailServer]:
    """An SMTP server that is not running yet: its port refuses connections."""
    mail = MailServer()
    yield mail
    mail.stop()


@pytest.fixture
def people(db: Session) -> demo.People:
    return municipality(db)


@pytest.fixture
def walker(db: Session, people: demo.People) -> demo.Walker:
    walker = case_at(db, people, "assessment")
    db.commit()
    return walker


def queue(
    db: Session,
    walker: demo.Walker,
    recipient: Person,
    key: str,
    settings: Settings,
    *,
    now: datetime = NOW,
) -> bool:
    """Queue a reminder on the walker's case, as the sweep does, and commit."""
    # Not walker.case: it expires every object, and a lazy load later would hold
    # SQLite's write lock in the test's session while the sender needs it.
    case = db.execute(
        sa.select(Case.id, Case.reference).where(Case.reference == walker.reference)
    ).one()
    message = reminder_message(
        reference=case.reference,
        what=WHAT,
        due_on=DUE,
        overdue=False,
        link=case_link(settings.base_url, case.reference),
    )
    added = outbox.enqueue(
        db,
        dedupe_key=key,
        kind="reminder",
        recipient=recipient,
        case_id=case.id,
        message=message,
        now=now,
        settings=settings,
    )
    db.commit()
    return added


def rows(engine: sa.Engine) -> list[Notification]:
    """Every notification, read in a session of its own (no lock left behind on SQLite)."""
    with session_factory(engine)() as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_retry_delay_doubles_up_to_six_hours() -> None:
    delays = [outbox.retry_delay(n) for n in range(1, 12)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays[-1] == timedelta(hours=6)
    assert max(delays) == timedelta(hours=6)


def test_message_id_is_stable_and_ours() -> None:
    domain = outbox.mail_domain(Settings().mail_from)
    assert domain == "vastbas.example"
    first = outbox.make_message_id("reminder:1:0", domain)
    assert first == outbox.make_message_id("reminder:1:0", domain)
    assert first != outbox.make_message_id("reminder:1:1", domain)
    assert re.fullmatch(r"<[0-9a-f]{32}@vastbas\.example>", first)


def test_a_reminder_queued_twice_is_one_notification(db, engine, walker, people, server):
    assert queue(db, walker, people.samordnare, "r:1", server.settings) is True
    assert queue(db, walker, people.samordnare, "r:1", server.settings) is False

    (row,) = rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, NOW)
    assert row.email == people.samordnare.email
    assert row.message_id == outbox.make_message_id("r:1", "vastbas.example")


def test_send_delivers_once_in_utf8_with_the_stored_message_id(db, engine, walker, people, server):
    queue(db, walker, people.samordnare, "r:1", server.settings)
    (queued,) = rows(engine)

    assert outbox.send_due(engine, server.settings, now=NOW) == SendReport(sent=1)

    (got,) = server.received
    assert got.rcpt_tos == [people.samordnare.email]
    assert got.mail_from == "noreply@vastbas.example"
    assert got.message["Message-ID"] == queued.message_id
    assert got.message["Subject"] == f"Påminnelse: {WHAT} senast 2026-12-01 – {walker.reference}"
    assert got.message["Auto-Submitted"] == "auto-generated"
    text = got.message.get_body(("plain",)).get_content()
    html = got.message.get_body(("html",)).get_content()
    assert "Att göra: Bedömning av förfrågan" in text
    assert "måndag" not in text and "tisdag 1 december 2026" in text
    assert "Öppna ärendet" in html and walker.reference in html
    (sent,) = rows(engine)
    assert (sent.status, sent.sent_at, sent.claim_token) == ("sent", NOW, None)

    assert outbox.send_due(engine, server.settings, now=NOW + timedelta(hours=1)) == SendReport()
    assert len(server.received) == 1


def test_a_person_without_email_gets_the_notification_in_the_app_only(db, engine, walker, server):
    contact = Person(
        name="Extern kontakt",
        organisation=Organisation.EXTERN,
        profession=Profession.ANNAN,
        created_at=NOW,
    )
    db.add(contact)
    db.commit()
    queue(db, walker, contact, "r:1", server.settings)

    assert outbox.send_due(engine, server.settings, now=NOW) == SendReport()
    assert server.received == []
    (row,) = rows(engine)
    assert (row.status, row.email, row.next_attempt_at) == ("none", None, None)
    assert [v.id for v in notifications.list_for(db, contact.id)] == [row.id]


def test_without_an_smtp_host_nothing_is_claimed(db, engine, walker, people):
    settings = Settings()
    queue(db, walker, people.samordnare, "r:1", settings)

    assert outbox.send_due(engine, settings, now=NOW) == SendReport()
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("pending", 0)


def test_smtp_down_loses_nothing_and_each_is_sent_once_when_it_is_back(
    db, engine, walker, people, down
):
    recipients = [people.samordnare, people.admin, *people.koordinatorer[:2]]
    for i, person in enumerate(recipients):
        queue(db, walker, person, f"r:{i}", down.settings)

    assert outbox.send_due(engine, down.settings, now=NOW) == SendReport(retried=4)
    for row in rows(engine):
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.next_attempt_at == NOW + timedelta(minutes=1)
        assert row.claim_token is None
        assert row.last_error.startswith("SMTP-servern kunde inte nås")

    down.start()
    assert outbox.send_due(engine, down.settings, now=NOW + timedelta(seconds=30)) == SendReport()
    assert down.received == []

    later = NOW + timedelta(minutes=2)
    assert outbox.send_due(engine, down.settings, now=later) == SendReport(sent=4)
    assert outbox.send_due(engine, down.settings, now=later) == SendReport()
    ids = down.inbox.message_ids()
    assert sorted(ids) == sorted(row.message_id for row in rows(engine))
    assert set(ids.values()) == {1}
    assert {r.rcpt_tos[0] for r in down.received} == {p.email for p in recipients}


def test_an_outage_never_makes_a_message_fail(db, engine, walker, people, down):
    settings = replace(down.settings, max_send_attempts=2)
    queue(db, walker, people.samordnare, "r:1", settings)

    now = NOW
    for attempt in range(1, 5):
        assert outbox.send_due(engine, settings, now=now) == SendReport(retried=1)
        (row,) = rows(engine)
        assert (row.status, row.attempts) == ("pending", attempt)
        now = row.next_attempt_at


def test_a_refused_address_fails_and_an_admin_can_send_it_again(
    db, engine, walker, people, server, caplog
):
    caplog.set_level("INFO", logger="vastbas.outbox")
    server.inbox.refuse[people.admin.email] = "550 5.1.1 Mailbox unavailable"
    queue(db, walker, people.samordnare, "r:ok", server.settings)
    queue(db, walker, people.admin, "r:bad", server.settings)

    assert outbox.send_due(engine, server.settings, now=NOW) == SendReport(sent=1, failed=1)
    ok, bad = rows(engine)
    assert ok.status == "sent"
    assert (bad.status, bad.attempts, bad.sent_at) == ("failed", 1, None)
    assert bad.last_error.startswith("SMTP 550: 5.1.1 Mailbox unavailable")
    assert [r.rcpt_tos for r in server.received] == [[people.samordnare.email]]
    for secret in (people.admin.email, people.samordnare.email, WHAT, "Ärende"):
        assert secret not in caplog.text

    with pytest.raises(NotAllowed):
        outbox.resend(db, bad.id, actor_is_admin=False, now=NOW)
    with pytest.raises(RuleBroken):
        outbox.resend(db, ok.id, actor_is_admin=True, now=NOW)
    with pytest.raises(NotFound):
        outbox.resend(db, 10_000, actor_is_admin=True, now=NOW)

    later = NOW + timedelta(hours=1)
    outbox.resend(db, bad.id, actor_is_admin=True, now=later)
    again = rows(engine)[1]
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, later)
    assert again.message_id == bad.message_id

    del server.inbox.refuse[people.admin.email]
    assert outbox.send_due(engine, server.settings, now=later) == SendReport(sent=1)
    assert server.received[-1].message["Message-ID"] == bad.message_id
    assert server.received[-1].rcpt_tos == [people.admin.email]


def test_a_temporary_refusal_backs_off_then_gives_up(db, engine, walker, people, server):
    settings = replace(server.settings, max_send_attempts=3)
    server.inbox.refuse[people.samordnare.email] = "451 4.3.0 Try again later"
    queue(db, walker, people.samordnare, "r:1", settings)

    assert outbox.send_due(engine, settings, now=NOW) == SendReport(retried=1)
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == NOW + timedelta(minutes=1)
    assert row.last_error.startswith("SMTP 451")

    assert outbox.send_due(engine, settings, now=row.next_attempt_at) == SendReport(retried=1)
    (row,) = rows(engine)
    assert row.attempts == 2
    assert row.next_attempt_at == NOW + timedelta(minutes=1 + 2)

    assert outbox.send_due(engine, settings, now=row.next_attempt_at) == SendReport(failed=1)
    (row,) = rows(engine)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "gav upp efter 3 försök" in row.last_error
    assert server.received == []


def test_a_dropped_connection_retries_that_message_and_sends_the_rest(
    db, engine, walker, people, server
):
    first, dropped, last = people.koordinatorer[:3]
    server.inbox.hang_up_on.add(dropped.email)
    for i, person in enumerate((first, dropped, last)):
        queue(db, walker, person, f"r:{i}", server.settings)

    assert outbox.send_due(engine, server.settings, now=NOW) == SendReport(sent=2, retried=1)
    assert [r.rcpt_tos for r in server.received] == [[first.email], [last.email]]
    assert [(r.status, r.attempts) for r in rows(engine)] == [
        ("sent", 0),
        ("pending", 1),
        ("sent", 0),
    ]

    later = NOW + timedelta(minutes=1)
    assert outbox.send_due(engine, server.settings, now=later) == SendReport(sent=1)
    assert set(server.inbox.message_ids().values()) == {1}
    assert len(server.received) == 3


def test_a_crashed_senders_claim_is_taken_over_when_its_lease_ends(
    db, engine, walker, people, server
):
    queue(db, walker, people.samordnare, "r:1", server.settings)
    sessions = session_factory(engine)
    crashed = outbox.claim_due(sessions, now=NOW, lease_s=300, limit=10)
    assert len(crashed.ids) == 1
    assert outbox.claim_due(sessions, now=NOW, lease_s=300, limit=10).ids == []

    during = NOW + timedelta(minutes=4)
    assert outbox.send_due(engine, server.settings, now=during) == SendReport()
    (row,) = rows(engine)
    assert (row.status, row.claim_token) == ("sending", crashed.token)

    after = NOW + timedelta(minutes=6)
    assert outbox.send_due(engine, server.settings, now=after) == SendReport(sent=1)
    assert outbox.send_due(engine, server.settings, now=after) == SendReport()
    assert server.inbox.message_ids() == Counter({row.message_id: 1})
    (row,) = rows(engine)
    assert (row.status, row.sent_at) == ("sent", after)


def test_senders_side_by_side_deliver_each_message_once(db, engine, walker, people, server):
    for i in range(24):
        queue(db, walker, people.koordinatorer[i], f"r:{i}", server.settings)
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while outbox.send_due(engine, server.settings, now=NOW, limit=3) != SendReport():
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    ids = server.inbox.message_ids()
    assert len(ids) == 24 and set(ids.values()) == {1}
    assert {row.status for row in rows(engine)} == {"sent"}


def test_messages_reveal_nothing_about_the_child(db, engine, walker, people, server):
    case = walker.case
    digits = re.sub(r"\D", "", case.child_personnummer)
    secrets = {
        case.child_name,
        *case.child_name.split(),
        case.child_personnummer,
        digits,
        digits[2:],
        f"{digits[2:8]}-{digits[8:]}",
    }
    for overdue in (False, True):
        message = reminder_message(
            reference=case.reference,
            what="Nätverksmöte 1 hållet (30-dagarsregeln)",
            due_on=DUE,
            overdue=overdue,
            link=case_link(server.settings.base_url, case.reference),
        )
        for part in (message.subject, message.body_text, message.body_html):
            assert case.reference in part
            assert not [s for s in secrets if s in part]

    queue(db, walker, people.samordnare, "r:1", server.settings)
    outbox.send_due(engine, server.settings, now=NOW)
    (got,) = server.received
    raw = got.message.as_string()
    for part in (raw, got.message.get_body(("plain",)).get_content()):
        assert not [s for s in secrets if s in part]


def test_the_app_lists_unread_first_and_marks_only_ones_own(db, engine, walker, people, server):
    me, other = people.samordnare, people.admin
    for i in range(3):
        queue(db, walker, me, f"r:{i}", server.settings, now=NOW + timedelta(minutes=i))
    queue(db, walker, other, "r:other", server.settings)
    first, second, third, theirs = (row.id for row in rows(engine))

    notifications.mark_read(db, me.id, third)
    listed = notifications.list_for(db, me.id)
    assert [(v.id, v.read) for v in listed] == [(second, False), (first, False), (third, True)]
    assert listed[0].case_reference == walker.reference
    assert listed[0].link == f"/cases/{walker.reference}"
    assert listed[0].subject.startswith("Påminnelse: ")
    assert notifications.unread_count(db, me.id) == 2
    assert len(notifications.list_for(db, me.id, limit=1)) == 1

    with pytest.raises(NotFound):
        notifications.mark_read(db, me.id, theirs)
    assert notifications.unread_count(db, other.id) == 1
