"""The JSON API under /api/v1: the same services, read models and permissions as the pages.

Each view parses the request, calls the service or read model the page calls, and
turns the result into JSON (web/api/shapes.py); refusals become JSON in web/api/errors.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, jsonify, request

from vastbas import clock, queries
from vastbas.calendar import local_date
from vastbas.errors import NotFound
from vastbas.services import notifications, transitions
from web.api import errors, openapi, shapes
from web.api.auth import api_user_id, token_required
from web.api.errors import ApiError
from web.database import get_db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)

REFERENCE = re.compile(r"[A-Za-z0-9-]{1,20}")
SEARCH = re.compile(r"[^\x00-\x1f\x7f]{0,40}")
INT_MAX = 2**31 - 1
PER_PAGE_MAX = 100
TRUE_FALSE = {"true": True, "1": True, "false": False, "0": False}


def _today() -> date:
    return local_date(clock.now())


def _reference(value: str) -> str:
    """A reference as we write them; anything else cannot be a case (nor reach the database)."""
    if not REFERENCE.fullmatch(value):
        raise NotFound("Ärendet finns inte.")
    return value


def _int(
    args: Mapping[str, str], name: str, default: int | None, low: int, high: int
) -> int | None:
    raw = args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,10}", raw) or not low <= int(raw) <= high:
        raise ApiError(400, f"Parametern {name} ska vara ett heltal från {low} till {high}.")
    return int(raw)


def _case_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """The case list's filters, as the page has them (Ärenden), with English names."""
    state = args.get("state")
    if state is not None and state not in {c.value for c in queries.step_choices()}:
        raise ApiError(400, "Okänt steg i parametern state.")
    overdue = args.get("overdue", "false").lower()
    if overdue not in TRUE_FALSE:
        raise ApiError(400, "Parametern overdue ska vara true eller false.")
    search = args.get("search", "")
    if not SEARCH.fullmatch(search):
        raise ApiError(400, "Parametern search får vara högst 40 tecken, utan styrtecken.")
    return {
        "state": state,
        "unit_id": _int(args, "unit_id", None, 1, INT_MAX),
        "koordinator_id": _int(args, "koordinator_id", None, 1, INT_MAX),
        "overdue": TRUE_FALSE[overdue],
        "search": search or None,
        "page": _int(args, "page", 1, 1, INT_MAX),
        "per_page": _int(args, "per_page", 25, 1, PER_PAGE_MAX),
    }


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return jsonify(openapi.document())


@bp.get("/cases")
@token_required
def list_cases() -> Any:
    filters = _case_filters(request.args)
    listing = queries.case_list(get_db(), api_user_id(), today=_today(), **filters)
    return jsonify(shapes.case_list(listing))


@bp.get("/cases/<reference>")
@token_required
def read_case(reference: str) -> Any:
    reference = _reference(reference)
    page = queries.case_page(get_db(), reference, api_user_id(), _today())
    # Audited as the case page is: this read returns the child's name.
    queries.record_case_read(get_db(), reference, api_user_id())
    return jsonify(shapes.case(page))


@bp.get("/cases/<reference>/deadlines")
@token_required
def case_deadlines(reference: str) -> Any:
    page = queries.case_page(get_db(), _reference(reference), api_user_id(), _today())
    return jsonify(shapes.deadlines(page.reference, page.deadlines))


@bp.post("/cases/<reference>/transitions/<trigger>")
@token_required
def fire_transition(reference: str, trigger: str) -> Any:
    reference = _reference(reference)
    version, reason = _transition_body(request.get_json(silent=True))
    case = transitions.fire(
        get_db(), reference, trigger, actor=api_user_id(), expected_version=version, reason=reason
    )
    return jsonify(shapes.fired(case))


def _transition_body(body: object) -> tuple[int, str | None]:
    """`{"version": n, "reason": "…"}`: the version the caller saw, a reason if one is asked for."""
    if not isinstance(body, dict):
        raise ApiError(400, 'Skicka JSON: {"version": ärendets version, "reason": skäl}.')
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= INT_MAX:
        raise ApiError(400, "Ange ärendets version (version) som ett heltal.")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ApiError(400, "Skälet (reason) ska vara en text.")
    return version, reason


@bp.get("/notifications")
@token_required
def list_notifications() -> Any:
    limit = _int(request.args, "limit", 20, 1, PER_PAGE_MAX) or 20
    items = notifications.list_for(get_db(), api_user_id(), limit=limit)
    unread = notifications.unread_count(get_db(), api_user_id())
    return jsonify(shapes.notifications(items, unread))
