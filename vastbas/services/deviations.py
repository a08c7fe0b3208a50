"""Deviations (avvikelser): failures of collaboration, reported and followed up (001).

001 (BUS Gotland, p. 10): "Identifierade brister i samverkan rapporteras i en
avvikelserapport" and are followed up; here anyone on a case reports one, and the
samordnare follows it up: ny → utreds → åtgärdad, with a written follow-up.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.enums import DeviationStatus
from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.models import Case, Deviation
from vastbas.services.base import (
    THINNED_CASE_MESSAGE,
    can_see,
    is_samordnare,
    load_actor,
    open_case_for,
    parse_choice,
    record_event,
    required_text,
    roles_on,
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


def seen_token(status: DeviationStatus, follow_up: str | None) -> str:
    """What the follower saw of a deviation, in short: a changed deviation has another token.

    A deviation has no version column; this stands in for one without a schema change.
    """
    digest = hashlib.sha256(f"{status.value}\x00{follow_up or ''}".encode())
    return digest.hexdigest()[:16]


@service
def follow_up_deviation(
    db: Session,
    deviation_id: int,
    *,
    actor: int,
    status: DeviationStatus | str,
    follow_up: str | None,
    seen: str,
) -> Deviation:
    """The samordnare's follow-up: a new status and what was found or done.

    `seen` is the `seen_token` of the deviation as the samordnare saw it; if someone has
    changed it since, the change is refused (Conflict) rather than written over theirs.
    """
    person = load_actor(db, actor)
    deviation = db.scalars(
        sa.select(Deviation).where(Deviation.id == deviation_id).with_for_update()
    ).one_or_none()
    if deviation is None:
        raise NotFound("Avvikelsen finns inte.")
    case = db.get(Case, deviation.case_id) if deviation.case_id is not None else None
    if not is_samordnare(person):
        if case is not None and not can_see(roles_on(case, person)):
            raise NotFound("Avvikelsen finns inte.")
        raise NotAllowed("Bara samordnaren följer upp avvikelser.")
    if seen_token(deviation.status, deviation.follow_up) != seen:
        raise Conflict()
    if case is not None and case.gallrad_at is not None:
        raise RuleBroken(THINNED_CASE_MESSAGE)
    new_status = parse_choice(DeviationStatus, status, "status", "Välj en status.")
    text = (follow_up or "").strip() or None
    _check_follow_up(deviation.status, new_status, text)
    if (new_status, text) == (deviation.status, deviation.follow_up):
        return deviation
    before = {"deviation": deviation.id, "status": deviation.status.value}
    after = {"deviation": deviation.id, "status": new_status.value, "follow_up": bool(text)}
    deviation.status = new_status
    deviation.follow_up = text
    # The case itself is not touched: following up is the samordnare's quality work, not
    # activity on the child's case, and nobody's open form on the case should go stale.
    record_event(db, case, person, "follow_up_deviation", before, after)
    return deviation


def _check_follow_up(old: DeviationStatus, new: DeviationStatus, text: str | None) -> None:
    if new == DeviationStatus.NY and old != DeviationStatus.NY:
        raise RuleBroken(
            "En avvikelse som har börjat utredas kan inte bli ny igen. Välj Utreds eller Åtgärdad."
        )
    if new == DeviationStatus.ATGARDAD and not text:
        message = "Skriv vad som har gjorts innan avvikelsen markeras som åtgärdad."
        raise InvalidInput(message, {"follow_up": message})
