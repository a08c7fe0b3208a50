"""Mina nycklar: personal API tokens and calendar feed links, made, listed and revoked.

A new token's secret is shown on the answer to the POST that made it and never again:
only its hash is stored, so it cannot go through a redirect or the session cookie.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from vastbas.calendar import local_datetime
from vastbas.errors import InvalidInput
from vastbas.models import TokenKind
from vastbas.services import tokens
from web.auth import login_required, user_id
from web.database import get_db
from web.forms import SwedishForm

bp = Blueprint("tokens", __name__)

KIND_LABELS = {
    TokenKind.CALENDAR: "Kalenderlänk",
    TokenKind.API: "API-nyckel",
}


class TokenForm(SwedishForm):
    name = StringField(
        "Namn",
        validators=[
            DataRequired("Ge nyckeln ett namn."),
            Length(max=tokens.NAME_MAX, message=f"Högst {tokens.NAME_MAX} tecken."),
        ],
        description="Så att du känner igen den, till exempel ”Outlook på jobbet”.",
    )
    kind = RadioField(
        "Vad ska nyckeln användas till?",
        choices=[
            SelectChoice(TokenKind.CALENDAR.value, "Kalenderlänk: möten och tidsfrister i Outlook"),
            SelectChoice(TokenKind.API.value, "API-nyckel: ett program som hämtar dina ärenden"),
        ],
        default=TokenKind.CALENDAR.value,
        validators=[InputRequired("Välj vad nyckeln ska användas till.")],
    )


class RevokeForm(FlaskForm):
    """Only the CSRF token: which key to revoke is in the URL."""


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def index() -> Any:
    form = TokenForm()
    created = None
    status = 200
    if form.validate_on_submit():
        try:
            created = tokens.create_token(
                get_db(), actor=user_id(), name=form.name.data, kind=form.kind.data
            )
        except InvalidInput as exc:
            form.name.errors = [exc.fields.get("name", exc.message)]
            status = 400
        else:
            form = TokenForm(formdata=None)
    elif form.is_submitted():
        status = 400
    feed_url = None
    if created is not None and created.kind == TokenKind.CALENDAR:
        feed_url = url_for("feed.calendar", secret=created.secret, _external=True)
    mine = [
        replace(
            t,
            created_at=local_datetime(t.created_at),
            last_used_at=local_datetime(t.last_used_at) if t.last_used_at else None,
            revoked_at=local_datetime(t.revoked_at) if t.revoked_at else None,
        )
        for t in tokens.tokens_of(get_db(), user_id())
    ]
    return render_template(
        "tokens/index.html",
        form=form,
        created=created,
        feed_url=feed_url,
        tokens=mine,
        kinds=KIND_LABELS,
        revoke_form=RevokeForm(),
    ), status


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Any:
    if not RevokeForm().validate_on_submit():
        abort(400)
    tokens.revoke_token(get_db(), token_id, actor=user_id())
    flash("Nyckeln är återkallad och fungerar inte längre.")
    return redirect(url_for(".index"))
