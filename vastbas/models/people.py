"""Units and the people who act on cases."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vastbas.enums import (
    Organisation,
    Profession,
    SystemRole,
    UnitKind,
)
from vastbas.models.base import Base

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
    failed_logins: Mapped[int] = mapped_column(default=0)
    login_blocked_until: Mapped[datetime | None]
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    last_digest_at: Mapped[datetime | None]
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
