"""The calendar feed: valid iCalendar with the user's meetings and deadlines, nothing personal."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
import sqlalchemy as sa
from apiworld import World, build_world
from builders import municipality
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import clock, demo_cases
from vastbas.models import Assignment, Case, Meeting, MeetingParticipant, Person, Unit
from vastbas.services import tokens


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


def feed_url(db: Session, person_id: int) -> str:
    secret = tokens.create_token(db, actor=person_id, name="Outlook", kind="calendar").secret
    return f"/kalender/{secret}.ics"


def summaries(client: FlaskClient, url: str) -> list[str]:
    answer = client.get(url)
    assert answer.status_code == 200, url
    assert answer.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(answer.data)
    return [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")]


def test_the_feed_holds_the_users_meetings_and_open_deadlines(
    world: World, db: Session, client: FlaskClient
) -> None:
    url = feed_url(db, world.ids["k1"])
    deadlines = client.get(
        f"/api/v1/cases/{world.reference}/deadlines", headers=world.bearer("k1")
    ).get_json()["deadlines"]

    events = summaries(client, url)

    ref = world.reference
    assert f"Möte: Förmöte {ref}" in events
    assert f"Möte: Nätverksmöte 1 {ref}" in events
    assert sorted(e for e in events if e.startswith("Tidsfrist")) == sorted(
        f"Tidsfrist {ref}: {d['label']}" for d in deadlines
    )


def test_the_feed_shows_only_the_users_own_cases(
    world: World, db: Session, client: FlaskClient
) -> None:
    assert summaries(client, feed_url(db, world.ids["outsider"])) == []
    assert any(world.reference in s for s in summaries(client, feed_url(db, world.ids["rektor"])))


def test_old_meetings_leave_the_feed_and_open_deadlines_stay(
    world: World, db: Session, client: FlaskClient
) -> None:
    url = feed_url(db, world.ids["k1"])

    with freeze_time(clock.now() + timedelta(days=91)):
        events = summaries(client, url)

    assert events and not any(e.startswith("Möte:") for e in events)


@pytest.mark.parametrize("secret", ["revoked", "api", "unknown"])
def test_a_revoked_unknown_or_api_secret_gives_404(
    world: World, db: Session, client: FlaskClient, secret: str
) -> None:
    k1 = world.ids["k1"]
    url = feed_url(db, k1)
    if secret == "revoked":
        token_id = max(t.id for t in tokens.tokens_of(db, k1))
        tokens.revoke_token(db, token_id, actor=k1)
    elif secret == "api":
        url = f"/kalender/{world.tokens['k1']}.ics"
    else:
        url = url.replace(".ics", "x.ics")

    answer = client.get(url)

    assert answer.status_code == 404
    assert world.reference not in answer.get_data(as_text=True)


def test_no_feed_of_the_demo_names_a_child_a_personnummer_or_a_place(
    db: Session, client: FlaskClient
) -> None:
    people = municipality(db)
    for index in (7, 12, 19):  # förmöte; nätverksmöte 2; uppföljning in a second period
        demo_cases.build_case(db, people, index, demo_cases.PLAN[index])
    users = {
        people.samordnare.id,
        *db.scalars(sa.select(Assignment.person_id).where(Assignment.ended_at.is_(None))),
        *db.scalars(sa.select(Unit.rektor_id).where(Unit.rektor_id.is_not(None))),
    }
    logins = set(
        db.scalars(sa.select(Person.id).where(Person.id.in_(users), Person.username.is_not(None)))
    )
    secret_words = {
        *db.scalars(sa.select(Case.child_name)),
        *(
            p
            for pnr in db.scalars(sa.select(Case.child_personnummer))
            for p in (pnr, pnr[2:], pnr.replace("-", ""))
        ),
        *(m for m in db.scalars(sa.select(Meeting.place)) if m),
        *db.scalars(sa.select(MeetingParticipant.name)),
    }
    urls = [feed_url(db, person) for person in sorted(logins)]

    feeds = [client.get(url).get_data(as_text=True) for url in urls]

    assert len(feeds) > 5 and sum("BEGIN:VEVENT" in feed for feed in feeds) > 5
    for feed in feeds:
        # Parsed values (no iCalendar escaping, no folded lines) and the raw text.
        calendar = icalendar.Calendar.from_ical(feed)
        values = " ".join(str(v) for event in calendar.walk("VEVENT") for v in event.values())
        assert not [word for word in secret_words if word in values or word in feed]
