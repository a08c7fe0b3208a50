"""SQLAlchemy models: the case, the people around it and everything recorded on it.

Instants are stored as UTC (naive on SQLite, aware on PostgreSQL, always aware in
Python); deadlines and due dates are plain dates.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
)
from sqlalchemy.types import TypeDecorator

from vastbas.enums import (
    ActionStatus,
    CaseRole,
    DeviationStatus,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
    Profession,
    SystemRole,
    UnitKind,
)
from vastbas.errors import InvalidInput


class TextRefused(InvalidInput):
    """A text that cannot be stored; `fields` names the column."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, {field: message})


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use vastbas.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        enum.Enum: sa.Enum(enum.Enum, native_enum=False, length=32, values_callable=_enum_values),
        dict[str, Any]: sa.JSON(),
        list[str]: sa.JSON(),
    }
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


eht_members = sa.Table(
    "eht_members",
    Base.metadata,
    sa.Column("unit_id", sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(Base):
    """A school, förskola or social-services unit; a school has a rektor and an EHT."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[UnitKind]
    rektor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("persons.id", use_alter=True, ondelete="SET NULL")
    )

    rektor: Mapped[Person | None] = relationship(foreign_keys=[rektor_id], post_update=True)
    eht: Mapped[list[Person]] = relationship(secondary=eht_members, order_by="Person.name")


class Person(Base):
    """Anyone who acts on a case: staff with a login, or an outside contact without one."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    organisation: Mapped[Organisation]
    profession: Mapped[Profession]
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id", ondelete="SET NULL"))
    in_koordinator_pool: Mapped[bool] = mapped_column(default=False)
    pool_active: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    system_roles: Mapped[list[PersonRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def has_login(self) -> bool:
        return self.username is not None

    def has_role(self, role: SystemRole) -> bool:
        return any(r.role == role for r in self.system_roles)


class PersonRole(Base):
    """A system role (samordnare, admin) held by a person."""

    __tablename__ = "person_roles"

    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[SystemRole] = mapped_column(primary_key=True)


class ReferenceCounter(Base):
    """The last number used for case references of one prefix and year."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Case(Base):
    """One child's case in one workflow; `version` guards against lost updates."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_state_unit", "state", "unit_id"),)

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

    registered_by_id: Mapped[int] = mapped_column(sa.ForeignKey("persons.id"))
    created_at: Mapped[datetime]
    state_entered_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

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
