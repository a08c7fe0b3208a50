"""The append-only audit log and the checks every flush makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from vastbas.models.base import Base, TextRefused


class Event(Base):
    """The append-only audit log: who did what to which case, with before and after."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("persons.id"))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(sa.String(60))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)


LONG_TEXT_MAX = 20_000


@sa.event.listens_for(Session, "before_flush")
def _events_are_append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, Event) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("the audit log is append-only")


@sa.event.listens_for(Session, "before_flush")
def _texts_fit_their_columns(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse text no database should store: too long for its column, or with NUL bytes.

    One check for every text column, so no form field can be forgotten; PostgreSQL
    would otherwise fail with a DataError and SQLite would silently store it.
    """
    for obj in (*session.new, *session.dirty):
        for column in sa.inspect(obj).mapper.columns:
            if not isinstance(column.type, sa.String):
                continue
            value = getattr(obj, column.key, None)
            if not isinstance(value, str):
                continue
            limit = column.type.length or LONG_TEXT_MAX
            if "\x00" in value:
                raise TextRefused(column.key, "Texten innehåller otillåtna tecken.")
            if len(value) > limit:
                raise TextRefused(column.key, f"Texten är för lång (högst {limit} tecken).")
