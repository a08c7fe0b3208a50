"""Appoint and replace koordinatorer, kontaktperson and språkrör on a case."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock, rules
from vastbas.enums import CaseRole, Organisation, Profession
from vastbas.errors import InvalidInput, NotAllowed, RuleBroken
from vastbas.models import Assignment, Case, Person
from vastbas.services.base import (
    is_samordnare,
    load_person,
    open_case_for,
    record_event,
    service,
    touch,
)

KOORDINATOR_ROLES = (CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2)


def case_context(case: Case) -> rules.CaseContext:
    """What the eligibility rules need to know about a loaded case."""
    unit = case.unit
    return rules.CaseContext(
        unit_id=case.unit_id,
        handlaggare_id=case.handlaggare_id,
        network_person_ids=frozenset(
            e.person_id for e in case.network if e.person_id is not None and e.removed_at is None
        ),
        unit_eht_ids=frozenset(p.id for p in unit.eht) if unit else frozenset(),
        unit_rektor_id=unit.rektor_id if unit else None,
    )


def open_caseloads(db: Session, person_ids: list[int] | None = None) -> dict[int, int]:
    """How many open koordinator appointments each person has (closed cases end them)."""
    query = (
        sa.select(Assignment.person_id, sa.func.count())
        .where(Assignment.ended_at.is_(None), Assignment.role.in_(KOORDINATOR_ROLES))
        .group_by(Assignment.person_id)
    )
    if person_ids is not None:
        query = query.where(Assignment.person_id.in_(person_ids))
    return {person_id: count for person_id, count in db.execute(query)}


def as_candidate(person: Person, open_cases: int) -> rules.Candidate:
    return rules.Candidate(
        person_id=person.id,
        name=person.name,
        organisation=person.organisation,
        unit_id=person.unit_id,
        profession=person.profession,
        in_pool=person.in_koordinator_pool,
        pool_active=person.pool_active,
        open_cases=open_cases,
        active=person.active,
    )


def koordinator_suggestions(
    db: Session, case: Case, limit: int = 5
) -> rules.KoordinatorSuggestions:
    """Ranked eligible koordinatorer for a loaded case, and why the others are excluded."""
    pool = db.scalars(sa.select(Person).where(Person.in_koordinator_pool.is_(True))).all()
    loads = open_caseloads(db)
    own = {
        a.person_id for a in case.assignments if a.ended_at is None and a.role in KOORDINATOR_ROLES
    }
    candidates = [as_candidate(p, loads.get(p.id, 0) - (1 if p.id in own else 0)) for p in pool]
    return rules.suggest_koordinatorer(candidates, case_context(case), limit=limit)


def _replace(
    case: Case,
    role: CaseRole,
    person_id: int,
    appointed_by: Person,
    now: datetime,
    **extra: object,
) -> int | None:
    """End the current holder of a role and appoint a new one; returns the previous person."""
    current = case.current(role)
    previous = current.person_id if current else None
    if current is not None:
        current.ended_at = now
    case.assignments.append(
        Assignment(
            role=role,
            person_id=person_id,
            started_at=now,
            appointed_by_id=appointed_by.id,
            **extra,
        )
    )
    return previous


@service
def appoint_koordinatorer(
    db: Session,
    reference: str,
    k1: int,
    k2: int,
    *,
    actor: int,
    expected_version: int,
) -> Case:
    """Appoint (or replace) the koordinator pair; both must be free of the case (004, s. 3)."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "appoint_koordinatorer")
    first = load_person(db, k1, "Koordinator 1")
    second = load_person(db, k2, "Koordinator 2")
    loads = open_caseloads(db, [k1, k2])
    refusals = rules.koordinator_pair_refusals(
        as_candidate(first, loads.get(k1, 0)),
        as_candidate(second, loads.get(k2, 0)),
        case_context(case),
    )
    if refusals:
        raise RuleBroken("Koordinatorerna kan inte utses.", refusals)
    now = clock.now()
    before = {}
    after = {}
    for role, chosen in zip(KOORDINATOR_ROLES, (first, second), strict=True):
        current = case.current(role)
        if current is not None and current.person_id == chosen.id:
            continue
        before[role.value] = _replace(case, role, chosen.id, person, now)
        after[role.value] = chosen.id
    touch(case, now)
    record_event(db, case, person, "appoint_koordinatorer", before, after, now=now)
    return case


@service
def appoint_kontaktperson(
    db: Session,
    reference: str,
    person_id: int,
    *,
    actor: int,
    expected_version: int,
) -> Case:
    """The rektor appoints a kontaktperson from the unit's EHT (004, s. 4).

    The samordnare may appoint on the rektor's behalf; that is recorded as such.
    """
    case, person, _ = open_case_for(db, reference, actor, expected_version, "appoint_kontaktperson")
    context = case_context(case)
    samordnare = is_samordnare(person)
    refusals = rules.kontaktperson_appointer_refusals(
        person.id, appointer_is_samordnare=samordnare, case=context
    )
    if refusals:
        raise NotAllowed(" ".join(refusals))
    chosen = load_person(db, person_id, "Kontaktpersonen")
    refusals = rules.kontaktperson_refusals(as_candidate(chosen, 0), context)
    if refusals:
        raise RuleBroken("Personen kan inte vara kontaktperson.", refusals)
    now = clock.now()
    on_behalf = rules.appointed_on_behalf_of_rektor(
        person.id, appointer_is_samordnare=samordnare, case=context
    )
    previous = _replace(
        case,
        CaseRole.KONTAKTPERSON,
        chosen.id,
        person,
        now,
        on_behalf_of_id=context.unit_rektor_id if on_behalf else None,
    )
    touch(case, now)
    after = {"kontaktperson": chosen.id, "on_behalf_of_rektor": on_behalf}
    record_event(
        db, case, person, "appoint_kontaktperson", {"kontaktperson": previous}, after, now=now
    )
    return case


@service
def appoint_sprakror(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    trust_confirmed_by_guardian: bool,
    person_id: int | None = None,
    outside_name: str | None = None,
    outside_phone: str | None = None,
) -> Case:
    """Appoint the child's språkrör: a staff member or an outside contact without login."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "appoint_sprakror")
    if (person_id is None) == (not (outside_name or "").strip()):
        raise InvalidInput(
            "Välj en person i personalen eller skriv namnet på en utomstående kontakt.",
            {"person_id": "Välj en person eller ange ett namn."},
        )
    chosen = load_person(db, person_id, "Språkröret") if person_id is not None else None
    name = chosen.name if chosen else (outside_name or "").strip()
    refusals = rules.sprakror_refusals(
        name=name,
        trust_confirmed_by_guardian=trust_confirmed_by_guardian,
        person_id=person_id,
        case=case_context(case),
    )
    if refusals:
        raise RuleBroken("Språkröret kan inte utses.", refusals)
    if chosen is None:
        chosen = Person(
            name=name,
            phone=(outside_phone or "").strip() or None,
            organisation=Organisation.EXTERN,
            profession=Profession.ANNAN,
            created_at=clock.now(),
        )
        db.add(chosen)
        db.flush()
    now = clock.now()
    previous = _replace(
        case, CaseRole.SPRAKROR, chosen.id, person, now, trust_confirmed_by_guardian=True
    )
    touch(case, now)
    after = {"sprakror": chosen.id, "outside_contact": not chosen.has_login}
    record_event(db, case, person, "appoint_sprakror", {"sprakror": previous}, after, now=now)
    return case
