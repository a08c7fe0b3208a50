"""Meetings of a case: book one, record it as held, invitations sent, .ics and the letter.

Times are typed and shown in Europe/Stockholm and stored as UTC instants. The .ics file
and the letter leave the system, so they carry the case reference and the meeting's
time and place, never the child's name or personnummer (DESIGN, "Privacy in messages").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, url_for
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length
from wtforms.widgets import HiddenInput

from vastbas import booking, calendar_feed, clock
from vastbas.calendar import local_date, local_datetime, local_to_utc
from vastbas.enums import CaseRole, MeetingKind
from vastbas.errors import NotAllowed, NotFound, RuleBroken
from vastbas.labels import choices, label
from vastbas.messages import swedish_date
from vastbas.models import Case, CaseDeadline, Meeting
from vastbas.services import meetings
from vastbas.services.base import require_activity, roles_on
from vastbas.workflow import workflow_named
from web.assignments import CaseHeader, make_form, open_page, options
from web.auth import login_required, user_id
from web.database import get_db
from web.forms import CaseForm, SwedishMeta, case_page_url, form_problem, submit

bp = Blueprint("meetings", __name__)


# --- what the pages show -----------------------------------------------------------


@dataclass(frozen=True)
class ParticipantView:
    id: int
    name: str
    attended: bool
    homework: str


@dataclass(frozen=True)
class MeetingView:
    id: int
    kind: MeetingKind
    kind_label: str
    starts_at: datetime  # aware, UTC
    day: str  # "tisdag 3 mars 2026", in Stockholm
    time: str  # "14:00", in Stockholm
    place: str
    invitations_sent_on: str | None
    held: bool
    participants: tuple[ParticipantView, ...]


@dataclass(frozen=True)
class MeetingPage:
    case: CaseHeader
    meeting: MeetingView
    may_book: bool  # may mark invitations sent (the booking activity)
    contact: tuple[str, ...]  # how guardians reach koordinator 1: name, phone, e-mail


@dataclass(frozen=True)
class MeetingDeadline:
    """An open deadline that a meeting meets (the 30-day rule), as the booking form says it."""

    label: str
    due_text: str


@dataclass(frozen=True)
class BookingPage:
    case: CaseHeader
    workflow: str
    today: date
    open_due: dict[str, date]

    @property
    def meeting_deadlines(self) -> list[MeetingDeadline]:
        deadlines = workflow_named(self.workflow).deadlines
        return [
            MeetingDeadline(deadlines[name].label, swedish_date(due))
            for name, due in self.open_due.items()
            if deadlines[name].meeting is not None
        ]


def when(instant: datetime) -> tuple[str, str]:
    """A stored instant as a Swedish day and a 24-hour time, in Stockholm."""
    local = local_datetime(instant)
    return swedish_date(local.date()), local.strftime("%H:%M")


def meeting_view(meeting: Meeting) -> MeetingView:
    day, time = when(meeting.starts_at)
    sent = meeting.invitations_sent_at
    return MeetingView(
        id=meeting.id,
        kind=meeting.kind,
        kind_label=label(meeting.kind),
        starts_at=meeting.starts_at,
        day=day,
        time=time,
        place=meeting.place,
        invitations_sent_on=swedish_date(local_date(sent)) if sent else None,
        held=meeting.held_at is not None,
        participants=tuple(
            ParticipantView(p.id, p.name, bool(p.attended), p.homework or "")
            for p in meeting.participants
        ),
    )


def meeting_page(db: Session, reference: str, meeting_id: int, activity: str | None) -> MeetingPage:
    case, person, header = open_page(db, reference, activity)
    meeting = next((m for m in case.meetings if m.id == meeting_id), None)
    if meeting is None:
        raise NotFound("Mötet finns inte i ärendet.")
    k1 = case.current(CaseRole.KOORDINATOR_1)
    contact = (k1.person.name, k1.person.phone or "", k1.person.email or "") if k1 else ()
    return MeetingPage(
        case=header,
        meeting=meeting_view(meeting),
        may_book=_may(case, roles_on(case, person), "book_meeting"),
        contact=tuple(c for c in contact if c),
    )


def _may(case: Case, roles: frozenset[str], activity: str) -> bool:
    try:
        require_activity(case, roles, activity)
    except (NotAllowed, RuleBroken):
        return False
    return True


def booking_page(db: Session, reference: str) -> BookingPage:
    case, _, header = open_page(db, reference, "book_meeting")
    meeting_rules = [
        name for name, d in workflow_named(case.workflow).deadlines.items() if d.meeting
    ]
    rows = db.execute(
        sa.select(CaseDeadline.name, CaseDeadline.due_on).where(
            CaseDeadline.case_id == case.id,
            CaseDeadline.name.in_(meeting_rules),
            CaseDeadline.period == case.period,
            CaseDeadline.closed_at.is_(None),
        )
    )
    return BookingPage(header, case.workflow, local_date(clock.now()), dict(rows.tuples().all()))


def booking_warnings(page: BookingPage, kind: MeetingKind, starts_at: datetime) -> list[str]:
    return booking.booking_warnings(
        workflow=workflow_named(page.workflow),
        kind=kind,
        starts_on=local_date(starts_at),
        today=page.today,
        open_due=page.open_due,
    )


# --- forms ---------------------------------------------------------------------------


class StockholmDateTimeField(DateTimeLocalField):
    """A `datetime-local` input read as Stockholm wall-clock time; `utc()` gives the instant."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(
            label,
            format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
            invalid_value_message="Skriv datum och tid som 2026-03-16 14:00.",
            **kwargs,
        )

    def utc(self) -> datetime:
        local = self.data
        assert local is not None
        return local_to_utc(local.date(), local.time())


class BookingForm(CaseForm):
    kind = SelectField(
        "Möte",
        choices=options([("", "Välj möte"), *choices(MeetingKind)]),
        invalid_choice_message="Välj vilket möte det är.",
        validators=[InputRequired(message="Välj vilket möte det är.")],
    )
    starts_at = StockholmDateTimeField(
        "Datum och tid", validators=[InputRequired(message="Ange mötets datum och tid.")]
    )
    place = StringField(
        "Plats", validators=[Length(max=200, message="Platsen får vara högst 200 tecken.")]
    )


class AttendanceForm(Form):
    Meta = SwedishMeta

    participant_id = IntegerField(widget=HiddenInput())
    attended = BooleanField("Deltog")
    homework = TextAreaField(
        "Hemläxa: vad kan jag bidra med?",
        validators=[Length(max=2000, message="Hemläxan får vara högst 2000 tecken.")],
    )


class HoldForm(CaseForm):
    minutes = TextAreaField("Anteckningar från mötet")
    participants = FieldList(FormField(AttendanceForm))

    def attendance(self) -> list[meetings.Attendance]:
        return [
            meetings.Attendance(
                entry.participant_id.data, entry.attended.data, entry.homework.data or ""
            )
            for entry in self.participants
        ]


# --- views ---------------------------------------------------------------------------


@bp.route("/cases/<reference>/meetings/new", methods=["GET", "POST"])
@login_required
def book(reference: str) -> Any:
    db = get_db()
    page = booking_page(db, reference)
    form = make_form(BookingForm, {"version": page.case.version})
    # Only the meetings of the case's own process (a SIP has no förmöte).
    kinds = workflow_named(page.workflow).meeting_kinds
    form.kind.choices = options([("", "Välj möte"), *((k.value, label(k)) for k in kinds)])
    warnings: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        warnings = booking_warnings(page, MeetingKind(form.kind.data), form.starts_at.utc())
    template = "meetings/book.html"
    checking = request.form.get("action") == "check"
    if request.method == "GET" or checking:
        status = 400 if form.errors else 200
        context = {"page": page, "warnings": warnings, "checked": checking and not form.errors}
        context["problem"] = form_problem(form)
        return render_template(template, form=form, current=page.case, **context), status
    return submit(
        form,
        lambda: meetings.book_meeting(
            db,
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            kind=form.kind.data,
            starts_at=form.starts_at.utc(),
            place=form.place.data or "",
        ),
        template=template,
        success_url=case_page_url(reference),
        # Warnings never block a booking (booking.py); they follow it to the case page.
        success_message=" ".join(["Mötet är bokat.", *warnings]),
        page=page,
        warnings=warnings,
        current=page.case,
    )


@bp.route("/cases/<reference>/meetings/<int:meeting_id>/held", methods=["GET", "POST"])
@login_required
def hold(reference: str, meeting_id: int) -> Any:
    db = get_db()
    page = meeting_page(db, reference, meeting_id, "hold_meeting")
    rows = [
        {"participant_id": p.id, "attended": p.attended, "homework": p.homework}
        for p in page.meeting.participants
    ]
    form = make_form(HoldForm, {"version": page.case.version, "participants": rows})
    names = {p.id: p.name for p in page.meeting.participants}
    template = "meetings/hold.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, names=names, current=page.case)
    return submit(
        form,
        lambda: meetings.hold_meeting(
            db,
            reference,
            meeting_id,
            actor=user_id(),
            expected_version=form.version.data,
            minutes=form.minutes.data or "",
            attendance=form.attendance(),
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message="Mötet är registrerat som hållet.",
        page=page,
        names=names,
        current=page.case,
    )


@bp.route("/cases/<reference>/meetings/<int:meeting_id>/invitations", methods=["POST"])
@login_required
def invitations_sent(reference: str, meeting_id: int) -> Any:
    db = get_db()
    page = meeting_page(db, reference, meeting_id, "book_meeting")
    form = CaseForm()
    return submit(
        form,
        lambda: meetings.mark_invitations_sent(
            db, reference, meeting_id, actor=user_id(), expected_version=form.version.data
        ),
        template="meetings/letter.html",
        success_url=case_page_url(reference),
        success_message="Kallelserna är registrerade som skickade.",
        page=page,
        current=page.case,
    )


@bp.route("/cases/<reference>/meetings/<int:meeting_id>/letter")
@login_required
def letter(reference: str, meeting_id: int) -> Any:
    page = meeting_page(get_db(), reference, meeting_id, None)
    form = make_form(CaseForm, {"version": page.case.version})
    return render_template("meetings/letter.html", form=form, page=page, current=page.case)


@bp.route("/cases/<reference>/meetings/<int:meeting_id>.ics")
@login_required
def ics(reference: str, meeting_id: int) -> Any:
    page = meeting_page(get_db(), reference, meeting_id, None)
    filename = f"{page.case.reference}-mote-{meeting_id}.ics"
    return Response(
        meeting_calendar(page, url_for("cases.case_page", reference=reference, _external=True)),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def meeting_calendar(page: MeetingPage, link: str) -> bytes:
    """One meeting as an iCalendar file: reference, kind, time and place; no one's name."""
    meeting = page.meeting
    summary = f"Västbasmöte {page.case.reference} ({meeting.kind_label})"
    event = calendar_feed.meeting_event(
        meeting.id, page.case.reference, summary, meeting.starts_at, link, clock.now()
    )
    if meeting.place:
        event.add("location", meeting.place)
    calendar = calendar_feed.new_calendar()
    calendar.add_component(event)
    return calendar.to_ical()
