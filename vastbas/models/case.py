"""The case, its appointments and the family's consent."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vastbas.enums import (
    CaseRole,
    InitiatorKind,
)
from vastbas.models.base import Base

if TYPE_CHECKING:
    from vastbas.models.people import Person, Unit
    from vastbas.models.records import (
        ActionPlan,
        Deviation,
        Evaluation,
        FollowUp,
        Meeting,
        NetworkMapEntry,
    )


class ReferenceCounter(Base):
    """The last number used for case references of one prefix and year."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Case(Base):
    """One child's case in one workflow; `version` guards against lost updates."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_state_unit", "state", "unit_id"),
        # A rektor's cases: the start page finds them by unit, not by a scan.
        sa.Index("ix_cases_unit", "unit_id"),
        # The sweep's stalled-case check reads only open cases by their last activity.
        sa.Index(
            "ix_cases_open_activity",
            "workflow",
            "last_activity_at",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    workflow: Mapped[str] = mapped_column(sa.String(40))
    state: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str | None] = mapped_column(sa.String(40))
    outcome_reason: Mapped[str | None] = mapped_column(sa.Text)
    period: Mapped[int] = mapped_column(default=1)
    # Counts every entry into a step, so records can say "made in this step" exactly.
    stage_seq: Mapped[int] = mapped_column(default=1)
    version: Mapped[int] = mapped_column(default=1)

    child_name: Mapped[str] = mapped_column(sa.String(120))
    child_personnummer: Mapped[str] = mapped_column(sa.String(13), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    handlaggare_id: Mapped[int | None] = mapped_column(sa.ForeignKey("persons.id"))
    initiator_kind: Mapped[InitiatorKind]
    initiator_name: Mapped[str | None] = mapped_column(sa.String(120))
    background: Mapped[str] = mapped_column(sa.Text, default="")
    child_voice: Mapped[str | None] = mapped_column(sa.Text)
    problem_analysis: Mapped[str | None] = mapped_column(sa.Text)
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    # SIP (001, p. 10): placed outside the home, social services holds the coordination.
    placed_outside_home_at: Mapped[datetime | None]

    registered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    created_at: Mapped[datetime]
    state_entered_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # When gallring removed the personal data (vastbas/services/gallring.py); once only.
    gallrad_at: Mapped[datetime | None]
    # The last_activity_at the samordnare was told about as stalled (once per standstill).
    stall_reminded_for: Mapped[datetime | None]

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    handlaggare: Mapped[Person | None] = relationship(foreign_keys=[handlaggare_id])
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="case", order_by="Assignment.id", cascade="all, delete-orphan"
    )
    consents: Mapped[list[Consent]] = relationship(
        order_by="Consent.id", cascade="all, delete-orphan"
    )
    meetings: Mapped[list[Meeting]] = relationship(
        order_by="Meeting.starts_at", cascade="all, delete-orphan"
    )
    network: Mapped[list[NetworkMapEntry]] = relationship(
        order_by="NetworkMapEntry.id", cascade="all, delete-orphan"
    )
    plans: Mapped[list[ActionPlan]] = relationship(
        order_by="ActionPlan.version", cascade="all, delete-orphan"
    )
    follow_ups: Mapped[list[FollowUp]] = relationship(
        order_by="FollowUp.id", cascade="all, delete-orphan"
    )
    evaluations: Mapped[list[Evaluation]] = relationship(
        order_by="Evaluation.id", cascade="all, delete-orphan"
    )
    deviations: Mapped[list[Deviation]] = relationship(
        order_by="Deviation.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    def current(self, role: CaseRole) -> Assignment | None:
        """The active assignment of a role on this case, if any."""
        return next((a for a in self.assignments if a.role == role and a.ended_at is None), None)

    @property
    def current_plan(self) -> ActionPlan | None:
        return self.plans[-1] if self.plans else None

    @property
    def active_consent(self) -> Consent | None:
        return next((c for c in reversed(self.consents) if c.withdrawn_at is None), None)


class Assignment(Base):
    """A person in a role on a case, from when to when, and who appointed them."""

    __tablename__ = "assignments"
    __table_args__ = (sa.Index("ix_assignments_person_open", "person_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[CaseRole]
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    appointed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("persons.id"))
    trust_confirmed_by_guardian: Mapped[bool] = mapped_column(default=False)

    case: Mapped[Case] = relationship(back_populates="assignments")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    appointed_by: Mapped[Person] = relationship(foreign_keys=[appointed_by_id])
    on_behalf_of: Mapped[Person | None] = relationship(foreign_keys=[on_behalf_of_id])


class Consent(Base):
    """The family's consent to collaboration: who gave it, for which actors, until when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    given_by: Mapped[str] = mapped_column(sa.String(120))
    actors: Mapped[list[str]]
    given_on: Mapped[date]
    review_on: Mapped[date]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    recorded_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)
