"""The child's network map: who is around the child, and who is on the guest list."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.enums import ParticipantKind
from vastbas.errors import NotFound
from vastbas.models import Case, NetworkMapEntry
from vastbas.services.base import (
    load_person,
    open_case_for,
    parse_offered,
    record_event,
    required_text,
    service,
    touch,
    workflow_of,
)


@service
def add_network_entry(
    db: Session,
    reference: str,
    *,
    actor: int,
    expected_version: int,
    kind: ParticipantKind | str,
    name: str,
    relation: str | None = None,
    person_id: int | None = None,
    on_guest_list: bool = False,
) -> NetworkMapEntry:
    """Add someone to the network map (004, step 4: "nätverkskarta")."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "edit_network_map")
    kind = parse_offered(
        ParticipantKind,
        kind,
        workflow_of(case).participant_kinds,
        "kind",
        "Välj vilken sorts deltagare det är.",
    )
    name = required_text(name, "Ange ett namn.")
    if person_id is not None:
        load_person(db, person_id)
    now = clock.now()
    entry = NetworkMapEntry(
        kind=kind,
        name=name,
        relation=(relation or "").strip() or None,
        person_id=person_id,
        on_guest_list=on_guest_list,
    )
    case.network.append(entry)
    touch(case, now)
    db.flush()
    after = {"entry": entry.id, "kind": kind.value, "on_guest_list": on_guest_list}
    record_event(db, case, person, "add_network_entry", {}, after, now=now)
    return entry


@service
def remove_network_entry(
    db: Session, reference: str, entry_id: int, *, actor: int, expected_version: int
) -> Case:
    """Take someone off the network map; the entry stays in the history."""
    case, person, _ = open_case_for(db, reference, actor, expected_version, "edit_network_map")
    entry = _entry(case, entry_id)
    now = clock.now()
    entry.removed_at = now
    touch(case, now)
    record_event(db, case, person, "remove_network_entry", {"entry": entry.id}, {}, now=now)
    return case


def _entry(case: Case, entry_id: int) -> NetworkMapEntry:
    entry = next((e for e in case.network if e.id == entry_id and e.removed_at is None), None)
    if entry is None:
        raise NotFound("Personen finns inte på nätverkskartan.")
    return entry
