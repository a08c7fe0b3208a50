"""Read models for the pages: one function a page, returning plain frozen dataclasses.

Each function loads everything its page shows with a number of queries that does not grow
with the data (joins and selectinload), so a template never sets off a lazy load
(STYLE.md, point 4). Nothing here changes a case; `record_case_read` only appends to the
audit log. Instants come out in Europe/Stockholm, deadlines as dates.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from vastbas import clock
from vastbas.calendar import local_datetime, local_to_utc
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    MeetingKind,
    ParticipantKind,
    SystemRole,
    UnitKind,
)
from vastbas.errors import NotFound
from vastbas.facts import case_facts
from vastbas.guards import missing_for
from vastbas.labels import label
from vastbas.models import (
    ActionPlan,
    Assignment,
    Case,
    CaseDeadline,
    Event,
    Meeting,
    Person,
    Unit,
)
from vastbas.personnummer_check import mask_personnummer
from vastbas.services.base import can_see, load_actor, roles_on
from vastbas.services.notifications import NotificationView, list_for, unread_count
from vastbas.services.transitions import available_transitions
from vastbas.workflow import WORKFLOW_DIR, Workflow, workflow_named

UPCOMING_DAYS = 7
RECENT_DAYS = 14
TIMELINE_LIMIT = 200
KOORDINATORER = (CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2)
# Reads are audited but are not part of what happened to the case.
READ_ACTION = "read_case"


@dataclass(frozen=True)
class Choice:
    """One option of a select or filter: the value sent and the Swedish label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class DeadlineItem:
    """An open deadline: on which case, what, by when, and whether it is already late."""

    reference: str
    label: str
    due_on: date
    overdue: bool


# --- Mina ärenden -----------------------------------------------------------------------


@dataclass(frozen=True)
class MyCase:
    """A case I have a part in, with my roles on it (never the child's name)."""

    reference: str
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


def my_cases(db: Session, person_id: int, today: date) -> MyCases:
    """The start page: my late and coming deadlines, new assignments, my cases, my messages."""
    person = load_actor(db, person_id)
    samordnare = person.has_role(SystemRole.SAMORDNARE)
    mine = _my_assignments(person.id)
    shown = [Case.id.in_(mine), Unit.rektor_id == person.id]
    if samordnare:
        shown.append(_owned_steps("samordnare"))
    rows = db.execute(
        sa.select(Case.id, Case.reference, Case.state, Case.workflow, Unit.name, Unit.rektor_id)
        .outerjoin(Unit, Unit.id == Case.unit_id)
        .where(Case.closed_at.is_(None), sa.or_(*shown))
        .order_by(Case.reference)
    ).all()
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
    seen = None if samordnare else sa.or_(Case.id.in_(mine), Unit.rektor_id == person.id)
    deadlines = _open_deadlines(db, today, seen, horizon=today + timedelta(days=UPCOMING_DAYS))
    return MyCases(
        overdue=tuple(d for d in deadlines if d.overdue),
        upcoming=tuple(d for d in deadlines if not d.overdue),
        recently_assigned=tuple(recent),
        cases=tuple(cases),
        notifications=tuple(
            replace(n, created_at=local_datetime(n.created_at)) for n in list_for(db, person.id)
        ),
        unread=unread_count(db, person.id),
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
    db: Session, today: date, seen: sa.ColumnElement[bool] | None, *, horizon: date
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


def case_list(
    db: Session,
    person_id: int,
    *,
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
        rektor_units = sa.select(Unit.id).where(Unit.rektor_id == person.id)
        where.append(
            sa.or_(Case.id.in_(_my_assignments(person.id)), Case.unit_id.in_(rektor_units))
        )
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
        steps=step_choices(),
        units=unit_choices(db),
        koordinatorer=tuple(
            Choice(str(pid), name)
            for pid, name in db.execute(
                sa.select(Person.id, Person.name)
                .where(Person.in_koordinator_pool.is_(True))
                .order_by(Person.name, Person.id)
            )
        ),
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


def unit_choices(db: Session) -> tuple[Choice, ...]:
    """The schools and förskolor a child can belong to, by name."""
    rows = db.execute(
        sa.select(Unit.id, Unit.name)
        .where(Unit.kind.in_([UnitKind.SKOLA, UnitKind.FORSKOLA]))
        .order_by(Unit.name)
    )
    return tuple(Choice(str(unit_id), name) for unit_id, name in rows)


def step_choices() -> tuple[Choice, ...]:
    """Every state of every workflow, in step order, once each."""
    seen: dict[str, str] = {}
    for workflow in all_workflows():
        for state in (*workflow.steps, *(s for s in workflow.states if s.final)):
            seen.setdefault(state.name, state.label)
    return tuple(Choice(name, text) for name, text in seen.items())


@cache
def all_workflows() -> tuple[Workflow, ...]:
    return tuple(workflow_named(path.stem) for path in sorted(WORKFLOW_DIR.glob("*.yaml")))


def may_see(db: Session, reference: str, person_id: int) -> bool:
    """Whether the person may see the case (for where to go after registering it)."""
    case = db.scalars(
        sa.select(Case)
        .where(Case.reference == reference)
        .options(joinedload(Case.unit), selectinload(Case.assignments))
    ).one_or_none()
    return case is not None and can_see(roles_on(case, load_actor(db, person_id)))


def record_case_read(
    db: Session, reference: str, person_id: int, *, personnummer: bool = False
) -> None:
    """Append a read of the case's sensitive data to the audit log; the case is not changed.

    DESIGN.md, "Data and integrity": the audit log holds case reads too. Call it after the
    read was allowed; the case version stays, so nobody's open form goes stale.
    """
    case_id = db.scalar(sa.select(Case.id).where(Case.reference == reference))
    if case_id is None:
        raise NotFound(f"Ärendet {reference} finns inte.")
    after = {"personnummer": True} if personnummer else {}
    db.add(
        Event(case_id=case_id, actor_id=person_id, at=clock.now(), action=READ_ACTION, after=after)
    )
    db.commit()


def _deadline_label(workflow: Workflow, name: str) -> str:
    definition = workflow.deadlines.get(name)
    return definition.label if definition is not None else name


def _role_label(workflow: Workflow, role: str) -> str:
    definition = workflow.roles.get(role)
    return definition.label if definition is not None else role


def _local(instant: datetime | None) -> datetime | None:
    return local_datetime(instant) if instant is not None else None


def _label_of(kind: type[StrEnum], value: Any) -> str:
    try:
        return label(kind(value))
    except ValueError:
        return str(value)


# --- The case page ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineView:
    label: str
    due_on: date
    overdue: bool


@dataclass(frozen=True)
class StepView:
    """One step of the stepper: done, current, and the open deadlines that belong to it."""

    number: int
    name: str
    label: str
    done: bool
    current: bool
    deadlines: tuple[DeadlineView, ...]

    @property
    def late(self) -> bool:
        return any(d.overdue for d in self.deadlines)


@dataclass(frozen=True)
class TransitionInfo:
    """A trigger of the workflow as the UI names it, whether or not it is possible now."""

    trigger: str
    label: str
    dest_label: str
    closes: bool
    confirm: bool
    requires_reason: bool

    @property
    def needs_confirmation(self) -> bool:
        """A second page (confirm, and the reason field) before the trigger is fired."""
        return self.confirm or self.requires_reason


@dataclass(frozen=True)
class TransitionView:
    """A trigger the user's roles allow from this step, with what it still misses."""

    info: TransitionInfo
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class ChecklistItem:
    """A way forward from this step and what its guards still miss (for every viewer)."""

    label: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class RoleView:
    role: str
    label: str
    person_name: str | None
    outside_contact: bool
    since: datetime | None
    until: datetime | None
    appointed_by: str | None
    on_behalf_of: str | None
    trust_confirmed: bool


@dataclass(frozen=True)
class ConsentView:
    given_by: str
    actors: tuple[str, ...]
    given_on: date
    review_on: date
    recorded_by: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


@dataclass(frozen=True)
class ParticipantView:
    name: str
    attended: bool | None
    homework: str | None


@dataclass(frozen=True)
class MeetingView:
    id: int
    kind_label: str
    period: int
    starts_at: datetime
    place: str
    invitations_sent_at: datetime | None
    held_at: datetime | None
    minutes: str | None
    participants: tuple[ParticipantView, ...]


@dataclass(frozen=True)
class NetworkEntryView:
    kind_label: str
    name: str
    relation: str | None
    on_guest_list: bool


@dataclass(frozen=True)
class ActionView:
    description: str
    owner: str
    due_on: date | None
    status_label: str
    overdue: bool


@dataclass(frozen=True)
class PlanView:
    version: int
    period: int
    created_at: datetime
    created_by: str | None
    note: str | None
    goals: tuple[str, ...]
    actions: tuple[ActionView, ...]


@dataclass(frozen=True)
class PlanVersion:
    version: int
    created_on: date


@dataclass(frozen=True)
class RecordView:
    """A follow-up, evaluation or deviation: what kind, when, the text, by whom."""

    kind_label: str
    on: date
    text: str
    by: str | None
    note: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    actor: str | None


@dataclass(frozen=True)
class CasePage:
    """Everything the case page shows, read in a fixed number of queries."""

    reference: str
    version: int
    workflow_title: str
    state: str
    step_label: str
    step_description: str
    closed: bool
    outcome_label: str | None
    outcome_reason: str | None
    period: int
    child_name: str
    personnummer: str
    personnummer_masked: bool
    unit_name: str | None
    rektor_name: str | None
    initiator_label: str
    initiator_name: str | None
    background: str
    child_voice: str | None
    problem_analysis: str | None
    purpose: str | None
    registered_at: datetime
    registered_by: str | None
    my_roles: tuple[str, ...]
    stepper: tuple[StepView, ...]
    deadlines: tuple[DeadlineView, ...]
    checklist: tuple[ChecklistItem, ...]
    transitions: tuple[TransitionView, ...]
    triggers: Mapping[str, TransitionInfo]
    roles: tuple[RoleView, ...]
    former_roles: tuple[RoleView, ...]
    consents: tuple[ConsentView, ...]
    meetings: tuple[MeetingView, ...]
    network: tuple[NetworkEntryView, ...]
    plan: PlanView | None
    older_plans: tuple[PlanVersion, ...]
    follow_ups: tuple[RecordView, ...]
    evaluations: tuple[RecordView, ...]
    deviations: tuple[RecordView, ...]
    timeline: tuple[TimelineEntry, ...]
    allowed_activities: frozenset[str]

    def transition(self, trigger: str) -> TransitionView | None:
        """The trigger if the user may fire it from this step (ready or not)."""
        return next((t for t in self.transitions if t.info.trigger == trigger), None)


CASE_GRAPH = (
    joinedload(Case.unit),
    selectinload(Case.assignments),
    selectinload(Case.consents),
    selectinload(Case.meetings).selectinload(Meeting.participants),
    selectinload(Case.network),
    selectinload(Case.plans).selectinload(ActionPlan.goals),
    selectinload(Case.plans).selectinload(ActionPlan.actions),
    selectinload(Case.follow_ups),
    selectinload(Case.evaluations),
    selectinload(Case.deviations),
)


def case_page(
    db: Session, reference: str, person_id: int, today: date, *, reveal_personnummer: bool = False
) -> CasePage:
    """The case page; a case the person may not see is reported exactly like an unknown one."""
    person = load_actor(db, person_id)
    case = db.scalars(
        sa.select(Case).where(Case.reference == reference).options(*CASE_GRAPH)
    ).one_or_none()
    roles = roles_on(case, person) if case is not None else frozenset()
    if case is None or not can_see(roles):
        raise NotFound(f"Ärendet {reference} finns inte.")
    workflow = workflow_named(case.workflow)
    deadlines = db.scalars(
        sa.select(CaseDeadline)
        .where(CaseDeadline.case_id == case.id, CaseDeadline.closed_at.is_(None))
        .order_by(CaseDeadline.due_on, CaseDeadline.id)
    ).all()
    events = db.scalars(
        sa.select(Event)
        .where(Event.case_id == case.id, Event.action != READ_ACTION)
        .order_by(Event.at.desc(), Event.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    people = _people(db, case, events)
    state = workflow.state(case.state)
    open_deadlines = [_deadline_view(workflow, case, d, today) for d in deadlines]
    return CasePage(
        reference=case.reference,
        version=case.version,
        workflow_title=workflow.title,
        state=case.state,
        step_label=state.label,
        step_description=state.description,
        closed=state.final,
        outcome_label=workflow.outcomes.get(case.outcome) if case.outcome else None,
        outcome_reason=case.outcome_reason,
        period=case.period,
        child_name=case.child_name,
        personnummer=case.child_personnummer
        if reveal_personnummer
        else mask_personnummer(case.child_personnummer),
        personnummer_masked=not reveal_personnummer,
        unit_name=case.unit.name if case.unit else None,
        rektor_name=_name(people, case.unit.rektor_id) if case.unit else None,
        initiator_label=label(case.initiator_kind),
        initiator_name=case.initiator_name,
        background=case.background,
        child_voice=case.child_voice,
        problem_analysis=case.problem_analysis,
        purpose=case.purpose,
        registered_at=local_datetime(case.created_at),
        registered_by=_name(people, case.registered_by_id),
        my_roles=tuple(
            _role_label(workflow, r) for r in workflow.roles if r in roles and r != "any_user"
        ),
        stepper=_stepper(workflow, case, deadlines, open_deadlines, events),
        deadlines=tuple(open_deadlines),
        checklist=_checklist(workflow, case),
        transitions=tuple(
            TransitionView(_info(workflow, t.trigger), t.missing)
            for t in available_transitions(case, person)
        ),
        triggers={t.trigger: _info(workflow, t.trigger) for t in workflow.transitions},
        roles=tuple(_roles(workflow, case, people, current=True)),
        former_roles=tuple(_roles(workflow, case, people, current=False)),
        consents=tuple(_consent(c, people) for c in reversed(case.consents)),
        meetings=tuple(_meeting(m) for m in case.meetings),
        network=tuple(
            NetworkEntryView(label(e.kind), e.name, e.relation, e.on_guest_list)
            for e in case.network
            if e.removed_at is None
        ),
        plan=_plan(case.plans[-1], people, today) if case.plans else None,
        older_plans=tuple(
            PlanVersion(p.version, local_datetime(p.created_at).date())
            for p in reversed(case.plans[:-1])
        ),
        follow_ups=tuple(
            RecordView(label(f.kind), f.held_on, f.notes, _name(people, f.recorded_by_id))
            for f in reversed(case.follow_ups)
        ),
        evaluations=tuple(
            RecordView(
                label(e.decision),
                local_datetime(e.recorded_at).date(),
                e.notes,
                _name(people, e.recorded_by_id),
            )
            for e in reversed(case.evaluations)
        ),
        deviations=tuple(
            RecordView(
                label(d.status),
                local_datetime(d.reported_at).date(),
                d.description,
                _name(people, d.reported_by_id),
                d.follow_up,
            )
            for d in reversed(case.deviations)
        ),
        timeline=tuple(
            TimelineEntry(local_datetime(e.at), _event_text(workflow, e), _name(people, e.actor_id))
            for e in events
        ),
        allowed_activities=frozenset(
            name
            for name, spec in workflow.activities.items()
            if case.state in spec.states and roles & spec.roles
        ),
    )


@dataclass(frozen=True)
class _PersonName:
    name: str
    has_login: bool


def _people(db: Session, case: Case, events: Any) -> dict[int, _PersonName]:
    """The names of everyone the page mentions, in one query."""
    ids = {case.registered_by_id, case.unit.rektor_id if case.unit else None}
    for a in case.assignments:
        ids |= {a.person_id, a.appointed_by_id, a.on_behalf_of_id}
    ids |= {c.recorded_by_id for c in case.consents}
    ids |= {p.created_by_id for p in case.plans}
    ids |= {f.recorded_by_id for f in case.follow_ups}
    ids |= {e.recorded_by_id for e in case.evaluations}
    ids |= {d.reported_by_id for d in case.deviations}
    ids |= {e.actor_id for e in events}
    ids.discard(None)
    rows = db.execute(sa.select(Person.id, Person.name, Person.username).where(Person.id.in_(ids)))
    return {pid: _PersonName(name, username is not None) for pid, name, username in rows}


def _name(people: Mapping[int, _PersonName], person_id: int | None) -> str | None:
    found = people.get(person_id) if person_id is not None else None
    return found.name if found is not None else None


def _info(workflow: Workflow, trigger: str) -> TransitionInfo:
    t = workflow.transition(trigger)
    assert t is not None
    return TransitionInfo(
        trigger=t.trigger,
        label=t.label,
        dest_label=workflow.state(t.dest).label,
        closes=workflow.is_final(t.dest),
        confirm=t.confirm,
        requires_reason=t.requires_reason,
    )


def _deadline_view(workflow: Workflow, case: Case, row: CaseDeadline, today: date) -> DeadlineView:
    """A deadline with what it is about when that is a meeting or an action."""
    text = _deadline_label(workflow, row.name)
    if row.subject_kind == "meeting":
        meeting = next((m for m in case.meetings if m.id == row.subject_id), None)
        text += f" ({label(meeting.kind)})" if meeting else ""
    elif row.subject_kind == "action" and case.plans:
        action = next((a for a in case.plans[-1].actions if a.id == row.subject_id), None)
        text += f" ({action.description})" if action else ""
    return DeadlineView(text, row.due_on, row.overdue_since is not None or row.due_on < today)


def _stepper(
    workflow: Workflow,
    case: Case,
    rows: Any,
    views: list[DeadlineView],
    events: Any,
) -> tuple[StepView, ...]:
    """Every numbered step: done before the current one; each open deadline on its step.

    A deadline named after a step (assessment, pre_meeting, …) belongs to that step; any
    other (an invitation, an action, the consent review) to the step the case is in now.
    A closed case shows as done the steps up to the one it was closed from.
    """
    steps = workflow.steps
    reached = case.state
    if workflow.is_final(case.state):
        reached = next(
            (e.before.get("state", "") for e in events if e.after.get("state") == case.state), ""
        )
    numbers = {s.name: s.step or 0 for s in steps}
    here = numbers.get(reached, 0)
    by_step: dict[str, list[DeadlineView]] = defaultdict(list)
    for row, view in zip(rows, views, strict=True):
        by_step[row.name if row.name in numbers else case.state].append(view)
    closed = workflow.is_final(case.state)
    return tuple(
        StepView(
            number=s.step or 0,
            name=s.name,
            label=s.label,
            done=(s.step or 0) < here or (closed and (s.step or 0) == here),
            current=s.name == case.state,
            deadlines=tuple(by_step.get(s.name, ())),
        )
        for s in steps
    )


def _checklist(workflow: Workflow, case: Case) -> tuple[ChecklistItem, ...]:
    """What each guarded way forward from this step still misses, whoever is looking."""
    facts = case_facts(case)
    return tuple(
        ChecklistItem(t.label, tuple(missing_for(t.guards, facts)))
        for t in workflow.transitions_from(case.state)
        if t.guards
    )


def _roles(
    workflow: Workflow, case: Case, people: Mapping[int, _PersonName], *, current: bool
) -> list[RoleView]:
    """The case roles in the file's order: the holders now, or everyone who held one before."""
    found = []
    for role in (r for r in workflow.roles.values() if r.scope == "case"):
        held = [a for a in case.assignments if a.role.value == role.name]
        chosen = [a for a in held if (a.ended_at is None) == current]
        if current and not chosen:
            found.append(
                RoleView(role.name, role.label, None, False, None, None, None, None, False)
            )
        for a in chosen:
            holder = people.get(a.person_id)
            found.append(
                RoleView(
                    role=role.name,
                    label=role.label,
                    person_name=holder.name if holder else None,
                    outside_contact=holder is not None and not holder.has_login,
                    since=local_datetime(a.started_at),
                    until=_local(a.ended_at),
                    appointed_by=_name(people, a.appointed_by_id),
                    on_behalf_of=_name(people, a.on_behalf_of_id),
                    trust_confirmed=a.trust_confirmed_by_guardian,
                )
            )
    return found


def _consent(c: Any, people: Mapping[int, _PersonName]) -> ConsentView:
    return ConsentView(
        given_by=c.given_by,
        actors=tuple(c.actors or ()),
        given_on=c.given_on,
        review_on=c.review_on,
        recorded_by=_name(people, c.recorded_by_id),
        withdrawn_at=_local(c.withdrawn_at),
        withdrawn_reason=c.withdrawn_reason,
    )


def _meeting(m: Meeting) -> MeetingView:
    return MeetingView(
        id=m.id,
        kind_label=label(m.kind),
        period=m.period,
        starts_at=local_datetime(m.starts_at),
        place=m.place,
        invitations_sent_at=_local(m.invitations_sent_at),
        held_at=_local(m.held_at),
        minutes=m.minutes,
        participants=tuple(ParticipantView(p.name, p.attended, p.homework) for p in m.participants),
    )


def _plan(plan: ActionPlan, people: Mapping[int, _PersonName], today: date) -> PlanView:
    still_open = (ActionStatus.PLANNED, ActionStatus.STARTED)
    return PlanView(
        version=plan.version,
        period=plan.period,
        created_at=local_datetime(plan.created_at),
        created_by=_name(people, plan.created_by_id),
        note=plan.note,
        goals=tuple(g.text for g in plan.goals),
        actions=tuple(
            ActionView(
                description=a.description,
                owner=a.owner_name,
                due_on=a.due_on,
                status_label=label(a.status),
                overdue=a.due_on is not None and a.due_on < today and a.status in still_open,
            )
            for a in plan.actions
        ),
    )


EVENT_TEXTS = {
    "record_consent": "Samtycke registrerat",
    "record_child_voice": "Barnets röst noterad",
    "set_problem_analysis": "Problemanalys och syfte dokumenterade",
    "appoint_koordinatorer": "Koordinatorer utsedda",
    "appoint_kontaktperson": "Kontaktperson utsedd",
    "appoint_sprakror": "Språkrör utsett",
    "add_network_entry": "Person tillagd på nätverkskartan",
    "remove_network_entry": "Person borttagen från nätverkskartan",
    "book_meeting": "Möte bokat",
    "send_invitations": "Kallelser skickade",
    "hold_meeting": "Möte genomfört",
    "create_plan": "Handlingsplan upprättad",
    "revise_plan": "Handlingsplanen reviderad",
    "set_action_status": "Åtgärdens status ändrad",
    "record_follow_up": "Uppföljning dokumenterad",
    "record_evaluation": "Utvärdering dokumenterad",
    "register_deviation": "Avvikelse rapporterad",
}
# Which value of an event's `after` says more, and the enum that labels it.
EVENT_DETAILS: dict[str, tuple[str, type[StrEnum]]] = {
    "book_meeting": ("kind", MeetingKind),
    "add_network_entry": ("kind", ParticipantKind),
    "record_follow_up": ("kind", FollowUpKind),
    "record_evaluation": ("decision", EvaluationDecision),
    "set_action_status": ("status", ActionStatus),
}


def _event_text(workflow: Workflow, event: Event) -> str:
    """One line of the timeline in Swedish; events carry no names, so neither does this."""
    if event.action == workflow.initial.trigger:
        return "Förfrågan registrerad"
    transition = workflow.transition(event.action)
    if transition is not None:
        if workflow.is_final(transition.dest):
            return f"{transition.label} – ärendet avslutades"
        return f"{transition.label} – till steget {workflow.state(transition.dest).label}"
    text = EVENT_TEXTS.get(event.action, event.action)
    after = event.after or {}
    if event.action in EVENT_DETAILS:
        key, kind = EVENT_DETAILS[event.action]
        if key in after:
            text += f": {_label_of(kind, after[key]).lower()}"
    elif "plan_version" in after:
        text += f" (version {after['plan_version']})"
    return text
