"""The daily digest: one e-mail per person on working days with what is overdue and coming.

A person sees the deadlines of the cases they can see: those where they hold a role now
(koordinator, kontaktperson, språkrör), those of the unit where they are rektor, and every
case if they are samordnare. The digest carries case references, deadline labels and
dates only (DESIGN.md, "Privacy in messages").

Safe to run any number of times a day and in several processes at once: a person whose
`last_digest_at` is today is skipped, and the dedupe key `digest:{person}:{date}` lets
only one notification a day through.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from vastbas.calendar import is_working_day, local_datetime, local_to_utc
from vastbas.enums import SystemRole
from vastbas.messages import DigestItem, digest_message
from vastbas.models import Assignment, Case, CaseDeadline, Person, Unit
from vastbas.outbox import enqueue
from vastbas.settings import Settings
from vastbas.workflow import workflow_named

UPCOMING_DAYS = 7


@dataclass(frozen=True)
class _Deadline:
    case_id: int
    rektor_id: int | None
    item: DigestItem
    overdue: bool


@dataclass(frozen=True)
class _Assignment:
    person_id: int
    case_id: int
    started_at: datetime
    item: DigestItem


def send_digests(sessions: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """Queue today's digest for everyone who wants one and has not had it; returns how many.

    Nothing happens before `settings.digest_hour` local time or on a non-working day.
    Everyone looked at gets `last_digest_at` set, so a day with nothing to tell is not
    looked at again.
    """
    local = local_datetime(now)
    today = local.date()
    if not is_working_day(today) or local.hour < settings.digest_hour:
        return 0
    with sessions() as db:
        people = _waiting(db, since=local_to_utc(today, time(0)))
        if not people:
            return 0
        deadlines = _open_deadlines(db, today)
        assignments = _assignments(db, [p.id for p in people])
        queued = 0
        for person in people:
            if _enqueue_digest(db, person, deadlines, assignments, now, today, settings):
                queued += 1
        db.execute(
            sa.update(Person)
            .where(Person.id.in_([p.id for p in people]))
            .values(last_digest_at=now)
            .execution_options(synchronize_session=False)
        )
        db.commit()
    return queued


def _enqueue_digest(
    db: Session,
    person: Person,
    deadlines: list[_Deadline],
    assignments: dict[int, list[_Assignment]],
    now: datetime,
    today: date,
    settings: Settings,
) -> bool:
    """Queue one person's digest if there is anything in it; True if it was queued now."""
    own = assignments.get(person.id, [])
    if person.has_role(SystemRole.SAMORDNARE):
        seen = deadlines
    else:
        cases = {a.case_id for a in own}
        seen = [d for d in deadlines if d.case_id in cases or d.rektor_id == person.id]
    since = person.last_digest_at
    overdue = [d.item for d in seen if d.overdue]
    upcoming = [d.item for d in seen if not d.overdue]
    # A first digest lists every current role: none of them has been told about before.
    assigned = [a.item for a in own if since is None or a.started_at > since]
    if not (overdue or upcoming or assigned):
        return False
    message = digest_message(
        person_name=person.name,
        overdue=overdue,
        upcoming=upcoming,
        assigned=assigned,
        link=f"{settings.base_url}/",
    )
    return enqueue(
        db,
        dedupe_key=f"digest:{person.id}:{today.isoformat()}",
        kind="digest",
        recipient=person,
        case_id=None,
        message=message,
        now=now,
        settings=settings,
    )


def _waiting(db: Session, *, since: datetime) -> list[Person]:
    """Active users with an address and digests on, who have had none since `since`."""
    return list(
        db.scalars(
            sa.select(Person)
            .where(
                Person.active.is_(True),
                Person.username.is_not(None),
                Person.email.is_not(None),
                Person.email != "",
                Person.digest_enabled.is_(True),
                sa.or_(Person.last_digest_at.is_(None), Person.last_digest_at < since),
            )
            .order_by(Person.id)
        )
    )


def _open_deadlines(db: Session, today: date) -> list[_Deadline]:
    """Every open deadline on an open case that is overdue or due within a week, in order."""
    horizon = today + timedelta(days=UPCOMING_DAYS)
    rows = db.execute(
        sa.select(
            CaseDeadline.case_id,
            CaseDeadline.name,
            CaseDeadline.due_on,
            CaseDeadline.overdue_since,
            Case.reference,
            Case.workflow,
            Unit.rektor_id,
        )
        .join(Case, Case.id == CaseDeadline.case_id)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(
            CaseDeadline.closed_at.is_(None),
            Case.closed_at.is_(None),
            sa.or_(CaseDeadline.overdue_since.is_not(None), CaseDeadline.due_on <= horizon),
        )
        .order_by(CaseDeadline.due_on, Case.reference, CaseDeadline.id)
    ).all()
    found = []
    for case_id, name, due_on, overdue_since, reference, workflow, rektor_id in rows:
        definition = workflow_named(workflow).deadlines.get(name)
        if definition is None:
            continue
        found.append(
            _Deadline(
                case_id=case_id,
                rektor_id=rektor_id,
                item=DigestItem(reference=reference, what=definition.label, due_on=due_on),
                overdue=overdue_since is not None or due_on < today,
            )
        )
    return found


def _assignments(db: Session, person_ids: list[int]) -> dict[int, list[_Assignment]]:
    """The current roles of these people on open cases, by person, in reference order."""
    rows = db.execute(
        sa.select(
            Assignment.person_id,
            Assignment.case_id,
            Assignment.role,
            Assignment.started_at,
            Case.reference,
            Case.workflow,
        )
        .join(Case, Case.id == Assignment.case_id)
        .where(
            Assignment.person_id.in_(person_ids),
            Assignment.ended_at.is_(None),
            Case.closed_at.is_(None),
        )
        .order_by(Case.reference, Assignment.id)
    ).all()
    found: dict[int, list[_Assignment]] = defaultdict(list)
    for person_id, case_id, role, started_at, reference, workflow in rows:
        roles = workflow_named(workflow).roles
        label = roles[role.value].label if role.value in roles else role.value
        found[person_id].append(
            _Assignment(person_id, case_id, started_at, DigestItem(reference, label))
        )
    return found
