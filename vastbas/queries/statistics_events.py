"""The statistics read from the audit log, in one pass: decisions, closings, lead times.

Only the events' kinds (their triggers), cases and times are read, never their payloads,
so gallring, which blanks the payloads, changes nothing here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas.models import Case, Event
from vastbas.workflow import Workflow


@dataclass(frozen=True)
class Scope:
    """The filters in SQL: the period as UTC instants [start, end), None where open; a unit;
    a workflow (None: every process)."""

    start: datetime | None
    end: datetime | None
    unit_id: int | None
    workflow: str | None = None

    def cases(self) -> list[sa.ColumnElement[bool]]:
        """The unit and the process, on the cases table."""
        where = [Case.unit_id == self.unit_id] if self.unit_id is not None else []
        if self.workflow is not None:
            where.append(Case.workflow == self.workflow)
        return where

    def case_events(self) -> list[sa.ColumnElement[bool]]:
        """The same for audit events: a set of case ids, cheaper than a join per event."""
        if not self.cases():
            return []
        return [Event.case_id.in_(sa.select(Case.id).where(*self.cases()))]

    def during(self, column: sa.ColumnElement[datetime]) -> list[sa.ColumnElement[bool]]:
        """The unit and process, and the instant `column` in the period."""
        return self.cases() + self.period(column)

    def period(self, column: sa.ColumnElement[datetime]) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.start is not None:
            where.append(column >= self.start)
        if self.end is not None:
            where.append(column < self.end)
        return where


def events_pass(
    db: Session, scope: Scope, workflow: Workflow, counted_triggers: list[str]
) -> tuple[dict[str, int], dict[str, list[float]]]:
    """One pass over the audit events of one workflow's cases: how often each counted
    trigger fired in the period, and the days of each of its lead times that ended in it.

    A lead time ends at a stop and starts at the latest start of the same case before it
    (a running maximum per case), so each period of a case is measured on its own. The
    events are read once (they are the biggest table) and only for the triggers named.
    """
    specs = {
        spec.key: (
            _triggers(workflow, spec.starts, starting=True),
            _triggers(workflow, spec.stops, starting=False),
        )
        for spec in workflow.lead_times
    }
    earlier = {"partition_by": Event.case_id, "order_by": Event.id, "rows": (None, -1)}
    wanted = {*counted_triggers, *(t for pair in specs.values() for ts in pair for t in ts)}
    flow = (
        sa.select(
            Event.action,
            Event.at,
            *(
                sa.func.max(sa.case((Event.action.in_(starts), Event.at)))
                .over(**earlier)
                .label(key)
                for key, (starts, _) in specs.items()
            ),
        )
        .where(Event.action.in_(sorted(wanted)), *scope.case_events())
        .cte("flow")
    )
    in_period = scope.period(flow.c.at)
    parts = [
        sa.select(sa.literal("count"), flow.c.action, sa.func.count())
        .where(flow.c.action.in_(counted_triggers), *in_period)
        .group_by(flow.c.action)
    ]
    for key, (_, stops) in specs.items():
        parts.append(
            sa.select(
                sa.literal(key),
                sa.cast(sa.null(), sa.String),
                _days_between(db, flow.c[key], flow.c.at),
            ).where(flow.c.action.in_(stops), flow.c[key].is_not(None), *in_period)
        )
    counted: dict[str, int] = {}
    days: dict[str, list[float]] = {key: [] for key in specs}
    for part, action, value in db.execute(sa.union_all(*parts)):
        if part == "count":
            counted[action] = int(value)
        else:
            days[part].append(float(value))
    return counted, days


def _triggers(workflow: Workflow, deadline: str, *, starting: bool) -> list[str]:
    """Every trigger (the initial one too) that starts, or else stops, the named deadline."""
    found = set()
    if starting and deadline in workflow.initial.starts:
        found.add(workflow.initial.trigger)
    for t in workflow.transitions:
        if deadline in (t.starts if starting else t.stops):
            found.add(t.trigger)
    return sorted(found)


def _days_between(
    db: Session, earlier: sa.ColumnElement, later: sa.ColumnElement
) -> sa.ColumnElement:
    """Days (with fraction) from one instant to another, in SQL; UTC, so a DST day is 23 h."""
    if db.get_bind().dialect.name == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.extract("epoch", later - earlier) / 86400.0


def nearest_rank(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value that `share` of the values reach.

    Chosen over interpolation because it reads plainly: "90 % took at most this long".
    """
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]
