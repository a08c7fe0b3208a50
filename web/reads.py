"""Every page of a case that a user reads is in the audit log, whatever page it is.

DESIGN.md, "Data and integrity": the audit log holds reads of a case's data too. One hook
for every route with a `<reference>`, so a new page of a case (a letter, a PDF, a form
that shows what was written) is audited the day it is added, without remembering to.
A page whose query audits the read itself, with details (vastbas/queries/documents.py),
is not audited twice.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request
from sqlalchemy.orm import Session

from vastbas import queries
from vastbas.models import Event
from vastbas.queries.common import READ_ACTION
from web.auth import current_user
from web.database import get_db

# The case page's switch that shows the personnummer unmasked; such a read says so.
REVEAL = ("visa", "personnummer")
AUDITED = "vastbas.case_read_audited"


@sa.event.listens_for(Session, "before_flush")
def _note_audited_reads(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(obj, Event) and obj.action == READ_ACTION for obj in session.new):
        session.info[AUDITED] = True


def init_app(app: Flask) -> None:
    @app.after_request
    def _record_case_read(response: Response) -> Response:
        reference = (request.view_args or {}).get("reference")
        if request.method != "GET" or response.status_code != 200 or reference is None:
            return response
        user = current_user()  # the API audits its own reads: its callers have no session
        if user is None or ("db" in g and g.db.info.get(AUDITED)):
            return response
        revealed = request.args.get(REVEAL[0]) == REVEAL[1]
        # If this fails the answer is an error page: no read goes unrecorded.
        queries.record_case_read(get_db(), reference, user.id, personnummer=revealed)
        return response
