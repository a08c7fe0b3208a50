"""What every service shares: one transaction, loading a case, roles, audit events."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from vastbas import clock
from vastbas.enums import CaseRole, SystemRole
from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.models import ActionPlan, Case, Event, Meeting, Person, Unit
from vastbas.workflow import Workflow, workflow_named

P = ParamSpec("P")
R = TypeVar("R")

# Roles that let a person see a case; `any_user` alone does not. Every case role does.
SEEING_ROLES = frozenset({"samordnare", "admin", "rektor", *(role.value for role in CaseRole)})


def service(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a use case as one transaction: commit on success, roll back on any error.

    A concurrent change caught by the version column becomes a Conflict.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        db = args[0]
        assert isinstance(db, Session)
        try:
            result = fn(*args, **kwargs)
            db.commit()
            return result
        except StaleDataError as exc:
            db.rollback()
            raise Conflict() from exc
        except BaseException:
            db.rollback()
            raise

    return wrapper


def load_actor(db: Session, actor_id: int) -> Person:
    """The person acting; an unknown or deactivated account may do nothing."""
    person = db.get(Person, actor_id, options=[joinedload(Person.system_roles)])
    if person is None or not person.active:
        raise NotAllowed("Ditt konto är inte aktivt.")
    return person


def load_person(db: Session, person_id: int, what: str = "Personen") -> Person:
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound(f"{what} finns inte.")
    return person


def load_case(db: Session, reference: str) -> Case:
    """A case with everything the guards and the case page need, in a fixed number of queries."""
    case = db.scalars(
        sa.select(Case)
        .where(Case.reference == reference)
        .options(
            selectinload(Case.unit).selectinload(Unit.eht),
            selectinload(Case.assignments),
            selectinload(Case.consents),
            selectinload(Case.meetings).selectinload(Meeting.participants),
            selectinload(Case.network),
            selectinload(Case.plans).selectinload(ActionPlan.goals),
            selectinload(Case.plans).selectinload(ActionPlan.actions),
            selectinload(Case.follow_ups),
            selectinload(Case.evaluations),
        )
    ).one_or_none()
    if case is None:
        raise NotFound(f"Ärendet {reference} finns inte.")
    return case


def load_case_for_change(db: Session, reference: str) -> Case:
    """A case for a change: the row and its unit; relations load when a step reads them.

    A change reads few relations (the guards of one transition, the roles), so loading
    them on demand is much cheaper than loading everything up front as a page does.
    """
    case = db.scalars(
        sa.select(Case).where(Case.reference == reference).options(joinedload(Case.unit))
    ).one_or_none()
    if case is None:
        raise NotFound(f"Ärendet {reference} finns inte.")
    return case


def roles_on(case: Case, person: Person) -> frozenset[str]:
    """Every role the person holds for this case: system, case and derived roles."""
    roles = {role.role.value for role in person.system_roles}
    roles.update(
        a.role.value for a in case.assignments if a.person_id == person.id and a.ended_at is None
    )
    if case.unit is not None and case.unit.rektor_id == person.id:
        roles.add("rektor")
    if person.has_login and person.active:
        roles.add("any_user")
    return frozenset(roles)


def can_see(roles: frozenset[str]) -> bool:
    return bool(roles & SEEING_ROLES)


def workflow_of(case: Case) -> Workflow:
    return workflow_named(case.workflow)


def open_case_for(
    db: Session,
    reference: str,
    actor_id: int,
    expected_version: int | None,
    activity: str | None = None,
) -> tuple[Case, Person, frozenset[str]]:
    """Load a case for a change: the actor must see it, and it must be the version they saw.

    A case the actor may not see is reported as not found, so its existence does not leak.
    With `activity`, the workflow must also allow it in this step for the actor's roles.
    """
    actor = load_actor(db, actor_id)
    case = load_case_for_change(db, reference)
    roles = roles_on(case, actor)
    if not can_see(roles):
        raise NotFound(f"Ärendet {reference} finns inte.")
    if expected_version is not None and case.version != expected_version:
        raise Conflict(current_version=case.version)
    if case.gallrad_at is not None:
        # The personal data is gone by law; new records would bring it back piecemeal.
        raise RuleBroken(THINNED_CASE_MESSAGE)
    if activity is not None:
        require_activity(case, roles, activity)
    return case, actor, roles


THINNED_CASE_MESSAGE = "Ärendet är gallrat: personuppgifterna är borttagna och det kan inte ändras."


def require_activity(case: Case, roles: frozenset[str], activity: str) -> None:
    """Refuse an activity the workflow does not allow in this step or for these roles."""
    workflow = workflow_of(case)
    spec = workflow.activities.get(activity)
    if spec is None or not (roles & spec.roles):
        raise NotAllowed("Din roll i ärendet ger inte behörighet till detta.")
    if case.state not in spec.states:
        step = workflow.state(case.state).label
        raise RuleBroken(f"Det går inte att göra detta när ärendet är i steget {step}.")


def is_samordnare(person: Person) -> bool:
    return person.has_role(SystemRole.SAMORDNARE)


def touch(case: Case, now: datetime) -> None:
    """Mark activity on the case; this also bumps its version, so every change is seen."""
    case.last_activity_at = now
    # Flagged even when the instant is unchanged, so the UPDATE (and the version bump)
    # happens for two changes within one clock tick too.
    flag_modified(case, "last_activity_at")


def record_event(
    db: Session,
    case: Case | None,
    actor: Person | None,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> Event:
    """Append one audit event. Never put a child's name or personnummer in before/after."""
    event = Event(
        case_id=case.id if case is not None else None,
        actor_id=actor.id if actor is not None else None,
        at=now or clock.now(),
        action=action,
        before=before or {},
        after=after or {},
    )
    db.add(event)
    return event


E = TypeVar("E", bound=enum.Enum)


def parse_choice(enum_class: type[E], value: object, field: str, message: str) -> E:
    """A value of one of our enums, or InvalidInput naming the form field."""
    try:
        return enum_class(value)
    except ValueError:
        raise InvalidInput(message, {field: message}) from None


def parse_offered(
    enum_class: type[E], value: object, offered: tuple[E, ...], field: str, message: str
) -> E:
    """A value of one of our enums that the case's workflow file offers (its `*_kinds`)."""
    choice = parse_choice(enum_class, value, field, message)
    if choice not in offered:
        raise InvalidInput(message, {field: message})
    return choice


def required_text(value: str | None, message: str) -> str:
    """A trimmed text that must not be empty; InvalidInput with the Swedish message if it is."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput(message)
    return text
