"""The data of the printed documents: a handlingsplan version and the archive of a closed case.

They reuse the case page's shapes and loading (CASE_GRAPH), so a PDF shows what the page
shows. Reading one is a case read: it appends a read event to the audit log, naming the
document and never the child.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date, local_datetime
from vastbas.enums import MeetingKind
from vastbas.errors import NotFound, RuleBroken
from vastbas.labels import label
from vastbas.models import ActionPlan, Case, CaseDeadline, Event
from vastbas.queries.case_page import (
    CASE_GRAPH,
    ConsentView,
    MeetingView,
    NetworkEntryView,
    PlanView,
    RecordView,
    RoleView,
    TimelineEntry,
    _consent,
    _event_text,
    _meeting,
    _name,
    _people,
    _plan,
    _roles,
)
from vastbas.queries.common import READ_ACTION
from vastbas.services.base import can_see, load_actor, roles_on
from vastbas.workflow import workflow_named

# The deadlines (workflow names) that date the plan's next follow-up and its evaluation.
FOLLOW_UP_DEADLINE = "eht_raise"
EVALUATION_DEADLINE = "evaluation"
FOLLOW_UP_MEETINGS = (MeetingKind.FOLLOW_UP, MeetingKind.EXTRA)


@dataclass(frozen=True)
class PlanDocument:
    """One version of the handlingsplan, as the family and the network get it on paper."""

    reference: str
    child_name: str
    unit_name: str | None
    plan: PlanView
    latest_version: int
    child_voice: str | None
    purpose: str | None
    participants: tuple[NetworkEntryView, ...]
    roles: tuple[RoleView, ...]
    next_follow_up: date | None
    evaluation_on: date | None
    printed_on: date
    case_closed: bool

    @property
    def superseded(self) -> bool:
        return self.plan.version < self.latest_version


@dataclass(frozen=True)
class ArchiveDocument:
    """Everything recorded on a closed case, oldest first, for the archive."""

    reference: str
    workflow_title: str
    child_name: str
    personnummer: str
    unit_name: str | None
    initiator: str
    background: str
    child_voice: str | None
    problem_analysis: str | None
    purpose: str | None
    registered_at: datetime
    registered_by: str | None
    closed_at: datetime
    outcome_label: str | None
    outcome_reason: str | None
    periods: int
    roles: tuple[RoleView, ...]
    consents: tuple[ConsentView, ...]
    network: tuple[NetworkEntryView, ...]
    plans: tuple[PlanView, ...]
    meetings: tuple[MeetingView, ...]
    follow_ups: tuple[RecordView, ...]
    evaluations: tuple[RecordView, ...]
    deviations: tuple[RecordView, ...]
    timeline: tuple[TimelineEntry, ...]


def plan_document(
    db: Session, reference: str, person_id: int, today: date, version: int | None = None
) -> PlanDocument:
    """A handlingsplan version (the latest without `version`), for someone who sees the case."""
    case = _visible_case(db, reference, person_id)
    if not case.plans:
        raise NotFound(f"Ärendet {reference} har ingen handlingsplan ännu.")
    plan = case.plans[-1] if version is None else _version(case, version)
    deadlines = db.scalars(
        sa.select(CaseDeadline)
        .where(
            CaseDeadline.case_id == case.id,
            CaseDeadline.name.in_([FOLLOW_UP_DEADLINE, EVALUATION_DEADLINE]),
            CaseDeadline.period == plan.period,
        )
        .order_by(CaseDeadline.started_at, CaseDeadline.id)
    ).all()
    people = _people(db, case, ())
    workflow = workflow_named(case.workflow)
    latest = plan is case.plans[-1]
    document = PlanDocument(
        reference=case.reference,
        child_name=case.child_name,
        unit_name=case.unit.name if case.unit else None,
        plan=_plan(plan, people, today),
        latest_version=case.plans[-1].version,
        child_voice=case.child_voice,
        purpose=case.purpose,
        participants=_network(case),
        roles=tuple(r for r in _roles(workflow, case, people, current=True) if r.person_name),
        next_follow_up=_next_follow_up(case, deadlines, today) if latest else None,
        evaluation_on=_last_due(d for d in deadlines if d.name == EVALUATION_DEADLINE),
        printed_on=today,
        case_closed=case.closed_at is not None,
    )
    _record_read(db, case, person_id, {"document": "handlingsplan", "version": plan.version})
    return document


def archive_document(db: Session, reference: str, person_id: int) -> ArchiveDocument:
    """The whole of a closed case; an open case has no archive copy yet (RuleBroken).

    Built from the records alone, with the closing day as "today", so the same closed case
    gives the same document every time it is printed.
    """
    case = _visible_case(db, reference, person_id)
    workflow = workflow_named(case.workflow)
    if case.closed_at is None or not workflow.is_final(case.state):
        raise RuleBroken("Arkivutskriften kan skrivas ut först när ärendet är avslutat.")
    events = db.scalars(
        sa.select(Event)
        .where(Event.case_id == case.id, Event.action != READ_ACTION)
        .order_by(Event.at, Event.id)
    ).all()
    people = _people(db, case, events)
    closed_on = local_date(case.closed_at)
    document = ArchiveDocument(
        reference=case.reference,
        workflow_title=workflow.title,
        child_name=case.child_name,
        personnummer=case.child_personnummer,
        unit_name=case.unit.name if case.unit else None,
        initiator=label(case.initiator_kind)
        + (f": {case.initiator_name}" if case.initiator_name else ""),
        background=case.background,
        child_voice=case.child_voice,
        problem_analysis=case.problem_analysis,
        purpose=case.purpose,
        registered_at=local_datetime(case.created_at),
        registered_by=_name(people, case.registered_by_id),
        closed_at=local_datetime(case.closed_at),
        outcome_label=workflow.outcomes.get(case.outcome) if case.outcome else None,
        outcome_reason=case.outcome_reason,
        periods=case.period,
        roles=(
            *(r for r in _roles(workflow, case, people, current=True) if r.person_name),
            *_roles(workflow, case, people, current=False),
        ),
        consents=tuple(_consent(c, people) for c in case.consents),
        network=_network(case),
        plans=tuple(_plan(p, people, closed_on) for p in case.plans),
        meetings=tuple(_meeting(m) for m in case.meetings),
        follow_ups=tuple(
            RecordView(label(f.kind), f.held_on, f.notes, _name(people, f.recorded_by_id))
            for f in case.follow_ups
        ),
        evaluations=tuple(
            RecordView(
                label(e.decision),
                local_date(e.recorded_at),
                e.notes,
                _name(people, e.recorded_by_id),
            )
            for e in case.evaluations
        ),
        deviations=tuple(
            RecordView(
                label(d.status),
                local_date(d.reported_at),
                d.description,
                _name(people, d.reported_by_id),
                d.follow_up,
            )
            for d in case.deviations
        ),
        timeline=tuple(
            TimelineEntry(local_datetime(e.at), _event_text(workflow, e), _name(people, e.actor_id))
            for e in events
        ),
    )
    # The archive copy identifies the child by the whole personnummer, so the read says so.
    _record_read(db, case, person_id, {"document": "arkiv", "personnummer": True})
    return document


def _visible_case(db: Session, reference: str, person_id: int) -> Case:
    """The case with everything a document shows; one the person may not see is 'not found'."""
    person = load_actor(db, person_id)
    case = db.scalars(
        sa.select(Case).where(Case.reference == reference).options(*CASE_GRAPH)
    ).one_or_none()
    if case is None or not can_see(roles_on(case, person)):
        raise NotFound(f"Ärendet {reference} finns inte.")
    if case.gallrad_at is not None:
        # Nothing is left to print: gallring blanked the child and every text of the case.
        raise RuleBroken(
            f"Ärendet {reference} är gallrat. Personuppgifterna och texterna är borttagna, "
            "så det finns inget dokument att skriva ut."
        )
    return case


def _version(case: Case, version: int) -> ActionPlan:
    found = next((p for p in case.plans if p.version == version), None)
    if found is None:
        raise NotFound(f"Handlingsplanen version {version} finns inte i ärendet.")
    return found


def _network(case: Case) -> tuple[NetworkEntryView, ...]:
    return tuple(
        NetworkEntryView(label(e.kind), e.name, e.relation, e.on_guest_list)
        for e in case.network
        if e.removed_at is None
    )


def _next_follow_up(case: Case, deadlines: Sequence[CaseDeadline], today: date) -> date | None:
    """The earliest of the open EHT follow-up deadline and a booked follow-up meeting."""
    dates = [d.due_on for d in deadlines if d.name == FOLLOW_UP_DEADLINE and d.closed_at is None]
    dates += [
        local_date(m.starts_at)
        for m in case.meetings
        if m.kind in FOLLOW_UP_MEETINGS and m.held_at is None and local_date(m.starts_at) >= today
    ]
    return min(dates, default=None)


def _last_due(deadlines: Iterable[CaseDeadline]) -> date | None:
    """The due date of the latest-started of these deadlines (a new period restarts it)."""
    found = list(deadlines)
    return found[-1].due_on if found else None


def _record_read(db: Session, case: Case, person_id: int, after: dict[str, object]) -> None:
    db.add(
        Event(case_id=case.id, actor_id=person_id, at=clock.now(), action=READ_ACTION, after=after)
    )
    db.commit()
