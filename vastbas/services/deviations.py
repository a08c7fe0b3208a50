"""Deviations (avvikelser): failures of collaboration, reported and followed up (001)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.models import Deviation
from vastbas.services.base import (
    open_case_for,
    record_event,
    required_text,
    service,
    touch,
)


@service
def register_deviation(
    db: Session, reference: str, *, actor: int, expected_version: int, description: str
) -> Deviation:
    """Report that the collaboration around a case failed somewhere."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "register_deviation")
    description = required_text(description, "Beskriv vad som inte fungerade.")
    now = clock.now()
    deviation = Deviation(description=description, reported_by_id=person.id, reported_at=now)
    case.deviations.append(deviation)
    touch(case, now)
    db.flush()
    record_event(db, case, person, "register_deviation", {}, {"deviation": deviation.id}, now=now)
    return deviation
