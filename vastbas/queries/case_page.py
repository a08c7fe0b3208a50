"""The read model of the case page: everything it shows, in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from vastbas.calendar import local_datetime
from vastbas.enums import (
    ActionStatus,
    DeviationStatus,
    EvaluationDecision,
    FollowUpKind,
    MeetingKind,
    ParticipantKind,
)
from vastbas.errors import NotFound
from vastbas.facts import case_facts
from vastbas.guards import missing_for
from vastbas.labels import label
from vastbas.models import (
    ActionPlan,
    Case,
    CaseDeadline,
    Event,
    Meeting,
    Person,
)
from vastbas.personnummer_check import mask_personnummer
from vastbas.queries.common import (
    READ_ACTION,
    TIMELINE_LIMIT,
    _deadline_label,
    _label_of,
    _local,
    _role_label,
    visible_case,
)
from vastbas.queries.linked_cases import LinkedCase, linked_cases
from vastbas.services.base import can_see, load_actor, roles_on, workflow_of
from vastbas.services.transitions import available_transitions
from vastbas.workflow import Workflow, workflow_named


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
    # The day gallring removed the personal data; the page then shows only the structure.
    gallrad_on: date | None = None
    # "Andra ärenden för samma barn": only those this user may see (linked_cases.py).
    linked: tuple[LinkedCase, ...] = ()

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
        gallrad_on=local_datetime(case.gallrad_at).date() if case.gallrad_at else None,
        linked=linked_cases(db, case, person),
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


def transition_info(
    db: Session, reference: str, person_id: int, trigger: str
) -> TransitionInfo | None:
    """What the UI says about one trigger of the case's workflow; None if there is no such.

    The lean read before a transition: the whole case page is built only if the change
    is refused and the page must be shown again. NotFound for a case the person may not see.
    """
    case = visible_case(db, reference, person_id)
    if case is None:
        raise NotFound(f"Ärendet {reference} finns inte.")
    workflow = workflow_of(case)
    return _info(workflow, trigger) if workflow.transition(trigger) is not None else None


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
    "follow_up_deviation": "Avvikelse följd upp",
    "gallra": "Personuppgifterna gallrade",
}
# Which value of an event's `after` says more, and the enum that labels it.
EVENT_DETAILS: dict[str, tuple[str, type[StrEnum]]] = {
    "book_meeting": ("kind", MeetingKind),
    "add_network_entry": ("kind", ParticipantKind),
    "record_follow_up": ("kind", FollowUpKind),
    "record_evaluation": ("decision", EvaluationDecision),
    "set_action_status": ("status", ActionStatus),
    "follow_up_deviation": ("status", DeviationStatus),
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
