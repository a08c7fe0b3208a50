"""The three moves of a form view: parse, call one service, redirect — or show what is wrong.

A refused change re-renders the same form with the user's input kept: field messages
next to their fields, the rest at the top, and for a conflict the case's current state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from vastbas.errors import Conflict, InvalidInput, NotAllowed, RuleBroken
from web.i18n import FormTranslations, t

# The largest id a form or a URL may name: the range of an INTEGER column on every database.
# Beyond 64 bits SQLite's driver fails, so an unchecked id became a 500.
ID_MAX = 2**31 - 1


def optional_id(value: object) -> int | None:
    """An id chosen in a select or radio list, None for the empty choice.

    Anything else raises ValueError, which WTForms shows as "Välj ett av alternativen".
    """
    if value is None or value in ("", "None"):
        return None
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > ID_MAX:
        raise ValueError(f"not an id: {text[:20]!r}")
    return int(text)


def required_id(value: object) -> int:
    """An id chosen in a list where the empty choice is not an answer."""
    found = optional_id(value)
    if found is None:
        raise ValueError("no id")
    return found


class SwedishMeta:
    """WTForms' own messages ("This field is required.") in Swedish; we have no Babel."""

    def get_translations(self, form: Any) -> FormTranslations:
        return FormTranslations()


class SwedishForm(FlaskForm):
    """The base of our forms: CSRF from Flask-WTF, every message in Swedish."""

    Meta = SwedishMeta


class CaseForm(SwedishForm):
    """Every form that changes a case carries the version the user saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


def form_problem(form: Any) -> str | None:
    """The message for an error on a field the user cannot see (the version, an id)."""
    for field in form:
        if field.type in ("FieldList", "FormField"):
            if form_problem(field):
                return t("form.stale")
        elif field.errors and getattr(field.widget, "input_type", None) == "hidden":
            return t("form.stale")
    return None


def on_get(data: dict[str, Any]) -> dict[str, Any] | None:
    """Prefill a form on GET only; a POST shows exactly what the user sent."""
    return data if request.method == "GET" else None


def case_page_url(reference: str) -> str:
    """Where a change to a case leads back to."""
    return url_for("cases.case_page", reference=reference)


def submit(
    form: FlaskForm,
    call: Callable[[], Any],
    *,
    template: str,
    success_url: str | Callable[[], str],
    success_message: str,
    page_context: Callable[[], dict[str, Any]] | None = None,
    **context: Any,
) -> Any:
    """Validate the form, call the service, redirect on success, else re-render with messages.

    `success_url` may be a function, for a target that depends on the change (a user who
    just closed a case may no longer see it). `page_context` adds what only a rendered page
    needs (the whole case page, say), read when the page is shown, so a change that goes
    through never pays for it — and a refused one shows the case as it is after the refusal.
    """
    status = _attempt(form, call, context)
    if status is None:
        flash(success_message)
        return redirect(success_url() if callable(success_url) else success_url)
    if page_context is not None:
        context.update(page_context())
    return render_template(template, form=form, **context), status


def _attempt(form: FlaskForm, call: Callable[[], Any], context: dict[str, Any]) -> int | None:
    """Call the service if the form is valid: None when it went through, else the status,
    with the messages to show put into `context` and onto the form's fields."""
    if request.method != "POST":
        return 200
    if not form.validate_on_submit():
        context.setdefault("problem", form_problem(form))
        return 400
    try:
        call()
    except Conflict:
        context["conflict"] = True
        return 409
    except InvalidInput as exc:
        _place(form, exc.fields)
        context["problem"] = exc.message
        return 400
    except (RuleBroken, NotAllowed) as exc:
        context["problem"] = exc.message
        context["reasons"] = getattr(exc, "reasons", [])
        return 403 if isinstance(exc, NotAllowed) else 400
    return None


def _place(form: FlaskForm, fields: dict[str, str]) -> None:
    """Put each service message next to its field, when the form has one by that name."""
    for name, message in fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
