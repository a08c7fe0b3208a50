"""Move a case to its next step through the workflow machine."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vastbas import clock, engine
from vastbas.engine import AvailableTransition
from vastbas.errors import NotAllowed, RuleBroken
from vastbas.facts import case_facts
from vastbas.guards import missing_for, needs_of
from vastbas.models import Case, Person
from vastbas.services import deadlines
from vastbas.services.base import (
    open_case_for,
    record_event,
    required_text,
    roles_on,
    service,
    touch,
    workflow_of,
)


@service
def fire(
    db: Session,
    reference: str,
    trigger: str,
    *,
    actor: int,
    expected_version: int,
    reason: str | None = None,
) -> Case:
    """Fire a workflow trigger on a case, or say in Swedish why it cannot be done now."""
    case, person, roles = open_case_for(db, reference, actor, expected_version)
    workflow = workflow_of(case)
    transition = workflow.transition(trigger)
    step = workflow.state(case.state).label
    if transition is None or case.state not in transition.sources:
        raise RuleBroken(f"Det går inte att göra detta när ärendet är i steget {step}.")
    if not transition.roles & roles:
        raise NotAllowed("Din roll i ärendet ger inte behörighet till detta steg.")
    missing = missing_for(transition.guards, case_facts(case, needs_of(transition.guards)))
    if missing:
        raise RuleBroken(f"Ärendet kan inte gå vidare från steget {step}. Det saknas:", missing)
    if transition.requires_reason:
        reason = required_text(reason, "Ange ett skäl.")
    now = clock.now()
    before = {"state": case.state, "period": case.period, "outcome": case.outcome}
    case.state = workflow.fire(trigger, case.state)
    case.stage_seq += 1
    case.state_entered_at = now
    if transition.new_period:
        case.period += 1
    if workflow.is_final(case.state):
        _close(case, transition.outcome, reason, now)
    elif case.closed_at is not None:
        case.closed_at = None
        case.outcome = None
        case.outcome_reason = None
    deadlines.after_transition(db, case, workflow, transition, now)
    touch(case, now)
    after = {"state": case.state, "period": case.period, "outcome": case.outcome}
    if reason:
        after["reason_given"] = True
    record_event(db, case, person, trigger, before, after, now=now)
    return case


def _close(case: Case, outcome: str | None, reason: str | None, now) -> None:  # type: ignore[no-untyped-def]
    """End a case: record the outcome and end every appointment on it."""
    case.outcome = outcome
    case.outcome_reason = reason
    case.closed_at = now
    for assignment in case.assignments:
        if assignment.ended_at is None:
            assignment.ended_at = now
    if outcome == "consent_withdrawn":
        for consent in case.consents:
            if consent.withdrawn_at is None:
                consent.withdrawn_at = now
                consent.withdrawn_reason = reason


def transitions_for(case: Case, roles: frozenset[str]) -> list[AvailableTransition]:
    """The triggers these roles may fire now, each with what is still missing."""
    if case.gallrad_at is not None:
        return []
    return engine.available_transitions(workflow_of(case), case_facts(case), roles)


def available_transitions(case: Case, user: Person) -> list[AvailableTransition]:
    """Every trigger the user's roles on this loaded case allow now, with what is missing."""
    return transitions_for(case, roles_on(case, user))
