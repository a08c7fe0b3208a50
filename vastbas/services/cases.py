"""Register a request and record what the first steps learn about the child."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import Period, add_period, local_date
from vastbas.enums import InitiatorKind
from vastbas.errors import InvalidInput, NotAllowed
from vastbas.models import Case, Consent, ReferenceCounter, Unit
from vastbas.personnummer_check import normalise_personnummer
from vastbas.services import deadlines
from vastbas.services.base import (
    load_actor,
    open_case_for,
    record_event,
    required_text,
    service,
    touch,
)
from vastbas.workflow import workflow_named, workflow_names

CONSENT_REVIEW = Period(months=12)


def next_reference(db: Session, prefix: str, year: int) -> str:
    """The next case reference of the year, e.g. VB-2026-0042; safe under concurrency."""
    counter = ReferenceCounter.__table__
    bump = (
        sa.update(counter)
        .where(counter.c.prefix == prefix, counter.c.year == year)
        .values(last=counter.c.last + 1)
        .returning(counter.c.last)
    )
    number = db.execute(bump).scalar()
    if number is None:
        try:
            with db.begin_nested():
                db.execute(sa.insert(counter).values(prefix=prefix, year=year, last=1))
            number = 1
        except IntegrityError:
            number = db.execute(bump).scalar_one()
    return f"{prefix}-{year}-{number:04d}"


@service
def register_request(
    db: Session,
    *,
    actor: int,
    child_name: str,
    child_personnummer: str,
    unit_id: int | None,
    initiator_kind: InitiatorKind | str,
    initiator_name: str | None = None,
    background: str = "",
    consent_given_by: str | None = None,
    consent_actors: Sequence[str] = (),
    handlaggare_id: int | None = None,
    workflow: str = "vastbas",
) -> Case:
    """Step 1: a request from anyone near the child, with the family's consent if given."""
    person = load_actor(db, actor)
    if workflow not in workflow_names():  # a name from outside never becomes a file path
        raise InvalidInput("Processen finns inte.", {"workflow": "Välj en process i listan."})
    process = workflow_named(workflow)
    own_roles = {r.role.value for r in person.system_roles}
    if person.has_login:
        own_roles.add("any_user")
    if not own_roles & process.initial.roles:
        raise NotAllowed("Du har inte behörighet att registrera en förfrågan.")
    fields = {}
    name = (child_name or "").strip()
    if not name:
        fields["child_name"] = "Ange barnets namn."
    try:
        pnr = normalise_personnummer(child_personnummer)
    except InvalidInput as exc:
        fields.update(exc.fields)
        pnr = ""
    try:
        kind = InitiatorKind(initiator_kind)
    except ValueError:
        fields["initiator_kind"] = "Välj vem förfrågan kommer ifrån."
        kind = InitiatorKind.ANNAN
    if unit_id is not None and db.get(Unit, unit_id) is None:
        fields["unit_id"] = "Enheten finns inte."
    if fields:
        raise InvalidInput("Förfrågan kunde inte registreras. Rätta de markerade fälten.", fields)
    now = clock.now()
    case = Case(
        reference=next_reference(db, process.reference_prefix, local_date(now).year),
        workflow=process.name,
        state=process.initial.state,
        child_name=name,
        child_personnummer=pnr,
        unit_id=unit_id,
        handlaggare_id=handlaggare_id,
        initiator_kind=kind,
        initiator_name=(initiator_name or "").strip() or None,
        background=(background or "").strip(),
        registered_by_id=person.id,
        created_at=now,
        state_entered_at=now,
        last_activity_at=now,
    )
    db.add(case)
    if consent_given_by and consent_given_by.strip():
        case.consents.append(_consent(consent_given_by, consent_actors, person.id, now))
    db.flush()
    deadlines.after_registration(db, case, process, now)
    if case.consents:
        deadlines.anchored(db, case, "consent.given_on", case.consents[0].given_on, now)
    record_event(
        db,
        case,
        person,
        process.initial.trigger,
        {},
        {"state": case.state, "unit_id": unit_id, "consent": bool(case.consents)},
        now=now,
    )
    return case


def _consent(given_by: str, actors: Sequence[str], recorded_by: int, now) -> Consent:  # type: ignore[no-untyped-def]
    today = local_date(now)
    return Consent(
        given_by=given_by.strip(),
        actors=[a.strip() for a in actors if a and a.strip()],
        given_on=today,
        review_on=add_period(today, CONSENT_REVIEW),
        recorded_by_id=recorded_by,
        recorded_at=now,
    )


@service
def record_consent(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    given_by: str,
    actors: Sequence[str] = (),
) -> Case:
    """Record the family's consent (who gave it, for which actors); replaces an earlier one."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "record_consent")
    given_by = required_text(given_by, "Ange vem som har lämnat samtycket.")
    now = clock.now()
    had = case.active_consent is not None
    consent = _consent(given_by, actors, person.id, now)
    case.consents.append(consent)
    deadlines.anchored(db, case, "consent.given_on", consent.given_on, now)
    touch(case, now)
    record_event(db, case, person, "record_consent", {"consent": had}, {"consent": True}, now=now)
    return case


@service
def record_child_voice(
    db: Session, reference: str, *, actor: int, expected_version: int, text: str
) -> Case:
    """Note the child's own voice (004, step 3: "Barnets/ungdomens röst är viktig")."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "record_child_voice")
    text = required_text(text, "Skriv vad barnet själv säger eller önskar.")
    now = clock.now()
    had = bool(case.child_voice)
    case.child_voice = text
    touch(case, now)
    record_event(db, case, person, "record_child_voice", {"noted": had}, {"noted": True}, now=now)
    return case


@service
def set_problem_analysis(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    problem_analysis: str,
    purpose: str,
) -> Case:
    """Record the förmöte's problem analysis and the purpose of the network work."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "set_problem_analysis")
    fields = {}
    if not (problem_analysis or "").strip():
        fields["problem_analysis"] = "Skriv problemanalysen."
    if not (purpose or "").strip():
        fields["purpose"] = "Skriv syftet med nätverksarbetet."
    if fields:
        raise InvalidInput("Problemanalys och syfte behövs båda.", fields)
    now = clock.now()
    before = {"problem_analysis": bool(case.problem_analysis), "purpose": bool(case.purpose)}
    case.problem_analysis = problem_analysis.strip()
    case.purpose = purpose.strip()
    touch(case, now)
    after = {"problem_analysis": True, "purpose": True}
    record_event(db, case, person, "set_problem_analysis", before, after, now=now)
    return case
