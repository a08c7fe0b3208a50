"""What is recorded on a case: network map, meetings, handlingsplan, follow-ups."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vastbas.enums import (
    ActionStatus,
    DeviationStatus,
    EvaluationDecision,
    FollowUpKind,
    MeetingKind,
    ParticipantKind,
)
from vastbas.models.base import Base


class NetworkMapEntry(Base):
    """A person in the child's network (private or professional); most have no login."""

    __tablename__ = "network_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ParticipantKind]
    name: Mapped[str] = mapped_column(sa.String(120))
    relation: Mapped[str | None] = mapped_column(sa.String(120))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("persons.id"), index=True)
    on_guest_list: Mapped[bool] = mapped_column(default=False)
    removed_at: Mapped[datetime | None]


class Meeting(Base):
    """A förmöte, network meeting or follow-up meeting of a case."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    period: Mapped[int]
    kind: Mapped[MeetingKind]
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    invitations_sent_at: Mapped[datetime | None]
    held_at: Mapped[datetime | None]
    minutes: Mapped[str | None] = mapped_column(sa.Text)
    booked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))

    participants: Mapped[list[MeetingParticipant]] = relationship(
        order_by="MeetingParticipant.id", cascade="all, delete-orphan"
    )


class MeetingParticipant(Base):
    """Someone invited to a meeting: attendance and their homework."""

    __tablename__ = "meeting_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    network_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("network_entries.id"))
    attended: Mapped[bool | None]
    homework: Mapped[str | None] = mapped_column(sa.Text)


class ActionPlan(Base):
    """One version of the handlingsplan; a revision is a new row, old ones stay readable."""

    __tablename__ = "action_plans"
    __table_args__ = (sa.UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    period: Mapped[int]
    stage_seq: Mapped[int]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)

    goals: Mapped[list[Goal]] = relationship(order_by="Goal.position", cascade="all, delete-orphan")
    actions: Mapped[list[Action]] = relationship(
        order_by="Action.position", cascade="all, delete-orphan"
    )


class Goal(Base):
    """A goal of a handlingsplan version."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("action_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)


class Action(Base):
    """An action (insats) of a handlingsplan version: who does what, by when."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("action_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    description: Mapped[str] = mapped_column(sa.Text)
    owner_name: Mapped[str] = mapped_column(sa.String(120))
    owner_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("persons.id"))
    due_on: Mapped[date | None]
    status: Mapped[ActionStatus] = mapped_column(default=ActionStatus.PLANNED)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class FollowUp(Base):
    """A follow-up by the kontaktperson: EHT raise, meeting or telephone."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    period: Mapped[int]
    stage_seq: Mapped[int]
    kind: Mapped[FollowUpKind]
    held_on: Mapped[date]
    notes: Mapped[str] = mapped_column(sa.Text)
    reported_to_koordinator: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    recorded_at: Mapped[datetime]


class Evaluation(Base):
    """The evaluation after six months: close, or continue with a new period."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    period: Mapped[int]
    stage_seq: Mapped[int]
    decision: Mapped[EvaluationDecision]
    notes: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    recorded_at: Mapped[datetime]


class Deviation(Base):
    """An avvikelse: a failure of collaboration, reported and followed up (001)."""

    __tablename__ = "deviations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DeviationStatus] = mapped_column(default=DeviationStatus.NY)
    follow_up: Mapped[str | None] = mapped_column(sa.Text)
    reported_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    reported_at: Mapped[datetime]
