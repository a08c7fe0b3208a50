"""SIP's two time rules (001, p. 8), reminded on the right working day at 07:00.

The meeting within 30 days of the decision, and the invitation three weeks before the
meeting, over Christmas and New Year, where Trettondedag jul (6 January 2027) moves both
due dates. The sweep runs with an explicit `now`; the case is walked at a frozen time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from builders import municipality
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import demo, demo_sip
from vastbas.calendar import STOCKHOLM, holiday_name
from vastbas.db import session_factory
from vastbas.enums import CaseRole, MeetingKind
from vastbas.models import Notification
from vastbas.services import meetings
from vastbas.settings import Settings
from vastbas.sweep import sweep

SETTINGS = Settings(base_url="https://vastbas.example")
ONE_MINUTE = timedelta(minutes=1)
STALLED = "Ingen aktivitet i ärendet"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).astimezone(UTC)


class Sweeps:
    def __init__(self, engine: sa.Engine, db: Session) -> None:
        self.sessions = session_factory(engine)
        self.db = db
        self.seen = 0

    def told_at(self, at: datetime) -> list[tuple[str, int]]:
        """Run the sweep at `at`; the (subject, recipient) of each new reminder."""
        self.db.rollback()
        sweep(self.sessions, SETTINGS, now=at)
        with self.sessions() as session:
            rows = session.scalars(
                sa.select(Notification)
                .where(Notification.id > self.seen, Notification.kind == "reminder")
                .order_by(Notification.id)
            ).all()
        if rows:
            self.seen = rows[-1].id
        # The stalled-case reminder (no activity for 21 days) is another rule's business.
        return sorted((row.subject, row.recipient_id) for row in rows if STALLED not in row.subject)

    def fires_exactly_at(self, at: datetime) -> list[tuple[str, int]]:
        assert self.told_at(at - ONE_MINUTE) == [], f"fired before {at}"
        told = self.told_at(at)
        assert self.told_at(at) == []
        return told


@pytest.fixture
def people(db: Session) -> demo.People:
    made = municipality(db)
    db.commit()
    return made


def sip_decided_on_7_december(db: Session, people: demo.People) -> demo_sip.SipWalker:
    with freeze_time(local("2026-12-07T09:00")):
        case = demo_sip.register(db, people, 1, people.units[0])
        walker = demo_sip.SipWalker(db, people, case.reference)
        demo_sip.walk_to(walker, "invitation")
    return walker


def test_the_30_day_meeting_rule_is_reminded_before_and_after_the_holiday(
    db: Session, engine: sa.Engine, people: demo.People
) -> None:
    walker = sip_decided_on_7_december(db, people)
    boss = walker.holder(CaseRole.SAMMANKALLANDE)
    ref = walker.reference
    sweeps = Sweeps(engine, db)
    # 7 December + 30 days = 6 January, Trettondedag jul: due on Thursday 7 January.
    assert holiday_name(datetime(2027, 1, 6).date()) == "Trettondedag jul"
    # Five working days before 7 January, skipping Nyårsdagen and Nyårsafton: 28 December.
    assert sweeps.fires_exactly_at(local("2026-12-28T07:00")) == [
        (f"Påminnelse: SIP-möte hållet (30-dagarsregeln) senast 2027-01-07 – {ref}", boss)
    ]
    assert sweeps.fires_exactly_at(local("2027-01-08T07:00")) == sorted(
        (f"Försenat: SIP-möte hållet (30-dagarsregeln) sedan 2027-01-07 – {ref}", person)
        for person in (boss, people.samordnare.id)
    )


def test_the_invitation_three_weeks_ahead_says_only_kallelse_and_the_reference(
    db: Session, engine: sa.Engine, people: demo.People
) -> None:
    walker = sip_decided_on_7_december(db, people)
    boss = walker.holder(CaseRole.SAMMANKALLANDE)
    with freeze_time(local("2026-12-07T10:00")):
        walker.call(
            meetings.book_meeting,
            actor=boss,
            kind=MeetingKind.SIP_MEETING,
            starts_at=local("2027-01-27T10:00"),
        )
    sweeps = Sweeps(engine, db)
    subject = f"Kallelse till samordnad individuell plan {walker.reference}"
    # 27 January - 21 days = 6 January (holiday): the invitation is due Tuesday 5 January.
    # Two working days before, over Nyårsdagen and Nyårsafton: Wednesday 30 December.
    assert sweeps.told_at(local("2026-12-28T07:00")) != []  # the 30-day rule's own reminder
    assert sweeps.fires_exactly_at(local("2026-12-30T07:00")) == [(subject, boss)]
    overdue = sweeps.fires_exactly_at(local("2027-01-07T07:00"))
    assert overdue == [(subject, boss)]
    with session_factory(engine)() as session:
        bodies = session.scalars(
            sa.select(Notification.body_text).where(Notification.subject == subject)
        ).all()
    child = demo.child_name(1)
    assert bodies and not any(part in body for body in bodies for part in child.split())
    assert not any(demo.child_personnummer(1) in body for body in bodies)


def test_invitations_sent_in_time_stop_the_kallelse_reminders(
    db: Session, engine: sa.Engine, people: demo.People
) -> None:
    walker = sip_decided_on_7_december(db, people)
    boss = walker.holder(CaseRole.SAMMANKALLANDE)
    with freeze_time(local("2026-12-07T10:00")):
        meeting = walker.call(
            meetings.book_meeting,
            actor=boss,
            kind=MeetingKind.SIP_MEETING,
            starts_at=local("2027-01-27T10:00"),
        )
        walker.call(meetings.mark_invitations_sent, meeting.id, actor=boss)
    sweeps = Sweeps(engine, db)
    told = sweeps.told_at(local("2027-01-08T07:00"))
    assert told and not any(subject.startswith("Kallelse") for subject, _ in told)
