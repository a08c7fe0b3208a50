"""The calendar feed: /kalender/<secret>.ics, for Outlook and other calendar apps.

A calendar server fetches it without a session, so the secret in the URL is the only
key: an unknown or revoked one is a plain 404. What the feed may say is decided in
vastbas/calendar_feed.py (reference, kind, time and a link; nothing about the child).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for

from vastbas import calendar_feed, clock
from vastbas.errors import NotAllowed, NotFound
from vastbas.models import TokenKind
from vastbas.services import tokens
from web.database import get_db

bp = Blueprint("feed", __name__)


@bp.get("/kalender/<secret>.ics")
def calendar(secret: str) -> Any:
    try:
        person_id = tokens.authenticate(get_db(), secret, TokenKind.CALENDAR)
    except NotAllowed:
        raise NotFound("Kalendern finns inte.") from None
    now = clock.now()
    feed = calendar_feed.feed_of(get_db(), person_id, now)
    body = calendar_feed.feed_calendar(
        feed, lambda reference: url_for("cases.case_page", reference=reference, _external=True), now
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="vastbas.ics"'},
    )
