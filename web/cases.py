"""Case pages: Mina ärenden, the case list, a new request, the case page and its transitions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from vastbas import clock, queries
from vastbas.calendar import local_date
from vastbas.enums import InitiatorKind
from vastbas.errors import InvalidInput
from vastbas.labels import choices
from vastbas.models import LONG_TEXT_MAX
from vastbas.personnummer_check import normalise_personnummer
from vastbas.services import cases, transitions
from web.auth import login_required, user_id
from web.database import get_db
from web.forms import CaseForm, SwedishForm, optional_id, submit

bp = Blueprint("cases", __name__)

# Links to the pages of the other areas, each shown when the workflow allows its activity
# to the user in the case's current step (and once the page exists: has_endpoint).
ACTIVITY_LINKS = (
    ("record_consent", "records.consent", "Registrera samtycke"),
    ("appoint_sammankallande", "sip_records.sammankallande", "Utse sammankallande"),
    ("record_placement", "sip_records.placement", "Placering utanför hemmet"),
    ("appoint_plan_samordnare", "sip_records.plan_samordnare", "Utse samordnare i planen"),
    ("appoint_koordinatorer", "assignments.koordinatorer", "Utse koordinatorer"),
    ("record_child_voice", "records.child_voice", "Notera barnets röst"),
    ("set_problem_analysis", "records.problem_analysis", "Problemanalys och syfte"),
    ("edit_network_map", "records.network", "Nätverkskartan"),
    ("appoint_sprakror", "assignments.sprakror", "Utse språkrör"),
    ("appoint_kontaktperson", "assignments.kontaktperson", "Utse kontaktperson"),
    ("book_meeting", "meetings.book", "Boka möte"),
    ("update_action", "records.actions", "Uppdatera åtgärdernas status"),
    ("record_follow_up", "records.follow_up", "Dokumentera uppföljning"),
    ("record_evaluation", "records.evaluation", "Dokumentera utvärdering"),
    ("register_deviation", "records.deviation", "Rapportera avvikelse"),
)
# Whom a consent can cover; free text adds others (Consent.actors is a list of names).
CONSENT_ACTORS = (
    "Förskola",
    "Skola",
    "Fritid",
    "Elevhälsa",
    "Socialtjänst",
    "BUP",
    "Habilitering",
    "Hälso- och sjukvård",
    "Polis",
)
PER_PAGE = 25
# The process a new request starts in unless the user picks another; the first loaded
# workflow when this one is not installed.
DEFAULT_PROCESS = "vastbas"
FIX_FIELDS = "Förfrågan kunde inte registreras. Rätta de markerade fälten."


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Whether the app has a page by this endpoint name (other areas land one by one)."""
    return name in current_app.view_functions


def _today() -> date:
    return local_date(clock.now())


@bp.route("/")
@login_required
def my_cases() -> Any:
    process = request.args.get("process") or None
    page = queries.my_cases(get_db(), user_id(), _today(), process=process)
    return render_template("cases/my_cases.html", page=page, process=process)


@bp.route("/cases")
@login_required
def case_list() -> Any:
    args = request.args
    listing = queries.case_list(
        get_db(),
        user_id(),
        process=args.get("process") or None,
        state=args.get("steg") or None,
        unit_id=args.get("enhet", type=int),
        koordinator_id=args.get("koordinator", type=int),
        overdue=args.get("forsenade") == "1",
        search=args.get("sok") or None,
        page=args.get("sida", 1, type=int),
        per_page=PER_PAGE,
        today=_today(),
    )
    return render_template("cases/list.html", listing=listing, args=args)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RequestForm(SwedishForm):
    """Ny förfrågan: which process, who asks, about which child, where, why, and consent."""

    workflow = SelectField(
        "Process",
        validate_choice=False,
        description="Vilken samverkansrutin förfrågan gäller.",
    )

    initiator_kind = SelectField(
        "Förfrågan kommer från",
        choices=[
            SelectChoice("", "Välj …"),
            *(SelectChoice(v, t) for v, t in choices(InitiatorKind)),
        ],
        validators=[DataRequired("Välj vem förfrågan kommer ifrån.")],
    )
    initiator_name = StringField(
        "Initiativtagare (namn eller funktion)",
        validators=[Optional(), Length(max=120, message="Högst 120 tecken.")],
        description="Till exempel mentor eller BVC-sjuksköterska.",
    )
    child_name = StringField(
        "Barnets namn",
        validators=[
            DataRequired("Ange barnets namn."),
            Length(max=120, message="Högst 120 tecken."),
        ],
    )
    child_personnummer = StringField(
        "Barnets personnummer",
        validators=[DataRequired("Ange barnets personnummer.")],
        description="ÅÅÅÅMMDD-NNNN",
    )
    unit_id = SelectField("Barnets förskola eller skola", coerce=optional_id)
    background = TextAreaField(
        "Bakgrund",
        validators=[Length(max=LONG_TEXT_MAX, message="Texten är för lång.")],
        description="Vad oroar och vad har prövats? Skriv bara det som behövs.",
    )
    consent_given_by = StringField(
        "Samtycke lämnat av",
        validators=[Optional(), Length(max=120, message="Högst 120 tecken.")],
        description="Till exempel vårdnadshavare. Lämna tomt om samtycke inte finns ännu.",
    )
    consent_actors = MultiCheckboxField(
        "Samtycket gäller", choices=[SelectChoice(actor) for actor in CONSENT_ACTORS]
    )
    consent_other = StringField(
        "Andra aktörer som samtycket gäller",
        validators=[Optional(), Length(max=500, message="Högst 500 tecken.")],
        description="Skriv flera åtskilda med kommatecken.",
    )

    def validate_workflow(self, field: SelectField) -> None:
        if field.data not in {str(c.value) for c in field.choices or ()}:
            raise ValidationError("Välj en process i listan.")

    def validate_child_personnummer(self, field: StringField) -> None:
        """The service checks it too; here so every message shows in the same round."""
        try:
            normalise_personnummer(field.data or "")
        except InvalidInput as exc:
            raise ValidationError(exc.fields.get(field.name, exc.message)) from None


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_request() -> Any:
    form = RequestForm()
    form.unit_id.choices = [SelectChoice("", "Ingen eller okänd"), *_units()]
    form.workflow.choices = _processes()
    if not (form.workflow.raw_data or [""])[0]:
        # A client that does not send a process (an older form, the API's shape) means the default.
        form.workflow.data = _default_process(form.workflow.choices)
    if not form.validate_on_submit():
        if not form.is_submitted():
            return render_template("cases/new.html", form=form)
        return render_template("cases/new.html", form=form, problem=FIX_FIELDS), 400
    try:
        case = cases.register_request(get_db(), actor=user_id(), **_request_fields(form))
    except InvalidInput as exc:
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
        return render_template("cases/new.html", form=form, problem=exc.message), 400
    flash(f"Förfrågan {case.reference} är registrerad.")
    if queries.may_see(get_db(), case.reference, user_id()):
        return redirect(url_for(".case_page", reference=case.reference))
    return redirect(url_for(".my_cases"))


def _processes() -> list[SelectChoice]:
    """Every loaded workflow, by its title (the registry built by create_app)."""
    loaded = current_app.extensions["vastbas.workflows"]
    return [SelectChoice(name, workflow.title) for name, workflow in loaded.items()]


def _default_process(options: list[SelectChoice]) -> str:
    names = [str(option.value) for option in options]
    return DEFAULT_PROCESS if DEFAULT_PROCESS in names else names[0]


def _units() -> list[SelectChoice]:
    return [SelectChoice(c.value, c.label) for c in queries.unit_choices(get_db())]


def _request_fields(form: RequestForm) -> dict[str, Any]:
    others = (form.consent_other.data or "").split(",")
    return {
        "child_name": form.child_name.data,
        "child_personnummer": form.child_personnummer.data,
        "unit_id": form.unit_id.data,
        "initiator_kind": form.initiator_kind.data,
        "initiator_name": form.initiator_name.data,
        "background": form.background.data or "",
        "consent_given_by": form.consent_given_by.data,
        "consent_actors": [*(form.consent_actors.data or []), *others],
        "workflow": form.workflow.data,
    }


@bp.get("/cases/<reference>")
@login_required
def case_page(reference: str) -> Any:
    reveal = request.args.get("visa") == "personnummer"
    page = queries.case_page(get_db(), reference, user_id(), _today(), reveal_personnummer=reveal)
    # The read is audited by web/reads.py, as every page of a case is.
    return render_template("cases/case.html", page=page, links=ACTIVITY_LINKS)


class TransitionForm(CaseForm):
    """A step forward (or out): only the version the user saw."""


class ReasonForm(CaseForm):
    """A transition the workflow wants a reason for (closing early, reopening)."""

    reason = TextAreaField(
        "Skäl",
        validators=[
            DataRequired("Ange ett skäl."),
            Length(max=LONG_TEXT_MAX, message="Texten är för lång."),
        ],
    )


@bp.get("/cases/<reference>/transitions/<trigger>")
@login_required
def confirm_transition(reference: str, trigger: str) -> Any:
    page = queries.case_page(get_db(), reference, user_id(), _today())
    available = page.transition(trigger)
    if available is None:
        flash("Det går inte att göra detta i ärendets nuvarande steg.")
        return redirect(url_for(".case_page", reference=reference))
    form = (ReasonForm if available.info.requires_reason else TransitionForm)()
    form.version.data = request.args.get("version", page.version, type=int)
    return render_template("cases/confirm.html", form=form, page=page, info=available.info)


def _after_change(reference: str) -> str:
    """Back to the case, or to Mina ärenden when the change took the user's role away."""
    if queries.may_see(get_db(), reference, user_id()):
        return url_for(".case_page", reference=reference)
    return url_for(".my_cases")


@bp.post("/cases/<reference>/transitions/<trigger>")
@login_required
def fire_transition(reference: str, trigger: str) -> Any:
    info = queries.transition_info(get_db(), reference, user_id(), trigger) or abort(404)
    form = (ReasonForm if info.requires_reason else TransitionForm)()
    reason = form.reason.data if isinstance(form, ReasonForm) else None
    done = "Ärendet är avslutat." if info.closes else f"Ärendet är nu i steget {info.dest_label}."

    def case_as_it_is_now() -> dict[str, Any]:
        # A refusal or a conflict shows the case as it is now, with the user's input.
        page = queries.case_page(get_db(), reference, user_id(), _today())
        return {"page": page, "current": page}

    return submit(
        form,
        lambda: transitions.fire(
            get_db(),
            reference,
            trigger,
            actor=user_id(),
            expected_version=form.version.data,
            reason=reason,
        ),
        template="cases/confirm.html" if info.needs_confirmation else "cases/case.html",
        success_url=lambda: _after_change(reference),
        success_message=done,
        page_context=case_as_it_is_now,
        info=info,
        links=ACTIVITY_LINKS,
    )
