"""Read models of the lists: Mina ärenden and the case list (no child names)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_datetime, local_to_utc
from vastbas.enums import (
    SystemRole,
)
from vastbas.models import (
    Assignment,
    Case,
    CaseDeadline,
    Person,
    Unit,
)
from vastbas.queries.common import (
    KOORDINATORER,
    RECENT_DAYS,
    UPCOMING_DAYS,
    Choice,
    DeadlineItem,
    _deadline_label,
    _role_label,
    all_workflows,
    process_choices,
    step_choices,
    unit_choices,
)
from vastbas.services.base import load_actor
from vastbas.services.notifications import NotificationView, list_for, unread_count
from vastbas.workflow import workflow_named


@dataclass(frozen=True)
class MyCase:
    """A case I have a part in, with my roles on it (never the child's name)."""

    reference: str
    process_label: str
    step_label: str
    unit_name: str | None
    roles: tuple[str, ...]
    assigned_at: datetime | None


@dataclass(frozen=True)
class MyCases:
    overdue: tuple[DeadlineItem, ...]
    upcoming: tuple[DeadlineItem, ...]
    recently_assigned: tuple[MyCase, ...]
    cases: tuple[MyCase, ...]
    notifications: tuple[NotificationView, ...]
    unread: int
    processes: tuple[Choice, ...] = ()
    # The start page shows at most START_PAGE_LIMIT of each list; the rest is in Ärenden.
    more_cases: bool = False
    more_deadlines: bool = False


# A samordnare owns every new request's step: in a large municipality thousands of cases.
START_PAGE_LIMIT = 200


def my_cases(db: Session, person_id: int, today: date, *, process: str | None = None) -> MyCases:
    """The start page: my late and coming deadlines, new assignments, my cases, my messages.

    With `process`, only the cases (and their deadlines) of that workflow.
    """
    person = load_actor(db, person_id)
    samordnare = person.has_role(SystemRole.SAMORDNARE)
    visible = _visible_to(person.id)
    in_process = [Case.workflow == process] if process else []
    rows = db.execute(
        sa.select(Case.id, Case.reference, Case.state, Case.workflow, Unit.name, Unit.rektor_id)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(start_page_scope(person), *in_process)
        .order_by(Case.reference)
        .limit(START_PAGE_LIMIT + 1)
    ).all()
    more_cases = len(rows) > START_PAGE_LIMIT
    rows = rows[:START_PAGE_LIMIT]
    assigned = db.execute(
        sa.select(Assignment.case_id, Assignment.role, Assignment.started_at).where(
            Assignment.person_id == person.id, Assignment.ended_at.is_(None)
        )
    ).all()
    roles_by_case: dict[int, list[str]] = defaultdict(list)
    started: dict[int, datetime] = {}
    for case_id, role, started_at in assigned:
        roles_by_case[case_id].append(role.value)
        started[case_id] = max(started_at, started.get(case_id, started_at))
    cases = []
    for case_id, reference, state, workflow_name, unit_name, rektor_id in rows:
        workflow = workflow_named(workflow_name)
        roles = list(roles_by_case.get(case_id, []))
        if rektor_id == person.id:
            roles.append("rektor")
        if samordnare and workflow.state(state).owner == "samordnare":
            roles.append("samordnare")
        cases.append(
            MyCase(
                reference=reference,
                process_label=workflow.title,
                step_label=workflow.state(state).label,
                unit_name=unit_name,
                roles=tuple(_role_label(workflow, r) for r in roles),
                assigned_at=local_datetime(started[case_id]) if case_id in started else None,
            )
        )
    since = local_datetime(local_to_utc(today - timedelta(days=RECENT_DAYS), time(0)))
    recent = sorted(
        (c for c in cases if c.assigned_at is not None and c.assigned_at >= since),
        key=lambda c: c.assigned_at or since,
        reverse=True,
    )
    seen = None if samordnare else CaseDeadline.case_id.in_(visible)
    if process:
        seen = sa.and_(Case.workflow == process, *([seen] if seen is not None else []))
    deadlines = _open_deadlines(
        db, today, seen, horizon=today + timedelta(days=UPCOMING_DAYS), limit=START_PAGE_LIMIT + 1
    )
    more_deadlines = len(deadlines) > START_PAGE_LIMIT
    deadlines = deadlines[:START_PAGE_LIMIT]
    return MyCases(
        overdue=tuple(d for d in deadlines if d.overdue),
        upcoming=tuple(d for d in deadlines if not d.overdue),
        recently_assigned=tuple(recent),
        cases=tuple(cases),
        notifications=tuple(
            replace(n, created_at=local_datetime(n.created_at)) for n in list_for(db, person.id)
        ),
        unread=unread_count(db, person.id),
        processes=process_choices(),
        more_cases=more_cases,
        more_deadlines=more_deadlines,
    )


def start_page_scope(person: Person) -> sa.ColumnElement[bool]:
    """The open cases of Mina ärenden (and the calendar feed): a role on the case, rektor of
    its unit, or for the samordnare a case in a step the samordnare owns."""
    shown = [Case.id.in_(_visible_to(person.id))]
    if person.has_role(SystemRole.SAMORDNARE):
        shown.append(_owned_steps("samordnare"))
    return sa.and_(Case.closed_at.is_(None), sa.or_(*shown))


def _visible_to(person_id: int) -> sa.CompoundSelect:
    """The ids of the cases a person has a role on or is rektor for, as one IN-able set.

    One set rather than `assigned OR rektor`: an OR across two tables cannot use an index,
    and the start page then read every case and every open deadline (bench/RESULTS.md).
    """
    return sa.union(
        _my_assignments(person_id),
        sa.select(Case.id).join(Unit, Unit.id == Case.unit_id).where(Unit.rektor_id == person_id),
    )


def _my_assignments(person_id: int) -> sa.Select[Any]:
    return sa.select(Assignment.case_id).where(
        Assignment.person_id == person_id, Assignment.ended_at.is_(None)
    )


def _owned_steps(role: str) -> sa.ColumnElement[bool]:
    """Cases in a step that this role owns, in whichever workflow they run."""
    return sa.or_(
        *(
            sa.and_(
                Case.workflow == w.name,
                Case.state.in_([s.name for s in w.states if s.owner == role and not s.final]),
            )
            for w in all_workflows()
        )
    )


def _open_deadlines(
    db: Session,
    today: date,
    seen: sa.ColumnElement[bool] | None,
    *,
    horizon: date,
    limit: int | None = None,
) -> list[DeadlineItem]:
    """Open deadlines on open cases, late or due by `horizon`, on the cases in `seen`."""
    query = (
        sa.select(CaseDeadline.name, CaseDeadline.due_on, CaseDeadline.overdue_since)
        .add_columns(Case.reference, Case.workflow)
        .join(Case, Case.id == CaseDeadline.case_id)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(
            CaseDeadline.closed_at.is_(None),
            Case.closed_at.is_(None),
            sa.or_(CaseDeadline.overdue_since.is_not(None), CaseDeadline.due_on <= horizon),
        )
        .order_by(CaseDeadline.due_on, Case.reference, CaseDeadline.id)
    )
    if seen is not None:
        query = query.where(seen)
    if limit is not None:
        query = query.limit(limit)
    return [
        DeadlineItem(
            reference=reference,
            label=_deadline_label(workflow_named(workflow), name),
            due_on=due_on,
            overdue=overdue_since is not None or due_on < today,
        )
        for name, due_on, overdue_since, reference, workflow in db.execute(query)
    ]


# --- Ärenden (the list) -----------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list: no child's name, only what finds and sorts the work."""

    reference: str
    process_label: str
    step_label: str
    closed: bool
    outcome_label: str | None
    unit_name: str | None
    koordinatorer: tuple[str, ...]
    next_deadline: DeadlineItem | None
    overdue: bool


@dataclass(frozen=True)
class CaseList:
    rows: tuple[CaseRow, ...]
    total: int
    page: int
    pages: int
    per_page: int
    steps: tuple[Choice, ...]
    units: tuple[Choice, ...]
    koordinatorer: tuple[Choice, ...]
    processes: tuple[Choice, ...] = ()


def case_list(
    db: Session,
    person_id: int,
    *,
    process: str | None = None,
    state: str | None = None,
    unit_id: int | None = None,
    koordinator_id: int | None = None,
    overdue: bool = False,
    search: str | None = None,
    page: int = 1,
    per_page: int = 25,
    today: date | None = None,
) -> CaseList:
    """Every case the person may see, filtered, newest first, one page at a time."""
    person = load_actor(db, person_id)
    today = today or local_datetime(clock.now()).date()
    where: list[sa.ColumnElement[bool]] = []
    if not (person.has_role(SystemRole.SAMORDNARE) or person.has_role(SystemRole.ADMIN)):
        where.append(Case.id.in_(_visible_to(person.id)))
    if process:
        where.append(Case.workflow == process)
    if state:
        where.append(Case.state == state)
    if unit_id is not None:
        where.append(Case.unit_id == unit_id)
    if koordinator_id is not None:
        where.append(
            Case.id.in_(
                sa.select(Assignment.case_id).where(
                    Assignment.person_id == koordinator_id,
                    Assignment.role.in_(KOORDINATORER),
                    Assignment.ended_at.is_(None),
                )
            )
        )
    if overdue:
        where.append(Case.id.in_(sa.select(CaseDeadline.case_id).where(_late(today))))
    if search and search.strip():
        where.append(
            sa.func.upper(Case.reference).contains(search.strip().upper(), autoescape=True)
        )
    total = db.scalar(sa.select(sa.func.count()).select_from(Case).where(*where)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.execute(
        sa.select(Case.id, Case.reference, Case.state, Case.workflow, Case.outcome, Unit.name)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(*where)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    ids = [row.id for row in rows]
    koordinatorer = _koordinator_names(db, ids)
    deadlines = _next_deadlines(db, ids, today)
    return CaseList(
        rows=tuple(
            _case_row(row, koordinatorer.get(row.id, ()), deadlines.get(row.id)) for row in rows
        ),
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
        steps=step_choices(process or None),
        units=unit_choices(db),
        koordinatorer=tuple(
            Choice(str(pid), name)
            for pid, name in db.execute(
                sa.select(Person.id, Person.name)
                .where(Person.in_koordinator_pool.is_(True))
                .order_by(Person.name, Person.id)
            )
        ),
        processes=process_choices(),
    )


def _late(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        CaseDeadline.closed_at.is_(None),
        sa.or_(CaseDeadline.overdue_since.is_not(None), CaseDeadline.due_on < today),
    )


def _case_row(row: Any, koordinatorer: tuple[str, ...], deadline: DeadlineItem | None) -> CaseRow:
    workflow = workflow_named(row.workflow)
    return CaseRow(
        reference=row.reference,
        process_label=workflow.title,
        step_label=workflow.state(row.state).label,
        closed=workflow.is_final(row.state),
        outcome_label=workflow.outcomes.get(row.outcome) if row.outcome else None,
        unit_name=row.name,
        koordinatorer=koordinatorer,
        next_deadline=deadline,
        overdue=deadline is not None and deadline.overdue,
    )


def _koordinator_names(db: Session, case_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = db.execute(
        sa.select(Assignment.case_id, Person.name)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.case_id.in_(case_ids),
            Assignment.role.in_(KOORDINATORER),
            Assignment.ended_at.is_(None),
        )
        .order_by(Assignment.case_id, Assignment.role)
    ).all()
    names: dict[int, list[str]] = defaultdict(list)
    for case_id, name in rows:
        names[case_id].append(name)
    return {case_id: tuple(found) for case_id, found in names.items()}


def _next_deadlines(db: Session, case_ids: list[int], today: date) -> dict[int, DeadlineItem]:
    """The earliest open deadline of each case (a late one is the earliest by date)."""
    rows = db.execute(
        sa.select(CaseDeadline.case_id, CaseDeadline.name, CaseDeadline.due_on)
        .add_columns(CaseDeadline.overdue_since, Case.reference, Case.workflow)
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(CaseDeadline.case_id.in_(case_ids), CaseDeadline.closed_at.is_(None))
        .order_by(CaseDeadline.due_on, CaseDeadline.id)
    ).all()
    found: dict[int, DeadlineItem] = {}
    for case_id, name, due_on, overdue_since, reference, workflow in rows:
        if case_id not in found:
            found[case_id] = DeadlineItem(
                reference=reference,
                label=_deadline_label(workflow_named(workflow), name),
                due_on=due_on,
                overdue=overdue_since is not None or due_on < today,
            )
    return found
