"""Security headers on every answer: a strict CSP, no framing, no referrer; no NUL bytes in;
no query strings or feed secrets in the request log of `vastbas serve`."""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, request

from vastbas.errors import InvalidInput

HEADERS = {
    # No inline script or style anywhere: everything comes from /static.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


NUL_REFUSED = "Texten innehåller otillåtna tecken. Ta bort dem och försök igen."
# A query string can hold a search for a child's name (/cases?sok=…), and the calendar
# feed's URL is its password (/kalender/<secret>.ics): werkzeug logs neither (gunicorn's
# access log is configured the same way in web/gunicorn_conf.py).
QUERY = re.compile(r"\?[^\s\"]*")
FEED_SECRET = re.compile(r"/kalender/[^/\s\"]+")


class _PrivateRequestLog(logging.Filter):
    """werkzeug's request line without its query string, and a feed's secret masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                FEED_SECRET.sub("/kalender/***", QUERY.sub("", arg))
                if isinstance(arg, str)
                else arg
                for arg in record.args
            )
        return True


PRIVATE_REQUEST_LOG = _PrivateRequestLog()


def init_app(app: Flask) -> None:
    logging.getLogger("werkzeug").addFilter(PRIVATE_REQUEST_LOG)

    @app.before_request
    def _no_nul_bytes() -> None:
        # Nobody types a NUL byte, and PostgreSQL refuses it in any text, also in a query's
        # parameters (a 500 from a login or a search); so it is refused at the door.
        pairs = list(request.args.items(multi=True))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            pairs += request.form.items(multi=True)
        sent = [request.path, *(text for pair in pairs for text in pair)]
        if any("\x00" in text for text in sent):
            raise InvalidInput(NUL_REFUSED)

    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
