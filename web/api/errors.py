"""Every answer of the API that is not a success: JSON `{"error": code, "message": Swedish}`.

The app's own handlers (web/errors.py) render HTML pages; these take precedence inside
the API blueprint, and a URL under /api/v1 that matches no route (404, 405) is answered
here too, before the app's page handlers see it.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect

from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken, VastbasError
from web.database import database_unavailable
from web.errors import RETRY_AFTER_S, logged_path

log = logging.getLogger(__name__)

REALM = 'Bearer realm="vastbas"'
MESSAGES = {
    400: ("bad_request", "Begäran kunde inte tolkas."),
    401: ("unauthorized", "Ange en giltig API-nyckel: Authorization: Bearer <nyckel>."),
    404: ("not_found", "Det finns inget här, eller så har du inte tillgång till det."),
    405: ("method_not_allowed", "Metoden är inte tillåten för den här adressen."),
    413: ("too_large", "Det du skickade var för stort."),
    415: ("unsupported_media_type", "Skicka JSON (Content-Type: application/json)."),
    500: ("server_error", "Ett oväntat fel inträffade. Försök igen om en stund."),
    503: ("unavailable", "Databasen går inte att nå. Försök igen om en stund."),
}
DOMAIN = (
    (NotFound, 404, "not_found"),
    (NotAllowed, 403, "forbidden"),
    (Conflict, 409, "conflict"),
    (RuleBroken, 400, "rule_broken"),
    (InvalidInput, 400, "invalid_input"),
)


class ApiError(Exception):
    """A refusal made in the API layer itself (bad parameters, no token)."""

    def __init__(self, status: int, message: str | None = None, **extra: Any) -> None:
        super().__init__(status)
        self.status = status
        self.message = message or MESSAGES[status][1]
        self.extra = extra


def error_response(status: int, message: str | None = None, **extra: Any) -> Response:
    """The JSON error; a 401 says how to authenticate (RFC 6750), naming a bad token as such."""
    invalid_token = extra.pop("invalid_token", False)
    code = MESSAGES.get(status, ("error", ""))[0]
    response = jsonify(error=code, message=message or MESSAGES[status][1], **extra)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = REALM + (
            ', error="invalid_token"' if invalid_token else ""
        )
    return response


def register(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, **exc.extra)

    @bp.errorhandler(VastbasError)
    def _domain(exc: VastbasError) -> Response:
        status, code = next((s, c) for kind, s, c in DOMAIN if isinstance(exc, kind))
        body: dict[str, Any] = {"error": code, "message": exc.message}
        if isinstance(exc, RuleBroken) and exc.reasons:
            body["reasons"] = exc.reasons
        if isinstance(exc, InvalidInput) and exc.fields:
            body["fields"] = exc.fields
        if isinstance(exc, Conflict) and exc.current_version is not None:
            body["current_version"] = exc.current_version
        response = jsonify(body)
        response.status_code = status
        return response

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _http_error(exc)

    @bp.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if database_unavailable(exc):
            log.warning("database unavailable: %s on %s", type(exc).__name__, logged_path())
            response = error_response(503)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        # Type, path and stack only: an exception's text can quote a child's data.
        stack = "".join(traceback.format_tb(exc.__traceback__))
        log.error("unexpected %s on %s\n%s", type(exc).__name__, logged_path(), stack)
        return error_response(500)

    @bp.before_app_request
    def _unknown_api_url() -> Response | None:
        """A URL under the API's prefix that no route matches gets a JSON answer, not a page."""
        routing = request.routing_exception
        if routing is None or not request.path.startswith(f"{bp.url_prefix}/"):
            return None
        if isinstance(routing, RequestRedirect):
            return None
        if isinstance(routing, HTTPException):
            return _http_error(routing)
        return error_response(404)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code if exc.code in MESSAGES else 400
    response = error_response(status)
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response
