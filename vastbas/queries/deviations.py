"""Read models of the deviations (avvikelser) pages: the samordnare's list and one deviation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from vastbas.calendar import local_date
from vastbas.enums import DeviationStatus
from vastbas.errors import NotAllowed, NotFound
from vastbas.labels import label
from vastbas.models import Case, Deviation, Person
from vastbas.queries.common import step_choices
from vastbas.services.base import is_samordnare, load_actor
from vastbas.services.deviations import seen_token

LIST_LIMIT = 200
# The list's filter: "oppna" (not yet åtgärdad, the default), one status, or "alla".
OPEN = "oppna"
ALL = "alla"
FILTERS = (
    (OPEN, "Ej åtgärdade"),
    *((status.value, label(status)) for status in DeviationStatus),
    (ALL, "Alla"),
)


@dataclass(frozen=True)
class DeviationRow:
    """A deviation as the samordnare sees it; `seen` goes back with a follow-up."""

    id: int
    reference: str | None
    step_label: str
    reported_on: date
    reported_by: str | None
    description: str
    status: DeviationStatus
    status_label: str
    follow_up: str | None
    seen: str


@dataclass(frozen=True)
class DeviationList:
    rows: tuple[DeviationRow, ...]
    status: str
    counts: dict[str, int]
    more: bool  # more rows than LIST_LIMIT match: the newest are shown


def deviation_list(db: Session, person_id: int, *, status: str = OPEN) -> DeviationList:
    """Deviations of every case, newest first, filtered by status; for the samordnare."""
    _require_samordnare(db, person_id)
    if status not in dict(FILTERS):
        status = OPEN
    query = _rows_query()
    if status == OPEN:
        query = query.where(Deviation.status != DeviationStatus.ATGARDAD)
    elif status != ALL:
        query = query.where(Deviation.status == DeviationStatus(status))
    rows = db.execute(
        query.order_by(Deviation.reported_at.desc(), Deviation.id.desc()).limit(LIST_LIMIT + 1)
    ).all()
    counts = {
        DeviationStatus(value).value: count
        for value, count in db.execute(
            sa.select(Deviation.status, sa.func.count()).group_by(Deviation.status)
        )
    }
    return DeviationList(
        rows=tuple(_row(row) for row in rows[:LIST_LIMIT]),
        status=status,
        counts={s.value: counts.get(s.value, 0) for s in DeviationStatus},
        more=len(rows) > LIST_LIMIT,
    )


def deviation_for_follow_up(db: Session, person_id: int, deviation_id: int) -> DeviationRow:
    """One deviation, for the samordnare's follow-up form."""
    _require_samordnare(db, person_id)
    row = db.execute(_rows_query().where(Deviation.id == deviation_id)).one_or_none()
    if row is None:
        raise NotFound("Avvikelsen finns inte.")
    return _row(row)


def _require_samordnare(db: Session, person_id: int) -> None:
    if not is_samordnare(load_actor(db, person_id)):
        raise NotAllowed("Avvikelserna följs upp av samordnaren.")


@cache
def _step_labels() -> dict[str, str]:
    return {choice.value: choice.label for choice in step_choices()}


def _rows_query() -> sa.Select:
    reporter = aliased(Person)
    return (
        sa.select(Deviation, Case.reference, Case.state, reporter.name)
        .outerjoin(Case, Case.id == Deviation.case_id)
        .outerjoin(reporter, reporter.id == Deviation.reported_by_id)
    )


def _row(row: sa.Row) -> DeviationRow:
    deviation, reference, state, reporter = row
    return DeviationRow(
        id=deviation.id,
        reference=reference,
        step_label=_step_labels().get(state, state or ""),
        reported_on=local_date(deviation.reported_at),
        reported_by=reporter,
        description=deviation.description,
        status=deviation.status,
        status_label=label(deviation.status),
        follow_up=deviation.follow_up,
        seen=seen_token(deviation.status, deviation.follow_up),
    )
