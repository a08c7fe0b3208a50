"""In-app notifications: a person's list, and marking one as read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.errors import NotFound
from vastbas.messages import case_path
from vastbas.models import Case, Notification
from vastbas.services.base import service


@dataclass(frozen=True)
class NotificationView:
    """One line of the notification list; `link` is the case page's path, if any."""

    id: int
    subject: str
    created_at: datetime
    read: bool
    case_reference: str | None
    link: str | None


def list_for(db: Session, person_id: int, *, limit: int = 20) -> list[NotificationView]:
    """A person's notifications, unread first, then the most recent; one query."""
    n = Notification
    unread_first = sa.case((n.read_at.is_(None), 0), else_=1)
    rows = db.execute(
        sa.select(n.id, n.subject, n.created_at, n.read_at, Case.reference)
        .outerjoin(Case, Case.id == n.case_id)
        .where(n.recipient_id == person_id)
        .order_by(unread_first, n.created_at.desc(), n.id.desc())
        .limit(limit)
    ).all()
    return [
        NotificationView(
            id=row.id,
            subject=row.subject,
            created_at=row.created_at,
            read=row.read_at is not None,
            case_reference=row.reference,
            link=case_path(row.reference) if row.reference else None,
        )
        for row in rows
    ]


def unread_count(db: Session, person_id: int) -> int:
    """How many of a person's notifications are unread, for a badge."""
    n = Notification
    return (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(n)
            .where(n.recipient_id == person_id, n.read_at.is_(None))
        )
        or 0
    )


@service
def mark_read(db: Session, person_id: int, notification_id: int) -> None:
    """Mark one of the person's own notifications as read; someone else's is not found."""
    n = Notification
    notification = db.scalar(
        sa.select(n).where(n.id == notification_id, n.recipient_id == person_id)
    )
    if notification is None:
        raise NotFound("Meddelandet finns inte.")
    if notification.read_at is None:
        notification.read_at = clock.now()
