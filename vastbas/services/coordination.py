"""Who calls and who coordinates a SIP: sammankallande, the plan's samordnare, placement.

001 (BUS Gotland), p. 8: the nearest responsible manager, or a person the manager
appoints, calls the SIP meeting; p. 10: the plan names the samordnare the meeting chose,
and when the child is placed outside the home, social services holds the coordination.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.enums import CaseRole, Organisation
from vastbas.errors import RuleBroken
from vastbas.models import Case, Person
from vastbas.services.assignments import _replace
from vastbas.services.base import load_person, open_case_for, record_event, service, touch

PLACEMENT_NEEDS_SOCIALTJANST = (
    "Barnet är placerat utanför hemmet: då har socialtjänsten samordningsansvaret. "
    "Välj en samordnare från socialtjänsten."
)


def _staff_refusals(person: Person) -> list[str]:
    if not person.has_login or not person.active:
        return ["Personen har inget aktivt konto. Välj någon i personalen med inloggning."]
    return []


@service
def appoint_sammankallande(
    db: Session, reference: str, person_id: int, *, actor: int, expected_version: int
) -> Case:
    """The responsible manager, or the person the manager appoints, who calls the meeting."""
    case, person, _ = open_case_for(
        db, reference, actor, expected_version, "appoint_sammankallande"
    )
    chosen = load_person(db, person_id, "Sammankallande")
    refusals = _staff_refusals(chosen)
    if refusals:
        raise RuleBroken("Personen kan inte vara sammankallande.", refusals)
    now = clock.now()
    previous = _replace(case, CaseRole.SAMMANKALLANDE, chosen.id, person, now)
    touch(case, now)
    record_event(
        db,
        case,
        person,
        "appoint_sammankallande",
        {"sammankallande": previous},
        {"sammankallande": chosen.id},
        now=now,
    )
    return case


@service
def appoint_plan_samordnare(
    db: Session, reference: str, person_id: int, *, actor: int, expected_version: int
) -> Case:
    """Name in the plan the samordnare the SIP meeting chose (001, p. 10)."""
    case, person, _ = open_case_for(
        db, reference, actor, expected_version, "appoint_plan_samordnare"
    )
    chosen = load_person(db, person_id, "Samordnaren")
    refusals = _staff_refusals(chosen)
    if case.placed_outside_home_at is not None and chosen.organisation != Organisation.SOCIALTJANST:
        refusals.append(PLACEMENT_NEEDS_SOCIALTJANST)
    if refusals:
        raise RuleBroken("Personen kan inte vara samordnare i planen.", refusals)
    now = clock.now()
    previous = _replace(case, CaseRole.PLAN_SAMORDNARE, chosen.id, person, now)
    touch(case, now)
    record_event(
        db,
        case,
        person,
        "appoint_plan_samordnare",
        {"plan_samordnare": previous},
        {"plan_samordnare": chosen.id},
        now=now,
    )
    return case


@service
def record_placement(
    db: Session, reference: str, *, actor: int, expected_version: int, placed: bool
) -> Case:
    """Record that the child is (or no longer is) placed outside the home.

    While placed, the plan's samordnare must come from social services; a samordnare from
    elsewhere stays until replaced, and the plan cannot be adopted until then.
    """
    case, person, _ = open_case_for(db, reference, actor, expected_version, "record_placement")
    now = clock.now()
    before = case.placed_outside_home_at is not None
    case.placed_outside_home_at = now if placed else None
    touch(case, now)
    record_event(
        db, case, person, "record_placement", {"placed": before}, {"placed": placed}, now=now
    )
    return case
