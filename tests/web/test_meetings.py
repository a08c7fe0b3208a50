"""Meetings as a koordinator books and holds them, and what leaves the system about them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

import icalendar
import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date, local_to_utc
from vastbas.demo import Walker
from vastbas.enums import CaseRole, MeetingKind
from vastbas.messages import swedish_date
from vastbas.models import Meeting, Person

# On SQLite every transaction begins IMMEDIATE (it takes the write lock), so each helper
# that reads through the test's session ends its transaction before the app is asked.


def new_case(db: Session, state: str) -> Walker:
    walker = case_at(db, municipality(db), state)
    db.rollback()
    return walker


def version(db: Session, walker: Walker) -> int:
    current = walker.case.version
    db.rollback()
    return current


def k1_username(db: Session, walker: Walker) -> str:
    assignment = walker.case.current(CaseRole.KOORDINATOR_1)
    assert assignment is not None
    username = assignment.person.username
    db.rollback()
    assert username is not None
    return username


def meeting_of(db: Session, walker: Walker, kind: MeetingKind) -> Meeting:
    """The case's meeting of a kind, detached from the session with its participants."""
    meeting = next(m for m in walker.case.meetings if m.kind == kind)
    assert meeting.participants is not None  # loaded before it leaves the session
    db.expunge(meeting)
    db.rollback()
    return meeting


def child_of(db: Session, walker: Walker) -> tuple[str, str]:
    case = walker.case
    child = case.child_name, case.child_personnummer
    db.rollback()
    return child


def personal_data_in(text: str, child: tuple[str, str]) -> list[str]:
    name, personnummer = child
    digits = personnummer.replace("-", "")
    forms = [name, *name.split(), personnummer, digits, personnummer[2:], digits[2:]]
    return [form for form in forms if form in text]


def test_booking_five_days_ahead_warns_that_invitations_are_late_but_books(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/meetings/new"
    login_as(k1_username(db, walker))
    assert client.get(path).status_code == 200
    day = local_date(clock.now()) + timedelta(days=5)
    form = {
        "csrf_token": csrf_token(client, path),
        "version": version(db, walker),
        "kind": MeetingKind.NETWORK_MEETING_1.value,
        "starts_at": f"{day.isoformat()}T10:00",
        "place": "Skolans bibliotek",
    }
    warning = "Kallelsen kan inte längre skickas tre veckor före mötet"

    checked = client.post(path, data={**form, "action": "check"})

    assert checked.status_code == 200
    assert warning in checked.get_data(as_text=True)
    assert walker.case.meetings == []
    db.rollback()

    booked = client.post(path, data={**form, "action": "book"})

    assert booked.status_code == 302
    assert booked.headers["Location"] == f"/cases/{walker.reference}"
    with client.session_transaction() as session:
        flashed = " ".join(message for _, message in session["_flashes"])
    assert "Mötet är bokat." in flashed and warning in flashed
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    assert meeting.starts_at == local_to_utc(day, time(10, 0))
    assert meeting.place == "Skolans bibliotek"


def test_a_booking_in_good_time_gets_no_warning(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/meetings/new"
    login_as(k1_username(db, walker))
    day = local_date(clock.now()) + timedelta(days=26)
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "kind": MeetingKind.NETWORK_MEETING_1.value,
            "starts_at": f"{day.isoformat()}T10:00",
            "action": "check",
        },
    )
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Kallelsen kan inte" not in text and "Mötet hamnar efter" not in text
    assert "bryter inte mot reglerna" in text


def test_a_booking_without_a_time_is_refused_next_to_the_field(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/meetings/new"
    login_as(k1_username(db, walker))
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "kind": MeetingKind.PRE_MEETING.value,
            "starts_at": "i morgon",
            "place": "Skolans bibliotek",
            "action": "book",
        },
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert 'id="starts_at-error"' in text and "Skriv datum och tid" in text
    assert 'value="Skolans bibliotek"' in text


def test_a_stale_booking_is_a_conflict_that_keeps_what_was_typed(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "pre_meeting")
    path = f"/cases/{walker.reference}/meetings/new"
    login_as(k1_username(db, walker))
    day = local_date(clock.now()) + timedelta(days=30)
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker) - 1,
            "kind": MeetingKind.PRE_MEETING.value,
            "starts_at": f"{day.isoformat()}T13:30",
            "place": "Skolans bibliotek",
            "action": "book",
        },
    )
    assert answer.status_code == 409
    text = answer.get_data(as_text=True)
    assert "Ärendet har ändrats av någon annan" in text
    assert 'value="Skolans bibliotek"' in text and f'value="{day.isoformat()}T13:30"' in text
    assert walker.case.meetings == []


def test_a_koordinator_records_a_held_meeting_with_attendance_and_homework(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    guardian, mentor = meeting.participants
    path = f"/cases/{walker.reference}/meetings/{meeting.id}/held"
    login_as(k1_username(db, walker))
    page = client.get(path).get_data(as_text=True)
    assert guardian.name in page and mentor.name in page

    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "minutes": "Gemensam behovsanalys gjord.",
            "participants-0-participant_id": guardian.id,
            "participants-0-attended": "y",
            "participants-0-homework": "Jag följer med till skolan på måndagar.",
            "participants-1-participant_id": mentor.id,
            "participants-1-homework": "",
        },
    )

    assert answer.status_code == 302
    held = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    assert held.held_at is not None and held.minutes == "Gemensam behovsanalys gjord."
    by_id = {p.id: p for p in held.participants}
    assert by_id[guardian.id].attended is True
    assert by_id[guardian.id].homework == "Jag följer med till skolan på måndagar."
    assert by_id[mentor.id].attended is False and by_id[mentor.id].homework is None


def test_a_held_meeting_needs_minutes(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    path = f"/cases/{walker.reference}/meetings/{meeting.id}/held"
    login_as(k1_username(db, walker))
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "version": version(db, walker),
            "minutes": " ",
            "participants-0-participant_id": meeting.participants[0].id,
            "participants-0-homework": "Jag ringer skolan.",
        },
    )
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "Skriv anteckningar från mötet." in text
    assert "Jag ringer skolan." in text


def test_invitations_sent_are_recorded(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    letter = f"/cases/{walker.reference}/meetings/{meeting.id}/letter"
    login_as(k1_username(db, walker))
    assert "Kallelser skickade" in client.get(letter).get_data(as_text=True)
    answer = client.post(
        f"/cases/{walker.reference}/meetings/{meeting.id}/invitations",
        data={"csrf_token": csrf_token(client, letter), "version": version(db, walker)},
    )
    assert answer.status_code == 302
    assert meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1).invitations_sent_at is not None
    assert "Kallelserna registrerades som skickade" in client.get(letter).get_data(as_text=True)


def test_invitations_sent_without_csrf_token_is_refused(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    login_as(k1_username(db, walker))
    answer = client.post(
        f"/cases/{walker.reference}/meetings/{meeting.id}/invitations",
        data={"version": version(db, walker)},
    )
    assert answer.status_code == 400
    assert meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1).invitations_sent_at is None


def test_the_ics_file_names_the_case_but_not_the_child(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    child = child_of(db, walker)
    path = f"/cases/{walker.reference}/meetings/{meeting.id}.ics"
    login_as(k1_username(db, walker))

    answer = client.get(path)

    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    raw = answer.get_data(as_text=True)
    assert personal_data_in(raw, child) == []
    event = icalendar.Calendar.from_ical(answer.get_data()).walk("VEVENT")[0]
    assert walker.reference in str(event["SUMMARY"])
    assert "Nätverksmöte 1" in str(event["SUMMARY"])
    # iCalendar counts whole seconds.
    assert event.decoded("DTSTART") == meeting.starts_at.replace(microsecond=0)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") > meeting.starts_at
    assert str(event["LOCATION"]) == meeting.place
    again = icalendar.Calendar.from_ical(client.get(path).get_data()).walk("VEVENT")[0]
    assert str(again["UID"]) == str(event["UID"])
    for participant in meeting.participants:
        assert participant.name not in raw


def test_the_invitation_letter_gives_time_and_place_but_no_personnummer(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    child = child_of(db, walker)
    login_as(k1_username(db, walker))

    answer = client.get(f"/cases/{walker.reference}/meetings/{meeting.id}/letter")

    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Kallelse till nätverksmöte" in text and "Till vårdnadshavare" in text
    assert walker.reference in text and meeting.place in text
    assert swedish_date(local_date(meeting.starts_at)) in text
    assert personal_data_in(text, child) == []


@pytest.mark.parametrize("username", ["rektor2", "koordinator30"])
def test_someone_not_on_the_case_gets_no_meeting_page(
    db: Session, client: FlaskClient, login_as: Callable[..., None], username: str
) -> None:
    walker = new_case(db, "network_meeting_1")
    meeting = meeting_of(db, walker, MeetingKind.NETWORK_MEETING_1)
    on_the_case = {a.person_id for a in walker.case.assignments}
    outsider = db.scalars(sa.select(Person.id).where(Person.username == username)).one()
    db.rollback()
    assert outsider not in on_the_case
    login_as(username)
    base = f"/cases/{walker.reference}/meetings"
    for path in (
        f"{base}/new",
        f"{base}/{meeting.id}/held",
        f"{base}/{meeting.id}.ics",
        f"{base}/{meeting.id}/letter",
    ):
        assert client.get(path).status_code == 404, path


def test_a_meeting_of_another_case_is_not_found(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    walker = new_case(db, "network_meeting_1")
    login_as(k1_username(db, walker))
    assert client.get(f"/cases/{walker.reference}/meetings/999999.ics").status_code == 404
