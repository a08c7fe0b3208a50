"""Administration: user accounts and their system roles, units with rektor and EHT, the pool.

Every change is one transaction by an admin, with an audit event (before/after). The
reads at the end give the admin pages plain rows, in a fixed number of queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from vastbas import clock
from vastbas.enums import Organisation, Profession, SystemRole, UnitKind
from vastbas.errors import InvalidInput, NotAllowed, NotFound
from vastbas.models import Person, PersonRole, Unit
from vastbas.services.assignments import open_caseloads
from vastbas.services.base import load_actor, parse_choice, record_event, service

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USERNAME_TAKEN = "Användarnamnet är upptaget. Välj ett annat."
UNIT_NAME_TAKEN = "Det finns redan en enhet med det namnet. Välj ett annat namn."


def require_admin(db: Session, actor: int) -> Person:
    """The acting admin; anyone else is refused."""
    person = load_actor(db, actor)
    if not person.has_role(SystemRole.ADMIN):
        raise NotAllowed("Bara en administratör kan göra detta.")
    return person


def _user(db: Session, person_id: int) -> Person:
    person = db.get(Person, person_id)
    if person is None or not person.has_login:
        raise NotFound("Användaren finns inte.")
    return person


@dataclass(frozen=True)
class UserDetails:
    """What an admin types about a user (the username only when creating)."""

    name: str
    email: str
    organisation: Organisation | str
    profession: Profession | str
    unit_id: int | None = None
    phone: str | None = None
    roles: Sequence[SystemRole | str] = ()


def _checked_details(db: Session, details: UserDetails, fields: dict[str, str]) -> dict[str, Any]:
    """The details as model values; every problem goes into `fields`, by form field."""
    values: dict[str, Any] = {}
    values["name"] = (details.name or "").strip()
    if not values["name"]:
        fields["name"] = "Ange personens namn."
    values["email"] = (details.email or "").strip()
    if not EMAIL.fullmatch(values["email"]):
        fields["email"] = "Ange en e-postadress, till exempel namn@kommun.se."
    values["phone"] = (details.phone or "").strip() or None
    for key, enum_class, message in (
        ("organisation", Organisation, "Välj organisation."),
        ("profession", Profession, "Välj yrke."),
    ):
        try:
            values[key] = parse_choice(enum_class, getattr(details, key), key, message)
        except InvalidInput as exc:
            fields.update(exc.fields)
    values["unit_id"] = details.unit_id
    if details.unit_id is not None and db.get(Unit, details.unit_id) is None:
        fields["unit_id"] = "Enheten finns inte. Välj en annan enhet."
    try:
        values["roles"] = sorted(
            {parse_choice(SystemRole, r, "roles", "Okänd systemroll.") for r in details.roles}
        )
    except InvalidInput as exc:
        fields.update(exc.fields)
    return values


def _snapshot(person: Person) -> dict[str, object]:
    """A user's details for the audit log (staff data only; never a child's)."""
    return {
        "name": person.name,
        "email": person.email,
        "organisation": person.organisation.value,
        "profession": person.profession.value,
        "unit_id": person.unit_id,
        "roles": sorted(r.role.value for r in person.system_roles),
    }


def _set_roles(person: Person, roles: Iterable[SystemRole]) -> None:
    wanted = set(roles)
    person.system_roles[:] = [r for r in person.system_roles if r.role in wanted]
    held = {r.role for r in person.system_roles}
    person.system_roles.extend(PersonRole(role=role) for role in sorted(wanted - held))


@service
def create_user(db: Session, username: str, details: UserDetails, *, actor: int) -> Person:
    """Create a user account; it can log in once an admin has set a password."""
    admin = require_admin(db, actor)
    fields: dict[str, str] = {}
    username = (username or "").strip().lower()
    if not USERNAME.fullmatch(username):
        fields["username"] = (
            "Användarnamnet ska ha 2–64 tecken: små bokstäver a–z, siffror, punkt, "
            "bindestreck eller understreck."
        )
    elif _username_taken(db, username):
        fields["username"] = USERNAME_TAKEN
    values = _checked_details(db, details, fields)
    if fields:
        raise InvalidInput("Användaren kunde inte skapas. Rätta de markerade fälten.", fields)
    roles = values.pop("roles")
    person = Person(username=username, created_at=clock.now(), **values)
    _set_roles(person, roles)
    db.add(person)
    try:
        db.flush()
    except IntegrityError:
        # Someone took the name between our check and our insert.
        raise InvalidInput(USERNAME_TAKEN, {"username": USERNAME_TAKEN}) from None
    record_event(db, None, admin, "create_user", {}, {"person": person.id, **_snapshot(person)})
    return person


def _username_taken(db: Session, username: str) -> bool:
    query = sa.select(Person.id).where(sa.func.lower(Person.username) == username)
    return db.scalar(query) is not None


@service
def update_user(db: Session, person_id: int, details: UserDetails, *, actor: int) -> Person:
    """Change a user's details and system roles."""
    admin = require_admin(db, actor)
    person = _user(db, person_id)
    fields: dict[str, str] = {}
    values = _checked_details(db, details, fields)
    roles = values.pop("roles", [])
    if person.id == admin.id and SystemRole.ADMIN not in roles:
        fields["roles"] = "Du kan inte ta bort din egen administratörsroll."
    if fields:
        raise InvalidInput("Användaren kunde inte sparas. Rätta de markerade fälten.", fields)
    before = _snapshot(person)
    for key, value in values.items():
        setattr(person, key, value)
    _set_roles(person, roles)
    record_event(db, None, admin, "update_user", before, {"person": person.id, **_snapshot(person)})
    return person


@service
def set_user_active(db: Session, person_id: int, active: bool, *, actor: int) -> Person:
    """Deactivate an account (it can no longer log in or act) or activate it again."""
    admin = require_admin(db, actor)
    person = _user(db, person_id)
    if person.id == admin.id and not active:
        raise InvalidInput("Du kan inte inaktivera ditt eget konto.")
    before = {"person": person.id, "active": person.active}
    person.active = active
    after = {"person": person.id, "active": active}
    record_event(db, None, admin, "set_user_active", before, after)
    return person


@service
def create_unit(db: Session, name: str, kind: UnitKind | str, *, actor: int) -> Unit:
    """Add a school, förskola or other unit; its rektor and EHT are set afterwards."""
    admin = require_admin(db, actor)
    fields: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        fields["name"] = "Ange enhetens namn."
    elif db.scalar(sa.select(Unit.id).where(sa.func.lower(Unit.name) == name.lower())):
        fields["name"] = UNIT_NAME_TAKEN
    try:
        kind = parse_choice(UnitKind, kind, "kind", "Välj vilken sorts enhet det är.")
    except InvalidInput as exc:
        fields.update(exc.fields)
    if fields:
        raise InvalidInput("Enheten kunde inte skapas. Rätta de markerade fälten.", fields)
    unit = Unit(name=name, kind=kind)
    db.add(unit)
    try:
        db.flush()
    except IntegrityError:
        raise InvalidInput(UNIT_NAME_TAKEN, {"name": UNIT_NAME_TAKEN}) from None
    record_event(db, None, admin, "create_unit", {}, {"unit": unit.id, "kind": unit.kind.value})
    return unit


@service
def set_unit_staff(
    db: Session, unit_id: int, *, actor: int, rektor_id: int | None, eht_ids: Sequence[int]
) -> Unit:
    """Set a unit's rektor and the members of its elevhälsoteam (EHT)."""
    admin = require_admin(db, actor)
    unit = db.get(Unit, unit_id, options=[selectinload(Unit.eht)])
    if unit is None:
        raise NotFound("Enheten finns inte.")
    fields: dict[str, str] = {}
    rektor = db.get(Person, rektor_id) if rektor_id is not None else None
    if rektor_id is not None and (rektor is None or not rektor.has_login or not rektor.active):
        # The rektor appoints the kontaktperson, so the rektor must be able to log in.
        fields["rektor_id"] = "Välj en rektor med ett aktivt användarkonto."
    wanted = set(eht_ids)
    members = db.scalars(sa.select(Person).where(Person.id.in_(wanted))).all() if wanted else []
    if len(members) != len(wanted) or not all(p.active for p in members):
        fields["eht_ids"] = "Välj bara aktiva personer till elevhälsoteamet."
    if fields:
        raise InvalidInput("Enheten kunde inte sparas. Rätta de markerade fälten.", fields)
    before = {"rektor": unit.rektor_id, "eht": sorted(p.id for p in unit.eht)}
    unit.rektor = rektor
    unit.eht = sorted(members, key=lambda p: p.name)
    after = {"unit": unit.id, "rektor": rektor_id, "eht": sorted(wanted)}
    record_event(db, None, admin, "set_unit_staff", {"unit": unit.id, **before}, after)
    return unit


@service
def add_to_pool(db: Session, person_id: int, *, actor: int) -> Person:
    """Put a trained person in the koordinator pool, active from now on."""
    admin = require_admin(db, actor)
    person = _user(db, person_id)
    if person.in_koordinator_pool:
        raise InvalidInput("Personen finns redan i koordinatorpoolen.")
    if not person.active:
        raise InvalidInput("Kontot är inaktiverat. Aktivera kontot först.")
    before = _pool_state(person)
    person.in_koordinator_pool = True
    person.pool_active = True
    record_event(db, None, admin, "add_to_pool", before, _pool_state(person))
    return person


@service
def remove_from_pool(db: Session, person_id: int, *, actor: int) -> Person:
    """Take a person out of the pool; their current cases stay theirs until reassigned."""
    admin = require_admin(db, actor)
    person = _user(db, person_id)
    if not person.in_koordinator_pool:
        raise InvalidInput("Personen finns inte i koordinatorpoolen.")
    before = _pool_state(person)
    person.in_koordinator_pool = False
    person.pool_active = False
    record_event(db, None, admin, "remove_from_pool", before, _pool_state(person))
    return person


@service
def set_pool_active(db: Session, person_id: int, active: bool, *, actor: int) -> Person:
    """Make a pool member's place active, or dormant (not suggested for new cases)."""
    admin = require_admin(db, actor)
    person = _user(db, person_id)
    if not person.in_koordinator_pool:
        raise InvalidInput("Personen finns inte i koordinatorpoolen. Lägg till personen först.")
    before = _pool_state(person)
    person.pool_active = active
    record_event(db, None, admin, "set_pool_active", before, _pool_state(person))
    return person


def _pool_state(person: Person) -> dict[str, object]:
    return {
        "person": person.id,
        "in_pool": person.in_koordinator_pool,
        "pool_active": person.pool_active,
    }


# --- reads for the admin pages ----------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    name: str
    email: str | None
    phone: str | None
    organisation: Organisation
    profession: Profession
    unit_id: int | None
    unit_name: str | None
    roles: tuple[SystemRole, ...]
    active: bool
    has_password: bool
    in_pool: bool
    pool_active: bool


@dataclass(frozen=True)
class UnitRow:
    id: int
    name: str
    kind: UnitKind
    rektor_id: int | None
    rektor_name: str | None
    eht: tuple[tuple[int, str], ...]  # (person id, name)


def _row(person: Person) -> UserRow:
    return UserRow(
        id=person.id,
        username=person.username or "",
        name=person.name,
        email=person.email,
        phone=person.phone,
        organisation=person.organisation,
        profession=person.profession,
        unit_id=person.unit_id,
        unit_name=person.unit.name if person.unit else None,
        roles=tuple(sorted(r.role for r in person.system_roles)),
        active=person.active,
        has_password=person.password_hash is not None,
        in_pool=person.in_koordinator_pool,
        pool_active=person.pool_active,
    )


def users(db: Session, *, actor: int) -> list[UserRow]:
    """Every user with a login, by name (outside contacts without login are not users)."""
    require_admin(db, actor)
    query = (
        sa.select(Person)
        .where(Person.username.is_not(None))
        .options(selectinload(Person.unit), selectinload(Person.system_roles))
        .order_by(Person.name, Person.id)
    )
    return [_row(p) for p in db.scalars(query)]


def user(db: Session, person_id: int, *, actor: int) -> UserRow:
    require_admin(db, actor)
    return _row(_user(db, person_id))


def units(db: Session, *, actor: int) -> list[UnitRow]:
    """Every unit with its rektor and EHT, by name."""
    require_admin(db, actor)
    query = (
        sa.select(Unit)
        .options(selectinload(Unit.rektor), selectinload(Unit.eht))
        .order_by(Unit.name)
    )
    return [
        UnitRow(
            id=u.id,
            name=u.name,
            kind=u.kind,
            rektor_id=u.rektor_id,
            rektor_name=u.rektor.name if u.rektor else None,
            eht=tuple((p.id, p.name) for p in u.eht),
        )
        for u in db.scalars(query)
    ]


def unit(db: Session, unit_id: int, *, actor: int) -> UnitRow:
    found = next((u for u in units(db, actor=actor) if u.id == unit_id), None)
    if found is None:
        raise NotFound("Enheten finns inte.")
    return found


def unit_staff_choices(db: Session, unit_id: int, *, actor: int) -> list[UserRow]:
    """The active users one may pick as a unit's rektor or EHT: its staff and current holders."""
    found = unit(db, unit_id, actor=actor)
    current = {found.rektor_id, *(pid for pid, _ in found.eht)}
    return [
        row
        for row in users(db, actor=actor)
        if row.active and (row.unit_id == unit_id or row.id in current)
    ]


@dataclass(frozen=True)
class PoolRow:
    user: UserRow
    open_cases: int


def pool(db: Session, *, actor: int) -> list[PoolRow]:
    """The koordinator pool with each member's open caseload."""
    members = [row for row in users(db, actor=actor) if row.in_pool]
    loads = open_caseloads(db, [row.id for row in members])
    return [PoolRow(row, loads.get(row.id, 0)) for row in members]


def pool_candidates(db: Session, *, actor: int) -> list[UserRow]:
    """Active users who are not in the pool yet."""
    return [row for row in users(db, actor=actor) if row.active and not row.in_pool]
