"""Domain exceptions and HTTP errors become friendly Swedish pages; no stack traces."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import sqlalchemy as sa
from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken

log = logging.getLogger(__name__)
STATUS = {NotFound: 404, NotAllowed: 403, Conflict: 409, RuleBroken: 400, InvalidInput: 400}


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
        return error_page(status if status in (400, 403, 404, 405, 409, 413) else 400)

    @app.errorhandler(sa.exc.OperationalError)
    def _database_down(exc: sa.exc.OperationalError) -> Any:
        log.warning("database unavailable: %s on %s", type(exc).__name__, request.path)
        return error_page(503)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        # Type, path and stack only: an exception's text can quote a child's data.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unexpected %s on %s\n%s", type(exc).__name__, request.path, stack)
        return error_page(500)
