"""The SIP dialogs: sammankallande, the plan's samordnare, and placement outside the home.

001 (BUS Gotland), p. 8: the responsible manager, or a person the manager appoints, calls
the SIP meeting; p. 10: the plan names the samordnare the meeting chose, and while the
child is placed outside the home, social services holds the coordination.

Candidates are all active staff with an account, grouped by organisation: 001 lets the
manager appoint anyone, and the people a SIP brings together come from every
organisation, so no narrower list would be right for every municipality. The services
decide every rule; these pages only offer what the rules would accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from sqlalchemy.orm import Session
from wtforms import BooleanField, RadioField, SelectChoice, SelectField
from wtforms.validators import InputRequired

from vastbas.enums import CaseRole, Organisation
from vastbas.labels import label
from vastbas.models import Person, Unit
from vastbas.services import coordination
from web.assignments import NOT_A_PERSON, CaseHeader, make_form, open_page
from web.auth import login_required, user_id
from web.database import get_db
from web.forms import CaseForm, case_page_url, optional_id, submit

bp = Blueprint("sip_records", __name__)

PLACED, NOT_PLACED = "ja", "nej"
NOT_OFFERED = "Ditt val, som inte kan väljas"


@dataclass(frozen=True)
class StaffDialog:
    """A dialog that appoints one person of the staff to a role on the case."""

    case: CaseHeader
    current: str | None
    current_id: int | None
    candidates: tuple[SelectChoice, ...]  # grouped by organisation (optgroup)
    placed: bool
    rektor_name: str | None  # the manager of the child's unit, who usually calls the meeting


@dataclass(frozen=True)
class PlacementDialog:
    case: CaseHeader
    placed: bool


def staff_choices(db: Session, only: Organisation | None = None) -> tuple[SelectChoice, ...]:
    """Active staff with an account as select options, one group per organisation."""
    query = (
        sa.select(Person.id, Person.name, Person.organisation, Person.profession, Unit.name)
        .outerjoin(Unit, Person.unit_id == Unit.id)
        .where(Person.username.is_not(None), Person.active.is_(True))
    )
    if only is not None:
        query = query.where(Person.organisation == only)
    rows = db.execute(query).all()
    rows.sort(key=lambda r: (label(r[2]), r[1], r[0]))
    return tuple(
        SelectChoice(
            str(person_id),
            f"{name}, {label(profession)}" + (f" ({unit})" if unit else ""),
            optgroup=label(organisation),
        )
        for person_id, name, organisation, profession, unit in rows
    )


def _staff_dialog(
    db: Session, reference: str, activity: str, role: CaseRole, chosen: int | None
) -> StaffDialog:
    """The dialog; `chosen` is the person a refused POST named, kept in the list to correct."""
    case, _, header = open_page(db, reference, activity)
    placed = case.placed_outside_home_at is not None
    only = Organisation.SOCIALTJANST if placed and role == CaseRole.PLAN_SAMORDNARE else None
    held = case.current(role)
    rektor = case.unit.rektor if case.unit else None
    candidates = staff_choices(db, only)
    if chosen is not None and str(chosen) not in {c.value for c in candidates}:
        person = db.get(Person, chosen)
        if person is not None:
            candidates = (*candidates, SelectChoice(str(chosen), person.name, optgroup=NOT_OFFERED))
    return StaffDialog(
        case=header,
        current=held.person.name if held else None,
        current_id=held.person_id if held else None,
        candidates=candidates,
        placed=placed,
        rektor_name=rektor.name if rektor else None,
    )


def placement_dialog(db: Session, reference: str) -> PlacementDialog:
    case, _, header = open_page(db, reference, "record_placement")
    return PlacementDialog(header, case.placed_outside_home_at is not None)


# --- forms ---------------------------------------------------------------------------


class StaffForm(CaseForm):
    # Not checked against the offered choices: the service's Swedish reasons say why a
    # person cannot be chosen (no account, or not from social services while placed).
    person_id = SelectField(
        "Person",
        coerce=optional_id,
        validate_choice=False,
        invalid_value_message=NOT_A_PERSON,
        validators=[InputRequired(message="Välj en person i listan.")],
    )


class PlacementForm(CaseForm):
    placed = RadioField(
        "Är barnet placerat utanför hemmet?",
        choices=[
            SelectChoice(PLACED, "Ja, barnet är placerat utanför hemmet"),
            SelectChoice(NOT_PLACED, "Nej"),
        ],
        invalid_choice_message="Välj ja eller nej.",
        validators=[InputRequired(message="Välj ja eller nej.")],
    )
    confirmed = BooleanField(
        "Jag har kontrollerat uppgiften om placering",
        validators=[InputRequired(message="Bekräfta att uppgiften om placering stämmer.")],
        render_kw={"required": True},
    )


# --- views ---------------------------------------------------------------------------


def _posted_id() -> int | None:
    try:
        return optional_id(request.form.get("person_id")) if request.method == "POST" else None
    except ValueError:
        return None


def _appoint(
    reference: str, activity: str, role: CaseRole, title: str, call: Any, done: str
) -> Any:
    db = get_db()
    page = _staff_dialog(db, reference, activity, role, _posted_id())
    form = make_form(StaffForm, {"version": page.case.version, "person_id": page.current_id})
    form.person_id.label.text = title
    form.person_id.choices = [SelectChoice("", "Välj person"), *page.candidates]
    template = f"sip/{activity}.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, current=page.case)
    return submit(
        form,
        lambda: call(
            db,
            reference,
            form.person_id.data,
            actor=user_id(),
            expected_version=form.version.data,
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message=done,
        page=page,
        current=page.case,
    )


@bp.route("/cases/<reference>/sammankallande", methods=["GET", "POST"])
@login_required
def sammankallande(reference: str) -> Any:
    return _appoint(
        reference,
        "appoint_sammankallande",
        CaseRole.SAMMANKALLANDE,
        "Sammankallande",
        coordination.appoint_sammankallande,
        "Sammankallande är utsedd.",
    )


@bp.route("/cases/<reference>/plan-samordnare", methods=["GET", "POST"])
@login_required
def plan_samordnare(reference: str) -> Any:
    return _appoint(
        reference,
        "appoint_plan_samordnare",
        CaseRole.PLAN_SAMORDNARE,
        "Samordnare i planen",
        coordination.appoint_plan_samordnare,
        "Samordnaren i planen är utsedd.",
    )


@bp.route("/cases/<reference>/placering", methods=["GET", "POST"])
@login_required
def placement(reference: str) -> Any:
    db = get_db()
    page = placement_dialog(db, reference)
    form = make_form(
        PlacementForm,
        {"version": page.case.version, "placed": PLACED if page.placed else NOT_PLACED},
    )
    template = "sip/placement.html"
    if request.method == "GET":
        return render_template(template, form=form, page=page, current=page.case)
    return submit(
        form,
        lambda: coordination.record_placement(
            db,
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            placed=form.placed.data == PLACED,
        ),
        template=template,
        success_url=case_page_url(reference),
        success_message=(
            "Placeringen utanför hemmet är registrerad."
            if form.placed.data == PLACED
            else "Det är registrerat att barnet inte är placerat utanför hemmet."
        ),
        page=page,
        current=page.case,
    )
