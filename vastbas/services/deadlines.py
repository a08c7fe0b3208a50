"""Start and stop a case's deadlines and their timers, inside the caller's transaction.

These are not use cases of their own: the service that causes a deadline (a transition,
a booked meeting, a planned action) calls them before it commits, so the timer exists
exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas.calendar import local_date
from vastbas.deadlines import due_date, plan_reminders
from vastbas.models import Case, CaseDeadline, Timer
from vastbas.workflow import DeadlineDef, TransitionDef, Workflow, workflow_named

OPEN = CaseDeadline.closed_at.is_(None)


def start(
    db: Session,
    case: Case,
    deadline: DeadlineDef,
    *,
    counted_from: date,
    now: datetime,
    subject: tuple[str, int] | None = None,
) -> CaseDeadline:
    """Start one deadline on a case, with a timer for each of its reminders."""
    due_on = due_date(deadline, counted_from)
    row = CaseDeadline(
        case_id=case.id,
        name=deadline.name,
        subject_kind=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        period=case.period,
        due_on=due_on,
        started_at=now,
    )
    row.timers = [
        Timer(
            case_id=case.id,
            reminder_index=planned.index,
            overdue=planned.overdue,
            recipients=list(planned.to),
            fire_at=planned.fire_at,
        )
        for planned in plan_reminders(deadline, due_on)
    ]
    db.add(row)
    return row


def close(
    db: Session,
    case: Case,
    now: datetime,
    *,
    names: Iterable[str] | None = None,
    subject: tuple[str, int] | None = None,
    closed_as: str = "met",
) -> int:
    """Close open deadlines (all, or by name and subject) and cancel their pending timers."""
    where = [CaseDeadline.case_id == case.id, OPEN]
    if names is not None:
        names = list(names)
        if not names:
            return 0
        where.append(CaseDeadline.name.in_(names))
    if subject is not None:
        where += [CaseDeadline.subject_kind == subject[0], CaseDeadline.subject_id == subject[1]]
    ids = db.scalars(sa.select(CaseDeadline.id).where(*where)).all()
    if not ids:
        return 0
    db.execute(
        sa.update(Timer)
        .where(Timer.deadline_id.in_(ids), Timer.status == "pending")
        .values(status="cancelled")
    )
    db.execute(
        sa.update(CaseDeadline)
        .where(CaseDeadline.id.in_(ids))
        .values(closed_at=now, closed_as=closed_as)
    )
    return len(ids)


def after_transition(
    db: Session, case: Case, workflow: Workflow, transition: TransitionDef, now: datetime
) -> None:
    """Stop and start what the transition names; a case that ends cancels everything."""
    if workflow.is_final(case.state):
        close(db, case, now, closed_as="cancelled")
        return
    close(db, case, now, names=transition.stops)
    today = local_date(now)
    for name in transition.starts:
        start(db, case, workflow.deadlines[name], counted_from=today, now=now)


def after_registration(db: Session, case: Case, workflow: Workflow, now: datetime) -> None:
    """Start the deadlines of a new request."""
    today = local_date(now)
    for name in workflow.initial.starts:
        start(db, case, workflow.deadlines[name], counted_from=today, now=now)


def anchored(
    db: Session,
    case: Case,
    anchor: str,
    anchor_day: date,
    now: datetime,
    *,
    subject: tuple[str, int] | None = None,
) -> list[CaseDeadline]:
    """Start every deadline the workflow counts from this record (e.g. a booked meeting).

    An earlier deadline for the same record is replaced, so re-booking moves its timers.
    """
    workflow = workflow_named(case.workflow)
    wanted = [d for d in workflow.deadlines.values() if d.anchor == anchor]
    close(db, case, now, names=[d.name for d in wanted], subject=subject, closed_as="cancelled")
    return [
        start(db, case, deadline, counted_from=anchor_day, now=now, subject=subject)
        for deadline in wanted
    ]


def done(
    db: Session, case: Case, event: str, now: datetime, *, subject: tuple[str, int] | None = None
) -> int:
    """Meet every open deadline that this activity stops (`stopped_by` in the file)."""
    workflow = workflow_named(case.workflow)
    names = [d.name for d in workflow.deadlines.values() if d.stopped_by == event]
    return close(db, case, now, names=names, subject=subject)
