"""What the API tests share: a case in network meeting 2, its people and their tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from builders import case_at, municipality
from sqlalchemy.orm import Session

from vastbas.enums import CaseRole
from vastbas.models import Person
from vastbas.services import accounts, tokens


def use_cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo passwords hashed with the cheapest argon2 settings (call before the build)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", cheap)


@dataclass(frozen=True)
class World:
    """One case (in network_meeting_2) and, per role, the person id and an API token."""

    reference: str
    child_name: str
    personnummer: str
    ids: dict[str, int]
    usernames: dict[str, str]
    tokens: dict[str, str]

    def bearer(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def build_world(db: Session) -> World:
    people = municipality(db)
    walker = case_at(db, people, "network_meeting_2")
    case = walker.case
    assert case.unit is not None and case.unit.rektor_id is not None
    on_case = {a.person_id for a in case.assignments}
    outsider = next(
        p
        for p in reversed(people.koordinatorer)
        if p.id not in on_case and p.unit_id != case.unit_id
    )
    ids = {
        "samordnare": people.samordnare.id,
        "admin": people.admin.id,
        "k1": walker.holder(CaseRole.KOORDINATOR_1),
        "rektor": case.unit.rektor_id,
        "outsider": outsider.id,
    }
    world = World(
        reference=case.reference,
        child_name=case.child_name,
        personnummer=case.child_personnummer,
        ids=ids,
        usernames={role: username(db, pid) for role, pid in ids.items()},
        tokens={
            role: tokens.create_token(db, actor=pid, name="Test", kind="api").secret
            for role, pid in ids.items()
        },
    )
    db.commit()
    return world


def username(db: Session, person_id: int) -> str:
    person = db.get(Person, person_id)
    assert person is not None and person.username is not None
    return person.username
