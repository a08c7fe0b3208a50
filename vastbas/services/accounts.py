"""Accounts: checking a password at login, throttling guesses, setting a new password."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.enums import SystemRole
from vastbas.errors import InvalidInput, NotAllowed
from vastbas.models import Person
from vastbas.services.base import load_actor, load_person, record_event, service

HASHER = PasswordHasher()
MAX_FAILURES = 5
BLOCK = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
WRONG = "Fel användarnamn eller lösenord."


def hash_password(password: str) -> str:
    return HASHER.hash(password)


@service
def authenticate(db: Session, username: str, password: str) -> int:
    """The person id for a correct username and password; refuses with one Swedish message.

    After MAX_FAILURES wrong passwords in a row the account is blocked for BLOCK, and the
    message says so; an unknown username gets the same answer as a wrong password.
    """
    now = clock.now()
    # Usernames are stored in lower case (admin.create_user), so every spelling is the same
    # account, and its guesses count towards the same block.
    name = (username or "").strip().lower()
    person = db.scalar(sa.select(Person).where(Person.username == name))
    if person is None or person.password_hash is None or not person.active:
        HASHER.hash(password or "")  # the same work as a real check, so timing says nothing
        raise NotAllowed(WRONG)
    if person.login_blocked_until is not None and person.login_blocked_until > now:
        minutes = max(1, int((person.login_blocked_until - now).total_seconds() // 60) + 1)
        raise NotAllowed(f"För många misslyckade inloggningar. Försök igen om {minutes} minuter.")
    if not _verify(person.password_hash, password or ""):
        _count_failure(db, person, now)
        raise NotAllowed(WRONG)
    person.failed_logins = 0
    person.login_blocked_until = None
    if HASHER.check_needs_rehash(person.password_hash):
        person.password_hash = HASHER.hash(password)
    return person.id


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(db: Session, person: Person, now: datetime) -> None:
    person.failed_logins += 1
    if person.failed_logins >= MAX_FAILURES:
        person.login_blocked_until = now + BLOCK
        person.failed_logins = 0
    record_event(db, None, person, "login_failed", {}, {"person": person.id}, now=now)
    # The failure count must survive the refusal, so it is committed before refusing.
    db.commit()


@service
def set_password(db: Session, person_id: int, password: str, *, actor: int) -> None:
    """An admin sets a new password for a person (who may then log in with it)."""
    admin = load_actor(db, actor)
    if not admin.has_role(SystemRole.ADMIN):
        raise NotAllowed("Bara en administratör kan sätta lösenord.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        message = f"Lösenordet måste ha minst {MIN_PASSWORD_LENGTH} tecken."
        raise InvalidInput(message, {"password": message})
    person = load_person(db, person_id)
    if person.username is None:
        raise InvalidInput("Personen har inget användarnamn och kan inte logga in.")
    person.password_hash = hash_password(password)
    person.failed_logins = 0
    person.login_blocked_until = None
    record_event(db, None, admin, "set_password", {}, {"person": person.id})
