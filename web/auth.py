"""Logging in and out, and who the current user is.

Logging in goes through a LoginProvider, so that OIDC can be added beside passwords
without touching the views that need a user.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from vastbas.errors import NotAllowed
from vastbas.models import Person
from vastbas.services import accounts
from web.database import get_db
from web.forms import SwedishForm
from web.i18n import t

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(SwedishForm):
    username = StringField(t("login.username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(t("login.password"), validators=[DataRequired(), Length(max=256)])


class LoginProvider(Protocol):
    """A way to prove who you are; returns the person id or raises NotAllowed."""

    def login(self, form: LoginForm) -> int: ...


class PasswordLogin:
    def login(self, form: LoginForm) -> int:
        return accounts.authenticate(get_db(), form.username.data or "", form.password.data or "")


PROVIDERS: dict[str, LoginProvider] = {"password": PasswordLogin()}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        provider = PROVIDERS[current_app.config["LOGIN_PROVIDER"]]
        try:
            person_id = provider.login(form)
        except NotAllowed as exc:
            form.password.errors = [exc.message]
        else:
            session.clear()
            session.permanent = True
            session["person_id"] = person_id
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form), 200 if not form.errors else 400


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    session.clear()
    flash(t("logout.done"))
    return redirect(url_for("auth.login"))


def current_user() -> Person | None:
    """The logged-in, active person, loaded once per request."""
    if "user" not in g:
        person_id = session.get("person_id")
        person = get_db().get(Person, person_id) if person_id else None
        g.user = person if person is not None and person.active else None
    return g.user


def login_required(view: F) -> F:
    """Send the anonymous to the login page, and come back afterwards."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            if request.method != "GET":
                abort(403)
            flash(t("login.required"))
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def user_id() -> int:
    """The current user's id inside a login_required view."""
    user = current_user()
    assert user is not None
    return user.id


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("cases.my_cases")


@bp.app_context_processor
def _user() -> dict[str, Any]:
    return {"current_user": current_user()}
