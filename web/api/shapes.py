"""The JSON bodies of the API, made from the same read models the pages use.

Each function here has its schema in web/api/openapi.py; the schema test checks that
they agree. Instants are ISO 8601 with the Stockholm offset, dates are YYYY-MM-DD.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from vastbas.calendar import local_datetime
from vastbas.models import Case
from vastbas.queries import CaseList, CasePage, DeadlineItem, DeadlineView
from vastbas.services.notifications import NotificationView
from vastbas.workflow import workflow_named


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def deadline(item: DeadlineItem | DeadlineView) -> dict[str, Any]:
    return {"label": item.label, "due_on": _day(item.due_on), "overdue": item.overdue}


def case_list(listing: CaseList) -> dict[str, Any]:
    return {
        "cases": [
            {
                "reference": row.reference,
                "step": row.step_label,
                "closed": row.closed,
                "outcome": row.outcome_label,
                "unit": row.unit_name,
                "koordinatorer": list(row.koordinatorer),
                "next_deadline": deadline(row.next_deadline) if row.next_deadline else None,
                "overdue": row.overdue,
            }
            for row in listing.rows
        ],
        "total": listing.total,
        "page": listing.page,
        "pages": listing.pages,
        "per_page": listing.per_page,
    }


def case(page: CasePage) -> dict[str, Any]:
    """One case as its page shows it; the personnummer masked, as the page shows it first."""
    return {
        "reference": page.reference,
        "version": page.version,
        "workflow": page.workflow_title,
        "state": page.state,
        "step": page.step_label,
        "closed": page.closed,
        "outcome": page.outcome_label,
        "period": page.period,
        "child_name": page.child_name,
        "personnummer": page.personnummer,
        "unit": page.unit_name,
        "my_roles": list(page.my_roles),
        "roles": [
            {"role": r.role, "label": r.label, "name": r.person_name, "since": _instant(r.since)}
            for r in page.roles
        ],
        "deadlines": [deadline(d) for d in page.deadlines],
        "transitions": [
            {
                "trigger": t.info.trigger,
                "label": t.info.label,
                "ready": t.ready,
                "missing": list(t.missing),
                "requires_reason": t.info.requires_reason,
            }
            for t in page.transitions
        ],
        "meetings": [
            {
                "id": m.id,
                "kind": m.kind_label,
                "starts_at": _instant(m.starts_at),
                "held": m.held_at is not None,
            }
            for m in page.meetings
        ],
    }


def deadlines(reference: str, items: Sequence[DeadlineView]) -> dict[str, Any]:
    return {"reference": reference, "deadlines": [deadline(d) for d in items]}


def fired(case: Case) -> dict[str, Any]:
    """The case after a transition: where it is now and the version to send next time."""
    workflow = workflow_named(case.workflow)
    return {
        "reference": case.reference,
        "state": case.state,
        "step": workflow.state(case.state).label,
        "closed": workflow.is_final(case.state),
        "outcome": workflow.outcomes.get(case.outcome) if case.outcome else None,
        "version": case.version,
    }


def notifications(items: Sequence[NotificationView], unread: int) -> dict[str, Any]:
    return {
        "unread": unread,
        "notifications": [
            {
                "id": n.id,
                "subject": n.subject,
                "created_at": _instant(local_datetime(n.created_at)),
                "read": n.read,
                "case_reference": n.case_reference,
            }
            for n in items
        ],
    }
