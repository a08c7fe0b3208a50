"""Printed documents of a case: the handlingsplan and the archive copy of a closed case, as PDF.

Whoever sees the case page may download them; anyone else gets the same 404 as for an
unknown case. The files carry the child's name inside, so the filename carries only the
case reference, and every download is a read in the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request

from vastbas import clock
from vastbas.calendar import local_date
from vastbas.pdf.archive import archive_pdf
from vastbas.pdf.plan import plan_pdf
from vastbas.queries.documents import archive_document, plan_document
from web.auth import login_required, user_id
from web.database import get_db

bp = Blueprint("documents", __name__)


@bp.get("/cases/<reference>/handlingsplan.pdf")
@login_required
def plan(reference: str) -> Any:
    """The latest handlingsplan, or version N with ?version=N."""
    document = plan_document(
        get_db(), reference, user_id(), local_date(clock.now()), _version_asked()
    )
    filename = f"{document.reference}-handlingsplan-v{document.plan.version}.pdf"
    return _attachment(plan_pdf(document), filename)


@bp.get("/cases/<reference>/arkiv.pdf")
@login_required
def archive(reference: str) -> Any:
    """The archive copy of a closed case; an open case answers 400 with why."""
    document = archive_document(get_db(), reference, user_id())
    return _attachment(archive_pdf(document), f"{document.reference}-arkiv.pdf")


def _version_asked() -> int | None:
    raw = request.args.get("version")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        abort(404)
    return int(raw)


def _attachment(data: bytes, filename: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
