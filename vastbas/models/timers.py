"""Durable deadlines, their reminder timers and the notification outbox.

Timers are rows written in the same transaction as the change that causes them; the
scheduler only triggers the sweep that claims due rows, so nothing is lost when a
process dies and nothing fires twice.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vastbas.models.base import Base


class CaseDeadline(Base):
    """A deadline running on a case: from the workflow's deadline table, due on a date."""

    __tablename__ = "case_deadlines"
    __table_args__ = (sa.Index("ix_case_deadlines_case_open", "case_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(40))
    # What the deadline is about when it is not the case itself: a meeting or an action.
    subject_kind: Mapped[str | None] = mapped_column(sa.String(20))
    subject_id: Mapped[int | None]
    period: Mapped[int]
    due_on: Mapped[date]
    started_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # met: done in time or late; cancelled: the step was left another way.
    closed_as: Mapped[str | None] = mapped_column(sa.String(12))
    overdue_since: Mapped[date | None]

    timers: Mapped[list[Timer]] = relationship(
        back_populates="deadline", order_by="Timer.fire_at", cascade="all, delete-orphan"
    )


class Timer(Base):
    """One reminder of a deadline, due at `fire_at`, addressed to roles on the case.

    Status: pending → claimed (by a sweep, with a lease) → fired; or cancelled. A claim
    whose lease has ended is taken over by the next sweep.
    """

    __tablename__ = "timers"
    __table_args__ = (
        sa.Index("ix_timers_due", "status", "fire_at"),
        sa.Index("ix_timers_deadline", "deadline_id"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    deadline_id: Mapped[int] = mapped_column(sa.ForeignKey("case_deadlines.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    reminder_index: Mapped[int]
    overdue: Mapped[bool]
    recipients: Mapped[list[str]]
    fire_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    claim_token: Mapped[str | None] = mapped_column(sa.String(36))
    claimed_until: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]

    deadline: Mapped[CaseDeadline] = relationship(back_populates="timers")


class Notification(Base):
    """A message to one person: shown in the app, and sent by e-mail through the outbox.

    `dedupe_key` is unique, so a reminder fired again (after a crash, by a second sweep)
    never makes a second message; `message_id` is fixed at creation, so a retried send
    carries the same Message-ID and a receiver can drop a duplicate.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_outbox", "status", "next_attempt_at"),
        sa.Index("ix_notifications_recipient", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    message_id: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    # Outbox: pending → sending (claimed, with a lease) → sent | failed; none: no e-mail.
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(36))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
