"""The appointment dialogs: the koordinator pair, the kontaktperson and the språkrör.

Each view loads its page (which also checks access: 404 for a case the user may not
see, 403 for an appointment their role does not allow), then either shows the form
or hands it to `forms.submit`. The services decide every rule; the pages only offer
what the rules would accept and show their Swedish reasons when they refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from vastbas import rules
from vastbas.enums import CaseRole
from vastbas.labels import label
from vastbas.models import Case, Person
from vastbas.services import assignments
from vastbas.services.base import is_samordnare, open_case_for, workflow_of
from web.auth import login_required, user_id
from web.database import get_db
from web.forms import CaseForm, case_page_url, on_get, optional_id, required_id, submit

bp = Blueprint("assignments", __name__)

OWN_CHOICE = "eget"


# --- what the pages show -----------------------------------------------------------


@dataclass(frozen=True)
class CaseHeader:
    """The case as every dialog names it; also the "current state" shown on a conflict."""

    reference: str
    version: int
    step_label: str


@dataclass(frozen=True)
class ExcludedPerson:
    """Someone who may not be appointed, and the rules' reasons why."""

    name: str
    description: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class KoordinatorDialog:
    case: CaseHeader
    current: tuple[str, ...]  # "Koordinator 1: name" for each role already held
    current_ids: tuple[int | None, int | None]
    pairs: tuple[tuple[str, str], ...]  # (radio value "k1-k2", label), best first
    eligible: tuple[tuple[str, str], ...]  # (person id, label), fewest open cases first
    excluded: tuple[ExcludedPerson, ...]


@dataclass(frozen=True)
class KontaktpersonDialog:
    case: CaseHeader
    unit_name: str | None
    rektor_name: str | None
    on_behalf_of_rektor: bool  # the user is the samordnare appointing for the rektor
    options: tuple[tuple[str, str], ...]  # (person id, label)
    excluded: tuple[ExcludedPerson, ...]
    current: str | None


@dataclass(frozen=True)
class SprakrorDialog:
    case: CaseHeader
    staff: tuple[tuple[str, str], ...]  # (person id, label)
    current: str | None


def open_page(
    db: Session, reference: str, activity: str | None = None
) -> tuple[Case, Person, CaseHeader]:
    """Load the case of a page, checking that the user may see it and do `activity`.

    NotFound when they may not see it (its existence does not leak), NotAllowed when their
    roles do not allow the activity, RuleBroken when the case's step does not.
    """
    case, person, _ = open_case_for(db, reference, user_id(), None, activity)
    step = workflow_of(case).state(case.state).label
    return case, person, CaseHeader(case.reference, case.version, step)


def caseload(open_cases: int) -> str:
    return "1 öppet ärende" if open_cases == 1 else f"{open_cases} öppna ärenden"


def _describe(candidate: rules.Candidate) -> str:
    return f"{label(candidate.organisation)}, {caseload(candidate.open_cases)}"


def koordinator_dialog(db: Session, reference: str) -> KoordinatorDialog:
    case, _, header = open_page(db, reference, "appoint_koordinatorer")
    suggestions = assignments.koordinator_suggestions(db, case)
    known = [*suggestions.eligible, *(e.candidate for e in suggestions.excluded)]
    names = {c.person_id: c.name for c in known}
    held = [case.current(role) for role in assignments.KOORDINATOR_ROLES]
    current = tuple(
        f"{label(a.role)}: {names.get(a.person_id) or a.person.name}" for a in held if a
    )
    return KoordinatorDialog(
        case=header,
        current=current,
        current_ids=(
            held[0].person_id if held[0] else None,
            held[1].person_id if held[1] else None,
        ),
        pairs=tuple(
            (
                f"{k1.person_id}-{k2.person_id}",
                f"Koordinator 1: {k1.name} ({_describe(k1)}) – "
                f"Koordinator 2: {k2.name} ({_describe(k2)})",
            )
            for k1, k2 in suggestions.pairs
        ),
        eligible=tuple(
            (str(c.person_id), f"{c.name} ({_describe(c)})") for c in suggestions.eligible
        ),
        excluded=tuple(
            ExcludedPerson(e.candidate.name, label(e.candidate.organisation), e.reasons)
            for e in suggestions.excluded
        ),
    )


def kontaktperson_dialog(db: Session, reference: str) -> KontaktpersonDialog:
    case, person, header = open_page(db, reference, "appoint_kontaktperson")
    context = assignments.case_context(case)
    options, excluded = [], []
    for member in case.unit.eht if case.unit else []:
        reasons = rules.kontaktperson_refusals(assignments.as_candidate(member, 0), context)
        if reasons:
            excluded.append(ExcludedPerson(member.name, label(member.profession), tuple(reasons)))
        else:
            options.append((str(member.id), f"{member.name}, {label(member.profession)}"))
    held = case.current(CaseRole.KONTAKTPERSON)
    rektor = case.unit.rektor if case.unit else None
    return KontaktpersonDialog(
        case=header,
        unit_name=case.unit.name if case.unit else None,
        rektor_name=rektor.name if rektor else None,
        on_behalf_of_rektor=rules.appointed_on_behalf_of_rektor(
            person.id, appointer_is_samordnare=is_samordnare(person), case=context
        ),
        options=tuple(options),
        excluded=tuple(excluded),
        current=held.person.name if held else None,
    )


def sprakror_dialog(db: Session, reference: str) -> SprakrorDialog:
    case, _, header = open_page(db, reference, "appoint_sprakror")
    staff = db.scalars(
        sa.select(Person)
        .where(Person.username.is_not(None), Person.active.is_(True))
        .order_by(Person.name, Person.id)
    )
    held = case.current(CaseRole.SPRAKROR)
    return SprakrorDialog(
        case=header,
        staff=tuple((str(p.id), f"{p.name} ({label(p.organisation)})") for p in staff),
        current=held.person.name if held else None,
    )


# --- forms ---------------------------------------------------------------------------


NOT_A_PERSON = "Välj en person i listan."


class KoordinatorForm(CaseForm):
    pair = RadioField("Föreslagna par", choices=[], validate_choice=False)
    # Not checked against the offered choices: someone offered when the page was loaded
    # may have become ineligible since, and then the service's reasons are what to show.
    k1 = SelectField(
        "Koordinator 1 (leder mötena)",
        coerce=optional_id,
        validate_choice=False,
        invalid_value_message=NOT_A_PERSON,
    )
    k2 = SelectField(
        "Koordinator 2 (dokumenterar)",
        coerce=optional_id,
        validate_choice=False,
        invalid_value_message=NOT_A_PERSON,
    )

    def validate_pair(self, field: RadioField) -> None:
        if not field.data:
            raise ValidationError("Välj ett av de föreslagna paren, eller gör ett eget val.")
        if field.data != OWN_CHOICE and _parse_pair(field.data) is None:
            raise ValidationError("Välj ett av de föreslagna paren.")

    def validate_k1(self, field: SelectField) -> None:
        if self.pair.data == OWN_CHOICE and field.data is None:
            raise ValidationError("Välj koordinator 1.")

    def validate_k2(self, field: SelectField) -> None:
        if self.pair.data == OWN_CHOICE and field.data is None:
            raise ValidationError("Välj koordinator 2.")

    def chosen(self) -> tuple[int, int]:
        """(K1, K2) from a validated form: the suggested pair, or the own choice."""
        if self.pair.data == OWN_CHOICE:
            return self.k1.data, self.k2.data
        pair = _parse_pair(self.pair.data)
        assert pair is not None
        return pair


def _parse_pair(value: str) -> tuple[int, int] | None:
    first, _, second = value.partition("-")
    try:
        return required_id(first), required_id(second)
    except ValueError:
        return None


class KontaktpersonForm(CaseForm):
    person_id = RadioField(
        "Kontaktperson",
        coerce=optional_id,
        validate_choice=False,
        invalid_value_message=NOT_A_PERSON,
        validators=[InputRequired(message="Välj en kontaktperson ur elevhälsoteamet.")],
    )


class SprakrorForm(CaseForm):
    person_id = SelectField(
        "Personal med konto",
        coerce=optional_id,
        validate_choice=False,
        invalid_value_message=NOT_A_PERSON,
    )
    outside_name = StringField(
        "Namn",
        validators=[Optional(), Length(max=120, message="Namnet får vara högst 120 tecken.")],
    )
    outside_phone = StringField(
        "Telefon",
        validators=[Optional(), Length(max=40, message="Telefonnumret får vara högst 40 tecken.")],
    )
    # Required in the browser; the service refuses it too, with the rule's reason.
    trust_confirmed = BooleanField(
        "Vårdnadshavaren har bekräftat sitt förtroende för språkröret",
        render_kw={"required": True},
    )


def options(pairs: Any) -> list[SelectChoice]:
    """Select or radio choices from (value, label) pairs."""
    return [SelectChoice(value, text) for value, text in pairs]


def make_form(form_class: type[FlaskForm], defaults: dict[str, Any]) -> Any:
    """The form from the request; on GET filled in with `defaults` (the case's version…)."""
    return form_class(data=on_get(defaults))


# --- views ---------------------------------------------------------------------------


@bp.route("/cases/<reference>/koordinatorer", methods=["GET", "POST"])
@login_required
def koordinatorer(reference: str) -> Any:
    db = get_db()
    page = koordinator_dialog(db, reference)
    k1, k2 = page.current_ids
    first = page.pairs[0][0] if page.pairs and k1 is None else OWN_CHOICE
    form = make_form(
        KoordinatorForm, {"version": page.case.version, "pair": first, "k1": k1, "k2": k2}
    )
    form.pair.choices = options(
        [*page.pairs, (OWN_CHOICE, "Eget val: välj koordinator 1 och 2 nedan")]
    )
    form.k1.choices = options([("", "Välj koordinator"), *page.eligible])
    form.k2.choices = options([("", "Välj koordinator"), *page.eligible])
    template = "assignments/koordinatorer.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, current=page.case)
    return submit(
        form,
        lambda: assignments.appoint_koordinatorer(
            db, reference, *form.chosen(), actor=user_id(), expected_version=form.version.data
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message="Koordinatorerna är utsedda.",
        page=page,
        current=page.case,
    )


@bp.route("/cases/<reference>/kontaktperson", methods=["GET", "POST"])
@login_required
def kontaktperson(reference: str) -> Any:
    db = get_db()
    page = kontaktperson_dialog(db, reference)
    form = make_form(KontaktpersonForm, {"version": page.case.version})
    form.person_id.choices = options(page.options)
    template = "assignments/kontaktperson.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, current=page.case)
    return submit(
        form,
        lambda: assignments.appoint_kontaktperson(
            db, reference, form.person_id.data, actor=user_id(), expected_version=form.version.data
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message="Kontaktpersonen är utsedd.",
        page=page,
        current=page.case,
    )


@bp.route("/cases/<reference>/sprakror", methods=["GET", "POST"])
@login_required
def sprakror(reference: str) -> Any:
    db = get_db()
    page = sprakror_dialog(db, reference)
    form = make_form(SprakrorForm, {"version": page.case.version})
    form.person_id.choices = options([("", "Ingen – en utomstående kontakt"), *page.staff])
    template = "assignments/sprakror.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, current=page.case)
    return submit(
        form,
        lambda: assignments.appoint_sprakror(
            db,
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            trust_confirmed_by_guardian=form.trust_confirmed.data,
            person_id=form.person_id.data,
            outside_name=form.outside_name.data,
            outside_phone=form.outside_phone.data,
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message="Språkröret är utsett.",
        page=page,
        current=page.case,
    )
