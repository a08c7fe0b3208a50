"""The daily digest: working-day mornings, once a day, what each person should see.

Cases are built through the services at a frozen time, so their deadlines fall on known
dates; the digest then runs with an explicit `now` (never the scheduler thread).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import demo
from vastbas.calendar import STOCKHOLM
from vastbas.db import session_factory
from vastbas.digest import send_digests
from vastbas.enums import CaseRole
from vastbas.models import Case, Notification, Person
from vastbas.scheduler import digest_trigger
from vastbas.settings import Settings

SETTINGS = Settings(base_url="https://vastbas.example")
# The family accepts on Monday 2 March 2026: förmöte due 16 March, network meeting 1
# due 1 April.
ACCEPTED = datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)


def local(text: str) -> datetime:
    """A Stockholm wall-clock time as the UTC instant the code works with."""
    return datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).astimezone(UTC)


# Friday 27 March 07:00: the förmöte is overdue, network meeting 1 is due within a week.
MORNING = local("2026-03-27T07:00")


@pytest.fixture
def people(db: Session) -> demo.People:
    with freeze_time((ACCEPTED - timedelta(days=7)).astimezone(UTC)):
        made = municipality(db)
    db.commit()
    return made


@pytest.fixture
def walker(db: Session, people: demo.People) -> demo.Walker:
    with freeze_time(ACCEPTED.astimezone(UTC)):
        made = case_at(db, people, "pre_meeting")
    db.commit()
    return made


@pytest.fixture
def sessions(engine: sa.Engine):  # type: ignore[no-untyped-def]
    return session_factory(engine)


def digests(engine: sa.Engine) -> dict[str, Notification]:
    """Every digest, by the recipient's username, read in a session of its own."""
    with session_factory(engine)() as db:
        rows = db.execute(
            sa.select(Notification, Person.username)
            .join(Person, Person.id == Notification.recipient_id)
            .where(Notification.kind == "digest")
        ).all()
        return {username: row for row, username in rows}


def username(db: Session, person_id: int) -> str:
    name = db.scalar(sa.select(Person.username).where(Person.id == person_id))
    db.rollback()  # no open transaction (SQLite's write lock) left in the test's session
    assert name is not None
    return name


def test_a_working_day_morning_digest_lists_overdue_upcoming_and_new_roles(
    db: Session, engine: sa.Engine, sessions, people: demo.People, walker: demo.Walker
) -> None:
    case = walker.case
    reference, child, personnummer = case.reference, case.child_name, case.child_personnummer
    k1 = username(db, walker.holder(CaseRole.KOORDINATOR_1))
    rektor = username(db, people.units[0].rektor_id)  # type: ignore[arg-type]

    queued = send_digests(sessions, SETTINGS, now=MORNING)

    sent = digests(engine)
    assert queued == len(sent)
    mail = sent[k1]
    text = mail.body_text
    assert mail.dedupe_key.endswith(":2026-03-27")
    assert mail.case_id is None and mail.status == "pending"
    assert "Försenat (1)" in text
    assert f"{reference}: Förmöte hållet – senast måndag 16 mars 2026" in text
    assert "Kommande (1)" in text
    assert f"{reference}: Nätverksmöte 1 hållet (30-dagarsregeln) – senast onsdag 1 april" in text
    assert f"Nya uppdrag (1)\n- {reference}: Koordinator 1" in text
    assert "https://vastbas.example/" in text
    # The rektor of the child's unit and the samordnare see the case's deadlines too.
    assert f"{reference}: Förmöte hållet" in sent[rektor].body_text
    assert f"{reference}: Förmöte hållet" in sent["samordnare"].body_text
    # Someone with no part in the case hears nothing.
    assert "rektor2" not in sent
    for row in sent.values():
        assert child not in row.body_text and child not in row.body_html
        assert personnummer not in row.body_text


def test_new_roles_are_those_since_the_last_digest(
    engine: sa.Engine, sessions, db: Session, walker: demo.Walker
) -> None:
    k1 = username(db, walker.holder(CaseRole.KOORDINATOR_1))
    send_digests(sessions, SETTINGS, now=MORNING - timedelta(days=1))
    with session_factory(engine)() as other:
        other.execute(sa.delete(Notification))
        other.commit()

    send_digests(sessions, SETTINGS, now=MORNING)

    text = digests(engine)[k1].body_text
    assert "Nya uppdrag" not in text
    assert "Försenat (1)" in text


@pytest.mark.parametrize(
    "when",
    [
        pytest.param("2026-03-28T07:00", id="saturday"),
        pytest.param("2026-04-03T07:00", id="langfredagen"),
        pytest.param("2026-04-06T09:00", id="annandag-pask"),
        pytest.param("2026-03-27T06:59", id="before-seven"),
    ],
)
def test_no_digest_on_a_weekend_a_holiday_or_before_the_hour(
    engine: sa.Engine, sessions, walker: demo.Walker, when: str
) -> None:
    assert send_digests(sessions, SETTINGS, now=local(when)) == 0
    assert digests(engine) == {}


def test_one_digest_a_day_however_often_it_runs(
    engine: sa.Engine, sessions, walker: demo.Walker
) -> None:
    first = send_digests(sessions, SETTINGS, now=MORNING)
    again = send_digests(sessions, SETTINGS, now=MORNING + timedelta(hours=5))
    # Another process that read the people before this one stamped them: the dedupe key.
    with session_factory(engine)() as other:
        other.execute(sa.update(Person).values(last_digest_at=None))
        other.commit()
    racing = send_digests(sessions, SETTINGS, now=MORNING + timedelta(hours=6))
    next_day = send_digests(sessions, SETTINGS, now=MORNING + timedelta(days=3))  # Monday

    assert first > 0
    assert (again, racing) == (0, 0)
    assert next_day > 0
    with session_factory(engine)() as other:
        count = other.scalar(sa.select(sa.func.count()).where(Notification.kind == "digest"))
    assert count == first + next_day


def test_a_user_who_turned_digests_off_gets_none(
    db: Session, engine: sa.Engine, sessions, walker: demo.Walker
) -> None:
    k1_id = walker.holder(CaseRole.KOORDINATOR_1)
    k1 = username(db, k1_id)
    with session_factory(engine)() as other:
        other.execute(sa.update(Person).where(Person.id == k1_id).values(digest_enabled=False))
        other.commit()

    send_digests(sessions, SETTINGS, now=MORNING)

    sent = digests(engine)
    assert k1 not in sent
    assert "samordnare" in sent


def test_people_without_an_address_or_inactive_get_none(
    db: Session, engine: sa.Engine, sessions, walker: demo.Walker
) -> None:
    k1_id, k2_id = walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)
    k1, k2 = username(db, k1_id), username(db, k2_id)
    with session_factory(engine)() as other:
        other.execute(sa.update(Person).where(Person.id == k1_id).values(email=None))
        other.execute(sa.update(Person).where(Person.id == k2_id).values(active=False))
        other.commit()

    send_digests(sessions, SETTINGS, now=MORNING)

    sent = digests(engine)
    assert k1 not in sent and k2 not in sent
    assert "samordnare" in sent


def test_a_closed_case_is_in_no_digest(
    db: Session, engine: sa.Engine, sessions, walker: demo.Walker
) -> None:
    with session_factory(engine)() as other:
        other.execute(
            sa.update(Case.__table__).values(closed_at=MORNING - timedelta(days=1), state="closed")
        )
        other.commit()

    assert send_digests(sessions, SETTINGS, now=MORNING) == 0
    assert digests(engine) == {}


@pytest.mark.parametrize(
    ("before", "fires_utc"),
    [
        # Spring forward on Sunday 29 March 2026: Monday 07:00 CEST is 05:00 UTC.
        (datetime(2026, 3, 27, 8, 0, tzinfo=STOCKHOLM), datetime(2026, 3, 30, 5, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 1, 59, tzinfo=STOCKHOLM), datetime(2026, 3, 30, 5, 0, tzinfo=UTC)),
        # Fall back on Sunday 25 October 2026: Monday 07:00 CET is 06:00 UTC.
        (datetime(2026, 10, 23, 8, 0, tzinfo=STOCKHOLM), datetime(2026, 10, 26, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM), datetime(2026, 10, 26, 6, 0, tzinfo=UTC)),
    ],
)
def test_the_digest_stays_at_seven_local_across_daylight_saving(
    before: datetime, fires_utc: datetime
) -> None:
    trigger = digest_trigger(Settings())

    fires = trigger.get_next_fire_time(None, before)

    assert fires == fires_utc
    assert (fires.astimezone(STOCKHOLM).hour, fires.astimezone(STOCKHOLM).minute) == (7, 0)
    assert fires.astimezone(STOCKHOLM).weekday() == 0
