"""Statistics for the samordnare: a few aggregate queries over structural data only.

Everything here reads what gallring keeps (cases' state, unit, outcome, initiator kind and
timestamps; audit events' kinds and times; assignments; deadlines) and never a name,
personnummer or free text, so the figures are the same before and after thinning.

Two kinds of table: *snapshots* (open cases per step, overdue deadlines, caseload) show
today and follow only the unit and process filters; *flows* (requests, decisions, lead
times, outcomes) count what happened between `since` and `until` (Stockholm dates,
inclusive).

Every process is read by its own workflow file: its steps, its step-2 decisions (the
transitions that meet the deadline a new request starts) and its lead times. With no
process chosen and several loaded ("all processes"), the per-step and per-decision
tables list each process's own rows, labelled "<title>: …", one process after another;
requests, outcomes and caseload add up over all processes.
"""

from __future__ import annotations

import statistics as pystats
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vastbas import clock
from vastbas.calendar import local_date, local_to_utc
from vastbas.enums import CaseRole, InitiatorKind
from vastbas.errors import InvalidInput
from vastbas.labels import label
from vastbas.models import Assignment, Case, CaseDeadline, Person
from vastbas.queries.common import all_workflows
from vastbas.queries.statistics_events import Scope, events_pass, nearest_rank
from vastbas.workflow import LeadTimeDef, Workflow

KOORDINATOR_ROLES = (CaseRole.KOORDINATOR_1, CaseRole.KOORDINATOR_2)
# The dates a period may name: a century of months is plenty and keeps the queries sane.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class Count:
    """A row of a plain count: open cases in a step, closings with an outcome."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class OverdueCount:
    """Overdue deadlines of the open cases in one step, and how many cases have them."""

    key: str
    label: str
    deadlines: int
    cases: int


@dataclass(frozen=True)
class MonthRequests:
    """New requests in one month ("2026-03"), per initiator kind in INITIATOR_KINDS order."""

    month: str
    counts: tuple[int, ...]
    total: int


@dataclass(frozen=True)
class DecisionCount:
    decision: str
    label: str
    count: int
    share: float | None  # percent of all decisions, one decimal


@dataclass(frozen=True)
class LeadTime:
    key: str
    label: str
    count: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class Caseload:
    person_id: int
    name: str
    koordinator_1: int
    koordinator_2: int
    total: int


@dataclass(frozen=True)
class Statistics:
    """Every table of the statistics page; plain tuples, so two results compare with ==."""

    since: date | None
    until: date | None
    unit_id: int | None
    today: date
    initiator_kinds: tuple[str, ...]
    initiator_labels: tuple[str, ...]
    steps: tuple[Count, ...]
    requests: tuple[MonthRequests, ...]
    decisions: tuple[DecisionCount, ...]
    lead_times: tuple[LeadTime, ...]
    overdue: tuple[OverdueCount, ...]
    caseload: tuple[Caseload, ...]
    outcomes: tuple[Count, ...]
    process: str | None = None


def statistics(
    db: Session,
    *,
    since: date | None,
    until: date | None,
    unit_id: int | None,
    process: str | None = None,
    today: date | None = None,
) -> Statistics:
    """The statistics page's tables for a period (inclusive Stockholm dates), a unit and a
    process (a workflow's name; None for all)."""
    loaded = all_workflows()
    shown = tuple(w for w in loaded if process is None or w.name == process)
    if not shown:
        message = "Processen finns inte. Välj en i listan."
        raise InvalidInput(message, {"process": message})
    for day in (since, until):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(f"Välj datum mellan {FIRST_DAY} och {LAST_DAY}.")
    if since is not None and until is not None and since > until:
        message = "Periodens första dag ligger efter dess sista dag."
        raise InvalidInput(message, {"fran": message})
    today = today or local_date(clock.now())
    start = local_to_utc(since, time(0)) if since else None
    end = local_to_utc(until + timedelta(days=1), time(0)) if until else None
    # With one process loaded every case is its case: no filter on the process then.
    scope = Scope(start, end, unit_id, process if len(loaded) > 1 else None)
    flows = [_flows(db, Scope(start, end, unit_id, _only(w, loaded)), w) for w in shown]
    several = len(shown) > 1
    return Statistics(
        since=since,
        until=until,
        unit_id=unit_id,
        today=today,
        initiator_kinds=tuple(kind.value for kind in InitiatorKind),
        initiator_labels=tuple(label(kind) for kind in InitiatorKind),
        steps=_steps(db, scope, shown),
        requests=_requests(db, scope, since, until),
        decisions=tuple(row for f in flows for row in _named(f.decisions, f.workflow, several)),
        lead_times=tuple(row for f in flows for row in _named(f.lead_times, f.workflow, several)),
        overdue=_overdue(db, scope, today, shown),
        caseload=_caseload(db, scope),
        outcomes=_outcomes(flows),
        process=process,
    )


def _only(workflow: Workflow, loaded: tuple[Workflow, ...]) -> str | None:
    return workflow.name if len(loaded) > 1 else None


def _named(rows: tuple[Any, ...], workflow: Workflow, several: bool) -> tuple[Any, ...]:
    """Rows labelled with their process's title when several processes share a table."""
    if not several:
        return rows
    return tuple(replace(row, label=f"{workflow.title}: {row.label}") for row in rows)


def _open_states(shown: tuple[Workflow, ...]) -> list[tuple[str, str, str]]:
    """(workflow, state, "n. label") of every open step of each shown workflow, in order."""
    several = len(shown) > 1
    return [
        (w.name, s.name, f"{w.title}: {s.step}. {s.label}" if several else f"{s.step}. {s.label}")
        for w in shown
        for s in w.steps
        if not s.final
    ]


def _steps(db: Session, scope: Scope, shown: tuple[Workflow, ...]) -> tuple[Count, ...]:
    counts = {
        (workflow, state): count
        for workflow, state, count in db.execute(
            sa.select(Case.workflow, Case.state, sa.func.count())
            .where(Case.closed_at.is_(None), *scope.cases())
            .group_by(Case.workflow, Case.state)
        )
    }
    return tuple(
        Count(state, text, counts.get((workflow, state), 0))
        for workflow, state, text in _open_states(shown)
    )


def _overdue(
    db: Session, scope: Scope, today: date, shown: tuple[Workflow, ...]
) -> tuple[OverdueCount, ...]:
    """Open deadlines past their date on open cases, by the step the case is in now."""
    rows = db.execute(
        sa.select(Case.workflow, Case.state, sa.func.count(), sa.func.count(sa.distinct(Case.id)))
        .join(CaseDeadline, CaseDeadline.case_id == Case.id)
        .where(
            Case.closed_at.is_(None),
            CaseDeadline.closed_at.is_(None),
            sa.or_(CaseDeadline.overdue_since.is_not(None), CaseDeadline.due_on < today),
            *scope.cases(),
        )
        .group_by(Case.workflow, Case.state)
    ).all()
    found = {(workflow, state): (late, cases) for workflow, state, late, cases in rows}
    return tuple(
        OverdueCount(state, text, *found.get((workflow, state), (0, 0)))
        for workflow, state, text in _open_states(shown)
    )


def _next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def _months(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s."""
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def _requests(
    db: Session, scope: Scope, since: date | None, until: date | None
) -> tuple[MonthRequests, ...]:
    """New requests per Stockholm month and initiator kind, every month of the period."""
    where = scope.during(Case.created_at)
    if since is None or until is None:
        first, last = db.execute(
            sa.select(sa.func.min(Case.created_at), sa.func.max(Case.created_at)).where(*where)
        ).one()
        if first is None:
            return ()
        since = since or local_date(first)
        until = until or local_date(last)
    months = _months(since, until)
    # Stockholm months: a request belongs to the first month whose successor begins after it.
    whens = [
        (Case.created_at < local_to_utc(_next_month(month), time(0)), index)
        for index, month in enumerate(months[:-1])
    ]
    bucket = sa.case(*whens, else_=len(months) - 1) if whens else sa.literal(0)
    # Grouped outside, so PostgreSQL sees one column, not two copies of bound parameters.
    inner = sa.select(bucket.label("month"), Case.initiator_kind.label("kind")).where(*where)
    inner_sq = inner.subquery()
    counts = {
        (int(index), InitiatorKind(kind).value): count
        for index, kind, count in db.execute(
            sa.select(inner_sq.c.month, inner_sq.c.kind, sa.func.count()).group_by(
                inner_sq.c.month, inner_sq.c.kind
            )
        )
    }
    kinds = [kind.value for kind in InitiatorKind]
    rows = []
    for index, month in enumerate(months):
        per_kind = tuple(counts.get((index, kind), 0) for kind in kinds)
        rows.append(MonthRequests(f"{month:%Y-%m}", per_kind, sum(per_kind)))
    return tuple(rows)


@dataclass(frozen=True)
class _Flows:
    """What one workflow's events say: its decisions, lead times and closings."""

    workflow: Workflow
    decisions: tuple[DecisionCount, ...]
    lead_times: tuple[LeadTime, ...]
    closings: dict[str, int]  # outcome -> count


def _decision_triggers(workflow: Workflow) -> list[tuple[str, str]]:
    """(trigger, label) of the decisions on a new request: the transitions that meet the
    deadline its registration starts (Västbas step 2: a Västbas case or not)."""
    return [
        (t.trigger, workflow.outcomes.get(t.outcome or "", t.label) if t.outcome else t.label)
        for t in workflow.transitions
        if set(t.stops) & set(workflow.initial.starts)
    ]


def _flows(db: Session, scope: Scope, workflow: Workflow) -> _Flows:
    decisions = _decision_triggers(workflow)
    closing = {t.trigger: t.outcome for t in workflow.transitions if t.outcome}
    counted, lead_days = events_pass(db, scope, workflow, [t for t, _ in decisions] + [*closing])
    decided = sum(counted.get(trigger, 0) for trigger, _ in decisions)
    closings: dict[str, int] = {}
    for trigger, outcome in closing.items():
        closings[outcome] = closings.get(outcome, 0) + counted.get(trigger, 0)
    return _Flows(
        workflow,
        tuple(
            DecisionCount(
                trigger,
                text,
                counted.get(trigger, 0),
                round(100 * counted.get(trigger, 0) / decided, 1) if decided else None,
            )
            for trigger, text in decisions
        ),
        tuple(_lead_time(spec, lead_days[spec.key]) for spec in workflow.lead_times),
        closings,
    )


def _outcomes(flows: list[_Flows]) -> tuple[Count, ...]:
    """Closings by outcome, added up over the shown processes (outcomes share their keys)."""
    labels: dict[str, str] = {}
    counts: dict[str, int] = {}
    for flow in flows:
        for outcome, text in flow.workflow.outcomes.items():
            labels.setdefault(outcome, text)
            counts[outcome] = counts.get(outcome, 0) + flow.closings.get(outcome, 0)
    return tuple(Count(outcome, text, counts[outcome]) for outcome, text in labels.items())


def _lead_time(spec: LeadTimeDef, days: list[float]) -> LeadTime:
    """Median and nearest-rank 90th percentile of the lead times, in days."""
    values = sorted(days)
    return LeadTime(
        spec.key,
        spec.label,
        len(values),
        round(pystats.median(values), 1) if values else None,
        round(nearest_rank(values, 0.9), 1) if values else None,
    )


def _caseload(db: Session, scope: Scope) -> tuple[Caseload, ...]:
    """Open koordinator appointments per person: everyone active in the pool, and anyone
    else who holds one, most loaded first."""
    # Closing a case ends its appointments, so an open appointment is on an open case.
    in_unit = (
        [Assignment.case_id.in_(sa.select(Case.id).where(*scope.cases()))] if scope.cases() else []
    )
    loads: dict[int, dict[str, int]] = {}
    for person_id, role, count in db.execute(
        sa.select(Assignment.person_id, Assignment.role, sa.func.count())
        .where(Assignment.ended_at.is_(None), Assignment.role.in_(KOORDINATOR_ROLES), *in_unit)
        .group_by(Assignment.person_id, Assignment.role)
    ):
        loads.setdefault(person_id, {})[CaseRole(role).value] = count
    pool = sa.and_(Person.in_koordinator_pool, Person.pool_active, Person.active)
    people = db.execute(
        sa.select(Person.id, Person.name).where(sa.or_(pool, Person.id.in_(list(loads))))
    ).all()
    rows = []
    for person_id, name in people:
        k1, k2 = (loads.get(person_id, {}).get(role.value, 0) for role in KOORDINATOR_ROLES)
        rows.append(Caseload(person_id, name, k1, k2, k1 + k2))
    return tuple(sorted(rows, key=lambda row: (-row.total, row.name, row.person_id)))
