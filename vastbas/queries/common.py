"""What the page read models share: constants, small views, labels, audited reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from vastbas import clock
from vastbas import workflow as workflow_files
from vastbas.calendar import local_datetime
from vastbas.enums import (
    CaseRole,
    UnitKind,
)
from vastbas.errors import NotFound
from vastbas.labels import label
from vastbas.models import (
    Case,
    Event,
    Unit,
)
from vastbas.services.base import can_see, load_actor, roles_on
from vastbas.workflow import Workflow, workflow_named

UPCOMING_DAYS = 7
RECENT_DAYS = 14
TIMELINE_LIMIT = 200
KOORDINATORER = (CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2)
# Reads are audited but are not part of what happened to the case.
READ_ACTION = "read_case"


@dataclass(frozen=True)
class Choice:
    """One option of a select or filter: the value sent and the Swedish label shown."""

    value: str
    label: str


@dataclass(frozen=True)
class DeadlineItem:
    """An open deadline: on which case, what, by when, and whether it is already late."""

    reference: str
    label: str
    due_on: date
    overdue: bool


# --- Mina ärenden -----------------------------------------------------------------------


def unit_choices(db: Session) -> tuple[Choice, ...]:
    """The schools and förskolor a child can belong to, by name."""
    rows = db.execute(
        sa.select(Unit.id, Unit.name)
        .where(Unit.kind.in_([UnitKind.SKOLA, UnitKind.FORSKOLA]))
        .order_by(Unit.name)
    )
    return tuple(Choice(str(unit_id), name) for unit_id, name in rows)


def step_choices(process: str | None = None) -> tuple[Choice, ...]:
    """Every state of every workflow (or of the one named), in step order, once each."""
    seen: dict[str, str] = {}
    for workflow in all_workflows():
        if process is not None and workflow.name != process:
            continue
        for state in (*workflow.steps, *(s for s in workflow.states if s.final)):
            seen.setdefault(state.name, state.label)
    return tuple(Choice(name, text) for name, text in seen.items())


def process_choices() -> tuple[Choice, ...]:
    """Every loaded workflow by its title, for a process filter."""
    return tuple(Choice(w.name, w.title) for w in all_workflows())


@cache
def all_workflows() -> tuple[Workflow, ...]:
    """Every workflow file in the workflow directory, by file name."""
    paths = sorted(workflow_files.WORKFLOW_DIR.glob("*.yaml"))
    return tuple(workflow_named(path.stem) for path in paths)


def visible_case(db: Session, reference: str, person_id: int) -> Case | None:
    """The case with what its roles need (unit, assignments), if the person may see it."""
    case = db.scalars(
        sa.select(Case)
        .where(Case.reference == reference)
        .options(joinedload(Case.unit), selectinload(Case.assignments))
    ).one_or_none()
    if case is None or not can_see(roles_on(case, load_actor(db, person_id))):
        return None
    return case


def may_see(db: Session, reference: str, person_id: int) -> bool:
    """Whether the person may see the case (for where to go after registering it)."""
    return visible_case(db, reference, person_id) is not None


def record_case_read(
    db: Session, reference: str, person_id: int, *, personnummer: bool = False
) -> None:
    """Append a read of the case's sensitive data to the audit log; the case is not changed.

    DESIGN.md, "Data and integrity": the audit log holds case reads too. Call it after the
    read was allowed; the case version stays, so nobody's open form goes stale.
    """
    case_id = db.scalar(sa.select(Case.id).where(Case.reference == reference))
    if case_id is None:
        raise NotFound(f"Ärendet {reference} finns inte.")
    after = {"personnummer": True} if personnummer else {}
    db.add(
        Event(case_id=case_id, actor_id=person_id, at=clock.now(), action=READ_ACTION, after=after)
    )
    db.commit()


def _deadline_label(workflow: Workflow, name: str) -> str:
    definition = workflow.deadlines.get(name)
    return definition.label if definition is not None else name


def _role_label(workflow: Workflow, role: str) -> str:
    definition = workflow.roles.get(role)
    return definition.label if definition is not None else role


def _local(instant: datetime | None) -> datetime | None:
    return local_datetime(instant) if instant is not None else None


def _label_of(kind: type[StrEnum], value: Any) -> str:
    try:
        return label(kind(value))
    except ValueError:
        return str(value)


# --- The case page ----------------------------------------------------------------------
