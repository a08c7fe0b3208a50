"""The handlingsplan: goals and actions, versioned; and the actions' progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.enums import ActionStatus
from vastbas.errors import InvalidInput, NotFound, RuleBroken
from vastbas.models import Action, ActionPlan, Case, Goal, Person
from vastbas.services import deadlines
from vastbas.services.base import (
    open_case_for,
    parse_choice,
    record_event,
    require_activity,
    service,
    touch,
)

OPEN_ACTION = (ActionStatus.PLANNED, ActionStatus.STARTED)


@dataclass(frozen=True)
class ActionInput:
    """One action as typed in the plan form: what, who, by when."""

    description: str
    owner_name: str
    due_on: date | None
    owner_person_id: int | None = None
    status: ActionStatus = ActionStatus.PLANNED


def _validated(goals: Sequence[str], actions: Sequence[ActionInput]) -> list[str]:
    fields = {}
    goal_texts = [g.strip() for g in goals if g and g.strip()]
    if not goal_texts:
        fields["goals"] = "Skriv minst ett mål."
    for i, action in enumerate(actions):
        if not action.description.strip():
            fields[f"actions-{i}-description"] = "Beskriv åtgärden."
        if not action.owner_name.strip():
            fields[f"actions-{i}-owner_name"] = "Ange vem som ansvarar."
        if action.due_on is None:
            fields[f"actions-{i}-due_on"] = "Ange när åtgärden ska vara klar."
    if not actions:
        fields["actions"] = "Lägg till minst en åtgärd."
    if fields:
        raise InvalidInput("Handlingsplanen kunde inte sparas. Rätta de markerade fälten.", fields)
    return goal_texts


def _new_version(
    case: Case, person: Person, goals: list[str], actions: Sequence[ActionInput], note: str | None
) -> ActionPlan:
    previous = case.current_plan
    plan = ActionPlan(
        version=(previous.version + 1) if previous else 1,
        period=case.period,
        stage_seq=case.stage_seq,
        created_at=clock.now(),
        created_by_id=person.id,
        note=(note or "").strip() or None,
    )
    plan.goals.extend(Goal(position=i, text=text) for i, text in enumerate(goals))
    plan.actions.extend(
        Action(
            position=i,
            description=a.description.strip(),
            owner_name=a.owner_name.strip(),
            owner_person_id=a.owner_person_id,
            due_on=a.due_on,
            status=a.status,
        )
        for i, a in enumerate(actions)
    )
    case.plans.append(plan)
    return plan


def _restart_action_deadlines(db: Session, case: Case, plan: ActionPlan, now: datetime) -> None:
    """The new plan version's open actions get due-date reminders; the old version's stop."""
    for previous in case.plans[:-1]:
        for action in previous.actions:
            deadlines.close(db, case, now, subject=("action", action.id), closed_as="cancelled")
    for action in plan.actions:
        if action.due_on is not None and action.status in OPEN_ACTION:
            deadlines.anchored(
                db, case, "action.due_on", action.due_on, now, subject=("action", action.id)
            )


@service
def save_plan(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    goals: Sequence[str],
    actions: Sequence[ActionInput],
    note: str | None = None,
) -> ActionPlan:
    """Write the handlingsplan: the first version at NM2, later a revision (new version).

    Old versions stay readable; a revision in step 9 starts the next turn of the spiral.
    """
    case, person, roles = open_case_for(db, reference, actor, expected_version)
    first = case.current_plan is None
    require_activity(case, roles, "create_plan" if first else "revise_plan")
    goal_texts = _validated(goals, actions)
    now = clock.now()
    before = {"plan_version": None if first else case.current_plan.version}  # type: ignore[union-attr]
    plan = _new_version(case, person, goal_texts, actions, note)
    touch(case, now)
    db.flush()
    _restart_action_deadlines(db, case, plan, now)
    after = {"plan_version": plan.version, "goals": len(plan.goals), "actions": len(plan.actions)}
    record_event(
        db, case, person, "create_plan" if first else "revise_plan", before, after, now=now
    )
    return plan


def _another_action_can_start(actions: list[Action], cancelled: Action) -> bool:
    """Whether the plan keeps an action that is started, done or still to do."""
    return any(a is not cancelled and a.status != ActionStatus.CANCELLED for a in actions)


@service
def set_action_status(
    db: Session,
    reference: str,
    action_id: int,
    status: ActionStatus | str,
    *,
    actor: int,
    expected_version: int,
) -> Action:
    """Start, complete or cancel an action of the current handlingsplan."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "update_action")
    plan = case.current_plan
    action = next((a for a in plan.actions if a.id == action_id), None) if plan else None
    if action is None:
        raise NotFound("Åtgärden finns inte i den gällande handlingsplanen.")
    status = parse_choice(ActionStatus, status, "status", "Okänd status för åtgärden.")
    if action.status not in OPEN_ACTION:
        raise RuleBroken("Åtgärden är redan avslutad.")
    if status == ActionStatus.CANCELLED and not _another_action_can_start(plan.actions, action):
        raise RuleBroken(
            "Minst en åtgärd i handlingsplanen måste finnas kvar att genomföra. "
            "Starta en annan åtgärd först, eller revidera planen vid uppföljningen."
        )
    now = clock.now()
    before = {"action": action.id, "status": action.status.value}
    action.status = status
    if status == ActionStatus.STARTED and action.started_at is None:
        action.started_at = now
    if status not in OPEN_ACTION:
        action.completed_at = now
        action.started_at = action.started_at or now
        deadlines.done(db, case, "complete_action", now, subject=("action", action.id))
    touch(case, now)
    after = {"action": action.id, "status": status.value}
    record_event(db, case, person, "set_action_status", before, after, now=now)
    return action
