"""Builders that make cases through the real services, as users would (STYLE.md, 8)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vastbas import demo


def municipality(db: Session) -> demo.People:
    """The demo municipality: units, rektorer, EHT, 30 koordinatorer, samordnare, admin."""
    return demo.build_municipality(db)


def case_at(db: Session, people: demo.People, state: str, n: int = 1, unit: int = 0) -> demo.Walker:
    """A new case for fictional child n, walked through the services until it is in `state`.

    Returns the Walker: `.reference`, `.case` (fresh from the database), `.holder(role)`,
    and one method per step that does what the step needs and leaves it.
    """
    walker = demo.Walker(db, people, demo.register(db, people, n, people.units[unit]).reference)
    demo.walk_to(walker, state)
    return walker
