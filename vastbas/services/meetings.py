"""Book and hold the förmöte, network meetings and follow-up meetings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.enums import MeetingKind
from vastbas.errors import InvalidInput, NotFound, RuleBroken
from vastbas.models import Meeting, MeetingParticipant
from vastbas.services import deadlines
from vastbas.services.base import (
    open_case_for,
    parse_offered,
    record_event,
    required_text,
    service,
    touch,
    workflow_of,
)


@dataclass(frozen=True)
class Attendance:
    """One participant's attendance and homework ("vad kan jag bidra med?")."""

    participant_id: int
    attended: bool
    homework: str = ""


@service
def book_meeting(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    kind: MeetingKind | str,
    starts_at: datetime,
    place: str = "",
    participant_names: Sequence[str] = (),
) -> Meeting:
    """Book a meeting; participants default to the guest list of the network map."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "book_meeting")
    kind = parse_offered(
        MeetingKind, kind, workflow_of(case).meeting_kinds, "kind", "Välj vilket möte det är."
    )
    if starts_at.tzinfo is None:
        raise InvalidInput("Ange mötets tid.", {"starts_at": "Tiden saknar tidszon."})
    now = clock.now()
    meeting = Meeting(
        period=case.period,
        kind=kind,
        starts_at=starts_at,
        place=(place or "").strip(),
        booked_by_id=person.id,
    )
    names = [n.strip() for n in participant_names if n and n.strip()]
    if names:
        meeting.participants.extend(MeetingParticipant(name=n) for n in names)
    else:
        meeting.participants.extend(
            MeetingParticipant(name=e.name, network_entry_id=e.id)
            for e in case.network
            if e.on_guest_list and e.removed_at is None
        )
    case.meetings.append(meeting)
    touch(case, now)
    db.flush()
    if starts_at > now:  # a meeting recorded afterwards needs no invitation reminder
        deadlines.anchored(
            db,
            case,
            "meeting.starts_at",
            local_date(starts_at),
            now,
            subject=("meeting", meeting.id),
        )
    after = {"meeting": meeting.id, "kind": kind.value, "starts_at": starts_at.isoformat()}
    record_event(db, case, person, "book_meeting", {}, after, now=now)
    return meeting


@service
def mark_invitations_sent(
    db: Session, reference: str, meeting_id: int, *, actor: int, expected_version: int
) -> Meeting:
    """Record that the invitations to a meeting went out."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "book_meeting")
    meeting = _meeting(case.meetings, meeting_id)
    now = clock.now()
    meeting.invitations_sent_at = now
    deadlines.done(db, case, "send_invitations", now, subject=("meeting", meeting.id))
    touch(case, now)
    record_event(db, case, person, "send_invitations", {}, {"meeting": meeting.id}, now=now)
    return meeting


@service
def hold_meeting(
    db: Session,
    reference: str,
    meeting_id: int,
    *,
    actor: int,
    expected_version: int,
    minutes: str,
    attendance: Sequence[Attendance] = (),
) -> Meeting:
    """Record that a meeting was held, with its minutes, attendance and homework."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "hold_meeting")
    meeting = _meeting(case.meetings, meeting_id)
    if meeting.held_at is not None:
        raise RuleBroken("Mötet är redan registrerat som hållet.")
    minutes = required_text(minutes, "Skriv anteckningar från mötet.")
    now = clock.now()
    if meeting.starts_at > now:
        raise RuleBroken("Mötet kan inte registreras som hållet innan det har börjat.")
    participants = {p.id: p for p in meeting.participants}
    for row in attendance:
        participant = participants.get(row.participant_id)
        if participant is None:
            raise NotFound("Deltagaren finns inte i mötet.")
        participant.attended = row.attended
        participant.homework = row.homework.strip() or None
    meeting.held_at = now
    meeting.minutes = minutes
    deadlines.close(db, case, now, subject=("meeting", meeting.id), closed_as="cancelled")
    touch(case, now)
    homework = sum(1 for p in meeting.participants if p.homework)
    after = {"meeting": meeting.id, "held": True, "homework": homework}
    record_event(db, case, person, "hold_meeting", {"held": False}, after, now=now)
    return meeting


def _meeting(meetings: Sequence[Meeting], meeting_id: int) -> Meeting:
    meeting = next((m for m in meetings if m.id == meeting_id), None)
    if meeting is None:
        raise NotFound("Mötet finns inte i ärendet.")
    return meeting
