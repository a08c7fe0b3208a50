"""Domain exceptions and HTTP errors become friendly Swedish pages; no stack traces."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken
from web.database import database_unavailable

log = logging.getLogger(__name__)
STATUS = {NotFound: 404, NotAllowed: 403, Conflict: 409, RuleBroken: 400, InvalidInput: 400}
# Seconds a client (or a load balancer) should wait before asking again after a 503.
RETRY_AFTER_S = 5


def error_page(status: int, message: str | None = None, reasons: list[str] | None = None) -> Any:
    return (
        render_template("errors/error.html", status=status, message=message, reasons=reasons),
        status,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    @app.errorhandler(NotAllowed)
    @app.errorhandler(Conflict)
    @app.errorhandler(RuleBroken)
    @app.errorhandler(InvalidInput)
    def _domain(exc: Any) -> Any:
        status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
        # A NotFound message names only what the user asked for; NotAllowed never leaks more.
        return error_page(status, exc.message, getattr(exc, "reasons", None))

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> Any:
        return error_page(400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        return error_page(status if status in (400, 403, 404, 405, 409, 413, 500, 503) else 400)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        # Every database error lands here, whatever SQLAlchemy or the driver called it.
        if database_unavailable(exc):
            return database_down(exc)
        # Type, path and stack only: an exception's text can quote a child's data.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unexpected %s on %s\n%s", type(exc).__name__, logged_path(), stack)
        return error_page(500)


def logged_path() -> str:
    """The route, not the URL, for a log line: a URL can carry a calendar feed's secret."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(ingen route)"


def database_down(exc: Exception) -> Any:
    """503 with the Swedish page, built without touching the database."""
    log.warning("database unavailable: %s on %s", type(exc).__name__, logged_path())
    # The page header shows the logged-in user; loading them would need the database.
    g.user = None
    page, status = error_page(503)
    return page, status, {"Retry-After": str(RETRY_AFTER_S)}
