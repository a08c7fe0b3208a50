"""Gallring: removing the personal data of cases closed longer than the retention period.

What goes: the child's name and personnummer, everything written in free text about the
child and the family (request, the child's voice, problem analysis, consent details,
network map, meeting places, minutes and homework, plan goals and actions, follow-ups,
evaluations, deviations, the reason for closing), outside contacts no other case still
needs, and every text in the case's audit payloads. What stays are the anonymous rows
statistics read: the case's reference, unit, state, period, outcome and timestamps, the
staff's roles, meeting kinds and times, plan versions, action statuses and due dates,
deadlines, and the audit events' kinds and times.

One transaction per case: a thinning writes a dozen tables, so a per-case commit keeps
each write lock short (SQLite has one writer; web users wait for one case, not a batch),
and a failure or a concurrent reopening costs that one case, which the next run picks up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas.calendar import Period, local_date, local_to_utc, subtract_period
from vastbas.errors import Conflict
from vastbas.models import (
    Action,
    ActionPlan,
    Assignment,
    Case,
    Consent,
    Deviation,
    Evaluation,
    Event,
    FollowUp,
    Goal,
    Meeting,
    MeetingParticipant,
    NetworkMapEntry,
    Person,
)
from vastbas.services.base import record_event, service, workflow_of
from vastbas.settings import Settings

log = logging.getLogger(__name__)

GALLRING_ACTION = "gallra"
# Audit payload values that are codes, not texts: workflow states, enum values, ISO times.
CODE_KEYS = frozenset(
    {"state", "outcome", "kind", "decision", "status", "role", "document", "starts_at", "held_on",
     "reference"}
)  # fmt: skip
CODE_VALUE = re.compile(r"[A-Za-z0-9_:+.\-]{0,40}")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DueCase:
    """A closed case whose retention period has run out: what the operator is shown."""

    reference: str
    closed_at: datetime


@dataclass(frozen=True)
class GallringReport:
    """One run: the cases that were due, those thinned, and those that failed (by reference)."""

    cutoff: datetime
    due: tuple[DueCase, ...]
    thinned: tuple[DueCase, ...]
    failed: tuple[str, ...]
    dry_run: bool

    @property
    def skipped(self) -> int:
        """Due cases left for the next run: reopened or changed while this one ran."""
        if self.dry_run:
            return 0
        return len(self.due) - len(self.thinned) - len(self.failed)


def gallring_cutoff(now: datetime, settings: Settings) -> datetime:
    """Cases closed before this instant are due: closed on a day at least the period ago.

    Counted in Stockholm days, so a case closed on 10 March 2025 goes on 10 March 2027
    (24 months), whatever the hour of either.
    """
    last_day = subtract_period(local_date(now), Period(months=settings.gallring_months))
    return local_to_utc(last_day + timedelta(days=1), time(0))


def cases_due_for_gallring(db: Session, now: datetime, settings: Settings) -> list[DueCase]:
    """Closed, not yet thinned cases whose period has run out, oldest closing first.

    A reopened case has no closing time until it is closed again, so it is never due.
    """
    rows = db.execute(
        sa.select(Case.reference, Case.closed_at)
        .where(
            Case.closed_at.is_not(None),
            Case.closed_at < gallring_cutoff(now, settings),
            Case.gallrad_at.is_(None),
        )
        .order_by(Case.closed_at, Case.id)
    )
    return [DueCase(reference, closed_at) for reference, closed_at in rows]


def gallra(
    db: Session,
    now: datetime,
    settings: Settings,
    *,
    dry_run: bool,
    progress: Progress | None = None,
) -> GallringReport:
    """Thin every due case, one transaction each; a dry run only lists them.

    Running it again thins nothing twice: a thinned case carries `gallrad_at`.
    """
    due = cases_due_for_gallring(db, now, settings)
    # The session is this run's own: end the listing's read (on SQLite it holds the lock).
    db.rollback()
    thinned: list[DueCase] = []
    failed: list[str] = []
    for done, item in enumerate([] if dry_run else due, start=1):
        try:
            if thin_case(db, item.reference, now=now, settings=settings):
                thinned.append(item)
        except Conflict:
            pass  # changed at this very moment (say, reopened); the next run decides
        except sa.exc.OperationalError:
            raise  # the database is gone or locked: stop; the next run resumes here
        except Exception as exc:
            # One broken case must not stop every later one, night after night. Only the
            # exception's type: a database error's message may quote personal data.
            log.error("gallring: %s failed (%s)", item.reference, type(exc).__name__)
            failed.append(item.reference)
        if progress is not None:
            progress(done, len(due))
    return GallringReport(
        gallring_cutoff(now, settings), tuple(due), tuple(thinned), tuple(failed), dry_run
    )


@service
def thin_case(db: Session, reference: str, *, now: datetime, settings: Settings) -> bool:
    """Remove the personal data of one case, if it is still due; True if it was thinned.

    The case row is locked first (PostgreSQL), so a reopening at the same moment either
    happens before (and the case is no longer due) or waits until the thinning is done.
    """
    case = db.scalars(
        sa.select(Case)
        .where(Case.reference == reference)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if (
        case is None
        or case.gallrad_at is not None
        or case.closed_at is None
        or case.closed_at >= gallring_cutoff(now, settings)
        or not workflow_of(case).is_final(case.state)
    ):
        return False
    removed = {
        **_blank_case_row(case),
        **_blank_records(db, case.id),
        **_anonymise_outside_contacts(db, case.id),
    }
    payloads = _strip_event_payloads(db, case.id)
    if payloads:
        removed["event_payloads"] = payloads
    case.gallrad_at = now
    record_event(
        db,
        case,
        None,
        GALLRING_ACTION,
        {},
        {"reference": case.reference, "removed": removed},
        now=now,
    )
    return True


def _blank_case_row(case: Case) -> dict[str, int]:
    """The child's identity and the case's own free texts; a NULL text stays NULL."""
    removed = {"child": 1}
    case.child_name = ""
    case.child_personnummer = ""
    if case.placed_outside_home_at is not None:
        # Where the child lives is personal data; the statistics do not read it.
        removed["placement"] = 1
        case.placed_outside_home_at = None
    if case.initiator_name or case.background:
        removed["request"] = 1
    case.initiator_name = None if case.initiator_name is None else ""
    case.background = ""
    for category, field in (
        ("child_voice", "child_voice"),
        ("problem_analysis", "problem_analysis"),
        ("purpose", "purpose"),
        ("outcome_reason", "outcome_reason"),
    ):
        if getattr(case, field):
            removed[category] = 1
        if getattr(case, field) is not None:
            setattr(case, field, "")
    return removed


def _blank(column: sa.Column[Any]) -> Any:
    """The empty value of a text column: '' for a required text; NULL stays NULL."""
    if not column.nullable:
        return ""
    return sa.case((column.is_(None), sa.null()), else_=sa.literal(""))


def _blank_records(db: Session, case_id: int) -> dict[str, int]:
    """Blank the free texts of every record of the case; rows (and their counts) stay."""
    plans = sa.select(ActionPlan.id).where(ActionPlan.case_id == case_id)
    meetings = sa.select(Meeting.id).where(Meeting.case_id == case_id)
    texts: list[tuple[str, type[Any], sa.ColumnElement[bool], tuple[str, ...]]] = [
        ("consents", Consent, Consent.case_id == case_id, ("given_by", "withdrawn_reason")),
        ("network_map", NetworkMapEntry, NetworkMapEntry.case_id == case_id, ("name", "relation")),
        ("meetings", Meeting, Meeting.case_id == case_id, ("place", "minutes")),
        (
            "meeting_participants",
            MeetingParticipant,
            MeetingParticipant.meeting_id.in_(meetings),
            ("name", "homework"),
        ),
        ("plans", ActionPlan, ActionPlan.case_id == case_id, ("note",)),
        ("goals", Goal, Goal.plan_id.in_(plans), ("text",)),
        ("actions", Action, Action.plan_id.in_(plans), ("description", "owner_name")),
        ("follow_ups", FollowUp, FollowUp.case_id == case_id, ("notes",)),
        ("evaluations", Evaluation, Evaluation.case_id == case_id, ("notes",)),
        ("deviations", Deviation, Deviation.case_id == case_id, ("description", "follow_up")),
    ]
    removed = {}
    for category, model, where, columns in texts:
        table = model.__table__
        values = {name: _blank(table.c[name]) for name in columns}
        if model is Consent:
            values["actors"] = []  # the actors the family named, as they wrote them
        count = db.execute(sa.update(table).where(where).values(values)).rowcount
        if count:
            removed[category] = count
    return removed


def _anonymise_outside_contacts(db: Session, case_id: int) -> dict[str, int]:
    """Outside contacts (no login) of this case whom no case still holding data needs."""
    plans = sa.select(ActionPlan.id).where(ActionPlan.case_id == case_id)
    mentioned = sa.union(
        sa.select(Assignment.person_id).where(Assignment.case_id == case_id),
        sa.select(NetworkMapEntry.person_id).where(NetworkMapEntry.case_id == case_id),
        sa.select(Action.owner_person_id).where(Action.plan_id.in_(plans)),
    )
    contacts = set(
        db.scalars(sa.select(Person.id).where(Person.id.in_(mentioned), Person.username.is_(None)))
    )
    if not contacts:
        return {}
    others = sa.and_(Case.id != case_id, Case.gallrad_at.is_(None))
    still_needed = sa.union(
        sa.select(Assignment.person_id).join(Case, Assignment.case_id == Case.id).where(others),
        sa.select(NetworkMapEntry.person_id)
        .join(Case, NetworkMapEntry.case_id == Case.id)
        .where(others),
        sa.select(Action.owner_person_id)
        .join(ActionPlan, Action.plan_id == ActionPlan.id)
        .join(Case, ActionPlan.case_id == Case.id)
        .where(others),
        sa.select(Case.handlaggare_id).where(others),
    )
    contacts -= set(db.scalars(sa.select(Person.id).where(Person.id.in_(still_needed))))
    if not contacts:
        return {}
    persons = Person.__table__
    db.execute(
        sa.update(persons).where(persons.c.id.in_(contacts)).values(name="", phone=None, email=None)
    )
    return {"outside_contacts": len(contacts)}


def _strip_event_payloads(db: Session, case_id: int) -> int:
    """Reduce the case's audit payloads to codes, ids, numbers and flags; how many changed.

    The audit log is append-only (vastbas/models/audit.py refuses any ORM change to an
    Event). Gallring is the one sanctioned rewrite, required by law over the log's own
    rule, so it goes round that check on purpose with a Core UPDATE of the payloads
    alone: who, when and what (action) stay untouched.
    """
    events = Event.__table__
    rows = db.execute(
        sa.select(events.c.id, events.c.before, events.c.after).where(events.c.case_id == case_id)
    ).all()
    changed = []
    for event_id, before, after in rows:
        new_before, new_after = anonymous_payload(before), anonymous_payload(after)
        if (new_before, new_after) != (before or {}, after or {}):
            changed.append({"event_id": event_id, "new_before": new_before, "new_after": new_after})
    if changed:
        db.execute(
            sa.update(events)
            .where(events.c.id == sa.bindparam("event_id"))
            .values(
                before=sa.bindparam("new_before", type_=events.c.before.type),
                after=sa.bindparam("new_after", type_=events.c.after.type),
            ),
            changed,
        )
    return len(changed)


def anonymous_payload(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """What of an audit payload may outlive gallring: numbers, flags, ids and codes.

    A string survives only under a key known to hold a code (state, kind, status …) and
    only if it looks like one; any other text, and any list holding text, goes.
    """
    kept: dict[str, Any] = {}
    for key, value in (payload or {}).items():
        if isinstance(value, Mapping):
            kept[key] = anonymous_payload(value)
        elif isinstance(value, list):
            if all(_is_plain(item) for item in value):
                kept[key] = value
        elif _is_plain(value) or (
            isinstance(value, str) and key in CODE_KEYS and CODE_VALUE.fullmatch(value)
        ):
            kept[key] = value
    return kept


def _is_plain(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float)
