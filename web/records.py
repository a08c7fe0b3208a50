"""What is recorded on a case, one form each: consent, the child's voice, problem analysis,
network map, handlingsplan, action status, follow-up, evaluation and deviation.

Each view checks that the user may do this now (404 if the case is not theirs to see,
403 if the workflow does not allow it), then parses the form and calls one service,
which checks again. Success goes back to the case page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, render_template, request, url_for
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.enums import ActionStatus, EvaluationDecision, FollowUpKind, ParticipantKind
from vastbas.errors import NotAllowed, NotFound, RuleBroken
from vastbas.labels import choices, label
from vastbas.models import Case
from vastbas.services import cases, deviations, followups, network, plans
from vastbas.services.base import can_see, load_case, require_activity, roles_on, workflow_of
from web.auth import current_user, login_required, user_id
from web.cases import CONSENT_ACTORS
from web.database import get_db
from web.forms import CaseForm, SwedishMeta, case_page_url, on_get, submit

bp = Blueprint("records", __name__, url_prefix="/cases/<reference>")

PLAN_ROWS = 6
MAX_PLAN_ROWS = 40
PICK = [SelectChoice("", "Välj …")]


def options(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """Select, radio or checkbox choices from (value, label) pairs."""
    return [SelectChoice(str(value), text) for value, text in pairs]


class RecordForm(CaseForm):
    """A record form: the version the user saw; WTForms' messages in Swedish (CaseForm)."""


def required(message: str) -> list[Any]:
    return [DataRequired(message), Length(max=20_000)]


class ConsentForm(RecordForm):
    given_by = StringField(
        "Samtycket lämnat av",
        validators=[DataRequired("Ange vem som har lämnat samtycket."), Length(max=120)],
        description="Till exempel: Vårdnadshavare 1 och 2.",
    )
    actors = SelectMultipleField(
        "Aktörer som samtycket omfattar",
        choices=[SelectChoice(actor) for actor in CONSENT_ACTORS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    other_actors = StringField(
        "Andra aktörer",
        validators=[Length(max=500)],
        description="Skilj flera aktörer åt med kommatecken.",
    )


class ChildVoiceForm(RecordForm):
    text = TextAreaField(
        "Barnets röst",
        validators=required("Skriv vad barnet själv säger eller önskar."),
        description="Vad barnet själv säger, vill och önskar, gärna med barnets egna ord.",
    )


class ProblemAnalysisForm(RecordForm):
    problem_analysis = TextAreaField("Problemanalys", validators=[Length(max=20_000)])
    purpose = TextAreaField("Syfte med nätverksarbetet", validators=[Length(max=20_000)])


class NetworkEntryForm(RecordForm):
    kind = SelectField(
        "Vem är det?", choices=PICK + options(choices(ParticipantKind)), validate_choice=False
    )
    name = StringField("Namn", validators=[DataRequired("Ange ett namn."), Length(max=120)])
    relation = StringField(
        "Relation till barnet", validators=[Length(max=120)], description="Till exempel: moster."
    )
    on_guest_list = BooleanField("Bjuds in till nätverksmötena (gästlistan)")


class ActionRowForm(Form):
    """One row of actions in the plan form; a row left empty is not an action."""

    Meta = SwedishMeta
    description = StringField("Åtgärd", validators=[Length(max=2_000)])
    owner_name = StringField("Ansvarig", validators=[Length(max=120)])
    due_on = DateField("Klar senast", validators=[Optional()])
    status = HiddenField()

    def used(self) -> bool:
        typed = [self.description.data, self.owner_name.data, *(self.due_on.raw_data or [])]
        return any((text or "").strip() for text in typed)


class PlanForm(RecordForm):
    goals = TextAreaField(
        "Mål", validators=[Length(max=20_000)], description="Skriv ett mål per rad."
    )
    actions = FieldList(FormField(ActionRowForm), min_entries=PLAN_ROWS, max_entries=MAX_PLAN_ROWS)
    note = TextAreaField("Kommentar till versionen", validators=[Length(max=20_000)])

    def validate(self, extra_validators: Any = None) -> bool:
        """A row that is begun must be complete; the plan needs at least one action."""
        valid = super().validate(extra_validators)
        rows = [entry.form for entry in self.actions]
        for row in (r for r in rows if r.used()):
            for field, message in (
                (row.description, "Beskriv åtgärden."),
                (row.owner_name, "Ange vem som ansvarar."),
                (row.due_on, "Ange när åtgärden ska vara klar."),
            ):
                typed = field.data.strip() if isinstance(field.data, str) else field.data
                if not field.errors and not typed:
                    field.errors.append(message)
                    valid = False
        if rows and not any(r.used() for r in rows):
            rows[0].description.errors.append("Lägg till minst en åtgärd.")
            valid = False
        return valid

    def action_inputs(self) -> list[plans.ActionInput]:
        return [
            plans.ActionInput(
                description=row.description.data.strip(),
                owner_name=row.owner_name.data.strip(),
                due_on=row.due_on.data,
                status=_status(row.status.data),
            )
            for row in (entry.form for entry in self.actions)
            if row.used()
        ]


def _status(value: str | None) -> ActionStatus:
    """The status an action carries into the new version (planned when new)."""
    try:
        return ActionStatus(value)
    except ValueError:
        return ActionStatus.PLANNED


class ActionStatusForm(RecordForm):
    status = StringField()


class FollowUpForm(RecordForm):
    kind = SelectField(
        "Sorts uppföljning", choices=PICK + options(choices(FollowUpKind)), validate_choice=False
    )
    held_on = DateField("Datum", validators=[Optional()])
    notes = TextAreaField(
        "Vad kom uppföljningen fram till?",
        validators=required("Skriv vad uppföljningen kom fram till."),
    )
    reported_to_koordinator = BooleanField("Återrapporterat till koordinatorn")


class EvaluationForm(RecordForm):
    decision = RadioField(
        "Beslut", choices=options(choices(EvaluationDecision)), validate_choice=False
    )
    notes = TextAreaField(
        "Vad kom utvärderingen fram till?",
        validators=required("Skriv vad utvärderingen kom fram till."),
    )


class DeviationForm(RecordForm):
    description = TextAreaField(
        "Vad fungerade inte i samverkan?",
        validators=required("Beskriv vad som inte fungerade."),
        description="Skriv inte barnets namn eller personnummer.",
    )


# --- the case as these pages see it --------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    id: int
    kind: ParticipantKind
    name: str
    relation: str | None
    on_guest_list: bool


@dataclass(frozen=True)
class ActionRow:
    id: int
    description: str
    owner_name: str
    due_on: date | None
    status: ActionStatus


@dataclass(frozen=True)
class RecordPage:
    """Plain data about a case for the record forms, read before any change is tried."""

    reference: str
    version: int
    step_label: str
    child_voice: str | None
    problem_analysis: str | None
    purpose: str | None
    consent_given_by: str | None
    consent_actors: tuple[str, ...]
    network: tuple[EntryRow, ...]
    plan_version: int | None
    goals: tuple[str, ...]
    actions: tuple[ActionRow, ...]
    # Whom the process's network map may name (workflow `participant_kinds`).
    participant_kinds: tuple[ParticipantKind, ...] = tuple(ParticipantKind)
    follow_up_kinds: tuple[FollowUpKind, ...] = tuple(FollowUpKind)
    follow_up_report_label: str | None = None


PLAN = "create_plan|revise_plan"


def record_page(reference: str, activity: str) -> RecordPage:
    """The case, if the user may see it (else 404) and may do `activity` now (else 403)."""
    case = load_case(get_db(), reference)
    user = current_user()
    assert user is not None
    roles = roles_on(case, user)
    if not can_see(roles):
        raise NotFound(f"Ärendet {reference} finns inte.")
    if activity == PLAN:
        activity = "create_plan" if case.current_plan is None else "revise_plan"
    try:
        require_activity(case, roles, activity)
    except RuleBroken as exc:
        raise NotAllowed(exc.message) from None
    return _page(case)


def _page(case: Case) -> RecordPage:
    consent = case.active_consent
    plan = case.current_plan
    return RecordPage(
        reference=case.reference,
        version=case.version,
        step_label=workflow_of(case).state(case.state).label,
        child_voice=case.child_voice,
        problem_analysis=case.problem_analysis,
        purpose=case.purpose,
        consent_given_by=consent.given_by if consent else None,
        consent_actors=tuple(consent.actors) if consent else (),
        network=tuple(
            EntryRow(e.id, e.kind, e.name, e.relation, e.on_guest_list)
            for e in case.network
            if e.removed_at is None
        ),
        plan_version=plan.version if plan else None,
        goals=tuple(g.text for g in plan.goals) if plan else (),
        actions=tuple(
            ActionRow(a.id, a.description, a.owner_name, a.due_on, a.status)
            for a in (plan.actions if plan else [])
        ),
        participant_kinds=workflow_of(case).participant_kinds,
        follow_up_kinds=workflow_of(case).follow_up_kinds,
        follow_up_report_label=workflow_of(case).follow_up_report_label,
    )


def form_page(
    form: RecordForm,
    call: Callable[[], Any],
    template: str,
    page: RecordPage,
    success_message: str,
    success_url: str | None = None,
    **context: Any,
) -> Any:
    """Show the form on GET; on POST submit it (web.forms.submit) and go back to the case."""
    if request.method == "GET":
        return render_template(template, form=form, page=page, **context)
    return submit(
        form,
        call,
        template=template,
        success_url=success_url or case_page_url(page.reference),
        success_message=success_message,
        page=page,
        current=page,
        **context,
    )


# --- views ---------------------------------------------------------------------------


@bp.route("/consent", methods=["GET", "POST"])
@login_required
def consent(reference: str) -> Any:
    page = record_page(reference, "record_consent")
    known = set(CONSENT_ACTORS)
    form = ConsentForm(
        data=on_get(
            {
                "version": page.version,
                "given_by": page.consent_given_by,
                "actors": [a for a in page.consent_actors if a in known],
                "other_actors": ", ".join(a for a in page.consent_actors if a not in known),
            }
        )
    )
    return form_page(
        form,
        lambda: cases.record_consent(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            given_by=form.given_by.data,
            actors=[*form.actors.data, *(form.other_actors.data or "").split(",")],
        ),
        "records/consent.html",
        page,
        "Samtycket är registrerat.",
    )


@bp.route("/child-voice", methods=["GET", "POST"])
@login_required
def child_voice(reference: str) -> Any:
    page = record_page(reference, "record_child_voice")
    form = ChildVoiceForm(data=on_get({"version": page.version, "text": page.child_voice}))
    return form_page(
        form,
        lambda: cases.record_child_voice(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            text=form.text.data,
        ),
        "records/child_voice.html",
        page,
        "Barnets röst är sparad.",
    )


@bp.route("/problem-analysis", methods=["GET", "POST"])
@login_required
def problem_analysis(reference: str) -> Any:
    page = record_page(reference, "set_problem_analysis")
    data = {
        "version": page.version,
        "problem_analysis": page.problem_analysis,
        "purpose": page.purpose,
    }
    form = ProblemAnalysisForm(data=on_get(data))
    return form_page(
        form,
        lambda: cases.set_problem_analysis(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            problem_analysis=form.problem_analysis.data,
            purpose=form.purpose.data,
        ),
        "records/problem_analysis.html",
        page,
        "Problemanalys och syfte är sparade.",
    )


@bp.route("/network", methods=["GET", "POST"], endpoint="network")
@login_required
def network_map(reference: str) -> Any:
    page = record_page(reference, "edit_network_map")
    form = NetworkEntryForm(data=on_get({"version": page.version}))
    form.kind.choices = PICK + options((k.value, label(k)) for k in page.participant_kinds)
    return form_page(
        form,
        lambda: network.add_network_entry(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            kind=form.kind.data,
            name=form.name.data,
            relation=form.relation.data,
            on_guest_list=form.on_guest_list.data,
        ),
        "records/network.html",
        page,
        "Personen är tillagd på nätverkskartan.",
        # The map is drawn one person at a time, so the user comes back to it.
        success_url=url_for("records.network", reference=reference),
        add_form=form,
    )


@bp.route("/network/<int:entry_id>/remove", methods=["POST"])
@login_required
def network_remove(reference: str, entry_id: int) -> Any:
    page = record_page(reference, "edit_network_map")
    form = RecordForm()
    return form_page(
        form,
        lambda: network.remove_network_entry(
            get_db(), reference, entry_id, actor=user_id(), expected_version=form.version.data
        ),
        "records/network.html",
        page,
        "Personen är borttagen från nätverkskartan.",
        success_url=url_for("records.network", reference=reference),
        add_form=NetworkEntryForm(formdata=None, data={"version": page.version}),
    )


@bp.route("/plan", methods=["GET", "POST"])
@login_required
def plan(reference: str) -> Any:
    page = record_page(reference, PLAN)
    rows = [
        {"description": a.description, "owner_name": a.owner_name, "due_on": a.due_on}
        | {"status": a.status.value}
        for a in page.actions
    ]
    data = {"version": page.version, "goals": "\n".join(page.goals), "actions": rows}
    form = PlanForm(data=on_get(data))
    if request.method == "GET" and len(form.actions) <= len(rows):
        form.actions.append_entry()
    return form_page(
        form,
        lambda: plans.save_plan(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            goals=(form.goals.data or "").splitlines(),
            actions=form.action_inputs(),
            note=form.note.data,
        ),
        "records/plan.html",
        page,
        "Handlingsplanen är sparad som en ny version.",
        status_labels=dict(choices(ActionStatus)),
    )


@bp.route("/actions")
@login_required
def actions(reference: str) -> Any:
    page = record_page(reference, "update_action")
    form = ActionStatusForm(data={"version": page.version})
    return render_template("records/actions.html", form=form, page=page)


@bp.route("/actions/<int:action_id>/status", methods=["POST"])
@login_required
def action_status(reference: str, action_id: int) -> Any:
    page = record_page(reference, "update_action")
    form = ActionStatusForm()
    return form_page(
        form,
        lambda: plans.set_action_status(
            get_db(),
            reference,
            action_id,
            form.status.data,
            actor=user_id(),
            expected_version=form.version.data,
        ),
        "records/actions.html",
        page,
        "Åtgärdens status är ändrad.",
    )


@bp.route("/follow-up", methods=["GET", "POST"])
@login_required
def follow_up(reference: str) -> Any:
    page = record_page(reference, "record_follow_up")
    form = FollowUpForm(data=on_get({"version": page.version, "held_on": local_date(clock.now())}))
    form.kind.choices = PICK + options((k.value, label(k)) for k in page.follow_up_kinds)
    if page.follow_up_report_label is None:
        del form.reported_to_koordinator
    else:
        form.reported_to_koordinator.label.text = page.follow_up_report_label
    return form_page(
        form,
        lambda: followups.record_follow_up(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            kind=form.kind.data,
            notes=form.notes.data,
            held_on=form.held_on.data,
            reported_to_koordinator=bool(
                "reported_to_koordinator" in form and form.reported_to_koordinator.data
            ),
        ),
        "records/follow_up.html",
        page,
        "Uppföljningen är dokumenterad.",
    )


@bp.route("/evaluation", methods=["GET", "POST"])
@login_required
def evaluation(reference: str) -> Any:
    page = record_page(reference, "record_evaluation")
    form = EvaluationForm(data=on_get({"version": page.version}))
    return form_page(
        form,
        lambda: followups.record_evaluation(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            decision=form.decision.data,
            notes=form.notes.data,
        ),
        "records/evaluation.html",
        page,
        "Utvärderingen är dokumenterad.",
    )


@bp.route("/deviation", methods=["GET", "POST"])
@login_required
def deviation(reference: str) -> Any:
    page = record_page(reference, "register_deviation")
    form = DeviationForm(data=on_get({"version": page.version}))
    return form_page(
        form,
        lambda: deviations.register_deviation(
            get_db(),
            reference,
            actor=user_id(),
            expected_version=form.version.data,
            description=form.description.data,
        ),
        "records/deviation.html",
        page,
        "Avvikelsen är registrerad.",
    )
