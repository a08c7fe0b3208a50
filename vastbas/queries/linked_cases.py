"""Other cases of the same child, for "Andra ärenden för samma barn" on the case page."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from vastbas.models import Case, Person
from vastbas.services.base import can_see, roles_on
from vastbas.workflow import workflow_named


@dataclass(frozen=True)
class LinkedCase:
    """Another case of the same child: which process, where it stands, where to open it."""

    reference: str
    process_label: str
    step_label: str
    closed: bool


def linked_cases(db: Session, case: Case, person: Person) -> tuple[LinkedCase, ...]:
    """The child's other cases (same personnummer) that this person may see, oldest first.

    A case the person may not see is left out without a trace: no count, no hint, so the
    page never tells that the child has a case elsewhere. Gallring blanks the personnummer,
    so a thinned case links to nothing.
    """
    if not case.child_personnummer:
        return ()
    others = db.scalars(
        sa.select(Case)
        .where(Case.child_personnummer == case.child_personnummer, Case.id != case.id)
        .options(joinedload(Case.unit), selectinload(Case.assignments))
        .order_by(Case.created_at, Case.id)
    ).all()
    found = []
    for other in others:
        if not can_see(roles_on(other, person)):
            continue
        workflow = workflow_named(other.workflow)
        state = workflow.state(other.state)
        found.append(LinkedCase(other.reference, workflow.title, state.label, state.final))
    return tuple(found)
