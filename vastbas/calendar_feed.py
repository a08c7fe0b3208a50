"""A person's calendar feed: the meetings and open deadlines of the cases on Mina ärenden.

The feed is fetched by calendar servers (Outlook, Google) with only a secret URL, and
is stored there, so it says as little as it can: the case reference, what kind of
meeting or deadline in Swedish, when, and a link. No child's name or personnummer,
no participants, and not the meeting's place either: the place is free text and can
name a family's home (the place stays on the case page and the meeting's own .ics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import icalendar
import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas.enums import MeetingKind
from vastbas.labels import label
from vastbas.models import Case, CaseDeadline, Meeting
from vastbas.queries.lists import start_page_scope
from vastbas.services.base import load_actor
from vastbas.workflow import workflow_named

# A meeting has a start but no end; calendars get a network meeting's usual length.
MEETING_LENGTH = timedelta(hours=2)
# Older meetings drop out of the feed, so it does not grow with the years.
PAST_MEETINGS = timedelta(days=90)
REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class FeedMeeting:
    id: int
    reference: str
    kind_label: str
    starts_at: datetime


@dataclass(frozen=True)
class FeedDeadline:
    id: int
    reference: str
    label: str
    due_on: date


@dataclass(frozen=True)
class Feed:
    meetings: tuple[FeedMeeting, ...]
    deadlines: tuple[FeedDeadline, ...]


def feed_of(db: Session, person_id: int, now: datetime) -> Feed:
    """The person's meetings (from PAST_MEETINGS ago) and open deadlines; three queries."""
    person = load_actor(db, person_id)
    mine = start_page_scope(person)
    meetings = db.execute(
        sa.select(Meeting.id, Meeting.kind, Meeting.starts_at, Case.reference)
        .join(Case, Case.id == Meeting.case_id)
        .where(mine, Meeting.starts_at >= now - PAST_MEETINGS)
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    deadlines = db.execute(
        sa.select(CaseDeadline.id, CaseDeadline.name, CaseDeadline.due_on)
        .add_columns(Case.reference, Case.workflow)
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(mine, CaseDeadline.closed_at.is_(None))
        .order_by(CaseDeadline.due_on, CaseDeadline.id)
    ).all()
    return Feed(
        meetings=tuple(
            FeedMeeting(row.id, row.reference, label(MeetingKind(row.kind)), row.starts_at)
            for row in meetings
        ),
        deadlines=tuple(
            FeedDeadline(row.id, row.reference, _deadline_label(row.workflow, row.name), row.due_on)
            for row in deadlines
        ),
    )


def _deadline_label(workflow: str, name: str) -> str:
    definition = workflow_named(workflow).deadlines.get(name)
    return definition.label if definition is not None else name


def feed_calendar(feed: Feed, link_for: Callable[[str], str], now: datetime) -> bytes:
    """The feed as iCalendar; `link_for(reference)` is the case page's full URL."""
    calendar = new_calendar()
    calendar.add("x-wr-calname", "Västbas")
    # How often a calendar app should fetch the feed again (RFC 7986, and Outlook's own).
    calendar.add("refresh-interval", icalendar.vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    for meeting in feed.meetings:
        calendar.add_component(
            meeting_event(
                meeting.id,
                meeting.reference,
                f"Möte: {meeting.kind_label} {meeting.reference}",
                meeting.starts_at,
                link_for(meeting.reference),
                now,
            )
        )
    for deadline in feed.deadlines:
        event = _event(
            f"deadline-{deadline.id}.{deadline.reference}@vastbas",
            f"Tidsfrist {deadline.reference}: {deadline.label}",
            link_for(deadline.reference),
            now,
        )
        event.add("dtstart", deadline.due_on)
        event.add("dtend", deadline.due_on + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()


def new_calendar() -> icalendar.Calendar:
    """An empty iCalendar with our product id."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Västbas//Västbas//SV")
    calendar.add("version", "2.0")
    return calendar


def meeting_event(
    meeting_id: int, reference: str, summary: str, starts_at: datetime, link: str, now: datetime
) -> icalendar.Event:
    """A meeting as a calendar entry. One UID per meeting, so the meeting's own .ics and the
    feed are the same entry in a calendar that has both."""
    event = _event(f"meeting-{meeting_id}.{reference}@vastbas", summary, link, now)
    event.add("dtstart", starts_at)
    event.add("dtend", starts_at + MEETING_LENGTH)
    return event


def _event(uid: str, summary: str, link: str, now: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("summary", summary)
    event.add("description", f"Logga in i Västbas för att se ärendet: {link}")
    return event
