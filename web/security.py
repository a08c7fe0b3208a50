"""Security headers on every answer: a strict CSP, no framing, no referrer; no NUL bytes in."""

from __future__ import annotations

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


def init_app(app: Flask) -> None:
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
