"""Avvikelser: the samordnare's list of reported deviations and their follow-up.

Anyone on a case reports a deviation from the case page (web/records.py); here the
samordnare follows each one up: ny → utreds → åtgärdad, with what was found or done.
Others get 403, the anonymous the login page; the queries and the service check again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import Length

from vastbas.enums import DeviationStatus, SystemRole
from vastbas.errors import InvalidInput, NotAllowed, NotFound
from vastbas.labels import choices
from vastbas.models import LONG_TEXT_MAX
from vastbas.queries.deviations import FILTERS, deviation_for_follow_up, deviation_list
from vastbas.services import deviations
from web.auth import current_user, login_required, user_id
from web.database import get_db
from web.forms import on_get, submit
from web.records import SwedishMeta, options

bp = Blueprint("deviations", __name__, url_prefix="/avvikelser")


@bp.before_request
def _samordnare_only() -> None:
    user = current_user()
    if user is not None and not user.has_role(SystemRole.SAMORDNARE):
        raise NotAllowed("Avvikelserna följs upp av samordnaren.")


class FollowUpForm(FlaskForm):
    Meta = SwedishMeta

    status = RadioField("Status", choices=options(choices(DeviationStatus)), validate_choice=False)
    follow_up = TextAreaField(
        "Uppföljning",
        validators=[Length(max=LONG_TEXT_MAX, message="Texten är för lång.")],
        description="Vad har utretts och vad har gjorts? Skriv inte barnets namn eller "
        "personnummer.",
    )
    seen = HiddenField()


@bp.route("")
@login_required
def deviation_list_page() -> Any:
    listing = deviation_list(get_db(), user_id(), status=request.args.get("status") or "oppna")
    return render_template("deviations/list.html", listing=listing, filters=FILTERS)


@bp.route("/folj-upp", methods=["GET", "POST"])
@login_required
def follow_up() -> Any:
    deviation_id = request.args.get("avvikelse", type=int)
    if deviation_id is None:
        raise InvalidInput("Välj en avvikelse i listan.")
    if not 0 < deviation_id < 2**31:
        raise NotFound("Avvikelsen finns inte.")
    row = deviation_for_follow_up(get_db(), user_id(), deviation_id)
    form = FollowUpForm(
        data=on_get({"status": row.status.value, "follow_up": row.follow_up, "seen": row.seen})
    )
    return submit(
        form,
        lambda: deviations.follow_up_deviation(
            get_db(),
            deviation_id,
            actor=user_id(),
            status=form.status.data or "",
            follow_up=form.follow_up.data,
            seen=form.seen.data or "",
        ),
        template="deviations/follow_up.html",
        success_url=url_for("deviations.deviation_list_page"),
        success_message="Avvikelsen är uppdaterad.",
        deviation=row,
    )
