"""Committed workflow transitions per second, and their ratio to raw SQL writing the same rows.

The transition is `family_accepts` (step 3 → 4) on generated cases in `offer`, fired by
each case's koordinator 1: the real service (permission, guard, optimistic lock), one
session and one committed transaction per case as a web request has, writing the case,
its audit event and two deadlines with three reminder timers. The baseline writes the
same rows (UPDATE cases, INSERT events, INSERT case_deadlines … RETURNING id, INSERT
timers) through the bare driver, one transaction per case, on the other half of the
`offer` cases of the same database; the deadline dates are computed once beforehand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json

from bench.bulk import _sqlite_date, _sqlite_instant
from bench.common import Figures, Scale, percentile, say
from bench.databases import Database
from vastbas import clock
from vastbas.calendar import local_date
from vastbas.db import session_factory
from vastbas.deadlines import due_date, plan_reminders
from vastbas.enums import CaseRole
from vastbas.models import Assignment, Case, CaseDeadline, Event, Timer
from vastbas.services import transitions
from vastbas.workflow import workflow_named

TRIGGER, FROM_STATE, TO_STATE = "family_accepts", "offer", "pre_meeting"
TARGET_PER_S = 1000
TARGET_RATIO = 0.5


@dataclass(frozen=True)
class Target:
    """A case to move: its id, reference, version and the koordinator who moves it."""

    case_id: int
    reference: str
    version: int
    actor: int


def run(database: Database, scale: Scale, figures: Figures) -> float:
    """Ours on half the `offer` cases, the raw baseline on as many others; ours per second."""
    targets = _offer_cases(database.engine)
    half = min(len(targets) // 2, scale.transitions)
    if half == 0:
        raise RuntimeError("no cases in offer to move")
    say(f"  transitions: {half:,} through the service, {half:,} in raw SQL")
    workflow_named("vastbas")  # loaded once per process, as in the app
    cpu = time.process_time()
    ours_s, durations = _ours(database.engine, targets[:half])
    ours_cpu = time.process_time() - cpu
    cpu = time.process_time()
    raw_s = _raw(database, targets[half : 2 * half])
    raw_cpu = time.process_time() - cpu
    _check(database.engine, targets[: 2 * half])
    ours_rate, raw_rate = half / ours_s, half / raw_s
    figures.emit("transitions_per_s", round(ours_rate, 1), "1/s", TARGET_PER_S)
    figures.emit("raw_sql_transitions_per_s", round(raw_rate, 1), "1/s")
    figures.emit("transitions_ratio_raw_sql", round(ours_rate / raw_rate, 3), "ratio", TARGET_RATIO)
    figures.emit("ms_per_transition_p50", round(percentile(durations, 50) * 1000, 2), "ms")
    figures.emit("ms_per_transition_p95", round(percentile(durations, 95) * 1000, 2), "ms")
    figures.emit("cpu_ms_per_transition", round(ours_cpu / half * 1000, 2), "ms")
    figures.emit("raw_sql_cpu_ms_per_transition", round(raw_cpu / half * 1000, 3), "ms")
    return ours_rate


def _offer_cases(engine: sa.Engine) -> list[Target]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(Case.id, Case.reference, Case.version, Assignment.person_id)
            .join(Assignment, Assignment.case_id == Case.id)
            .where(
                Case.state == FROM_STATE,
                Assignment.role == CaseRole.KOORDINATOR_1,
                Assignment.ended_at.is_(None),
            )
            .order_by(Case.id)
        ).all()
    return [Target(*row) for row in rows]


def _ours(engine: sa.Engine, targets: list[Target]) -> tuple[float, list[float]]:
    """Fire the trigger on every case through the service; wall seconds and each call's."""
    sessions = session_factory(engine)
    durations = []
    started = time.perf_counter()
    for target in targets:
        begun = time.perf_counter()
        with sessions() as db:
            transitions.fire(
                db, target.reference, TRIGGER, actor=target.actor, expected_version=target.version
            )
        durations.append(time.perf_counter() - begun)
    return time.perf_counter() - started, durations


@dataclass(frozen=True)
class _Driver:
    """The baseline's parameter mark and value conversions for one driver."""

    mark: str
    begin: str | None
    instant: Callable[[datetime], Any]
    day: Callable[[Any], Any]
    json: Callable[[Any], Any]
    flag: Callable[[bool], Any]


SQLITE = _Driver("?", "BEGIN IMMEDIATE", _sqlite_instant, _sqlite_date, json.dumps, int)
POSTGRES = _Driver("%s", None, lambda at: at, lambda d: d, Json, bool)


def _raw(database: Database, targets: list[Target]) -> float:
    """Write the same rows in plain SQL, one transaction per case; wall seconds."""
    driver = SQLITE if database.backend == "sqlite" else POSTGRES
    workflow = workflow_named("vastbas")
    today = local_date(clock.now())
    plans = []
    for name in workflow.transition(TRIGGER).starts:  # type: ignore[union-attr]
        due_on = due_date(workflow.deadlines[name], today)
        plans.append((name, due_on, plan_reminders(workflow.deadlines[name], due_on)))
    m = driver.mark
    update = (
        f"UPDATE cases SET state={m}, stage_seq=stage_seq+1, state_entered_at={m}, "
        f"last_activity_at={m}, version=version+1 WHERE id={m} AND version={m}"
    )
    event = (
        'INSERT INTO events (case_id, actor_id, at, action, "before", "after") '
        f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})"
    )
    deadline = (
        "INSERT INTO case_deadlines (case_id, name, period, due_on, started_at) "
        f"VALUES ({m}, {m}, {m}, {m}, {m}) RETURNING id"
    )
    timer = (
        "INSERT INTO timers (deadline_id, case_id, reminder_index, overdue, recipients, "
        f"fire_at, status) VALUES ({m}, {m}, {m}, {m}, {m}, {m}, 'pending')"
    )
    before = {"state": FROM_STATE, "period": 1, "outcome": None}
    after = {"state": TO_STATE, "period": 1, "outcome": None}
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        started = time.perf_counter()
        for target in targets:
            at = driver.instant(clock.now())
            if driver.begin:
                cursor.execute(driver.begin)
            cursor.execute(update, (TO_STATE, at, at, target.case_id, target.version))
            if cursor.rowcount != 1:
                raise RuntimeError(f"{target.reference} was not at version {target.version}")
            row = (target.case_id, target.actor, at, TRIGGER, driver.json(before))
            cursor.execute(event, (*row, driver.json(after)))
            for name, due_on, reminders in plans:
                cursor.execute(deadline, (target.case_id, name, 1, driver.day(due_on), at))
                deadline_id = cursor.fetchone()[0]
                cursor.executemany(
                    timer,
                    [
                        (deadline_id, target.case_id, r.index, driver.flag(r.overdue))
                        + (driver.json(list(r.to)), driver.instant(r.fire_at))
                        for r in reminders
                    ],
                )
            raw.commit()
        took = time.perf_counter() - started
        cursor.close()
    return took


def _check(engine: sa.Engine, targets: list[Target]) -> None:
    """Both paths must leave the same rows: every case moved, its event, deadlines, timers."""
    ids = [t.case_id for t in targets]
    with engine.connect() as connection:

        def count(model: Any, *where: Any) -> int:
            query = sa.select(sa.func.count()).select_from(model).where(*where)
            return int(connection.scalar(query) or 0)

        moved = count(Case, Case.id.in_(ids), Case.state == TO_STATE)
        events = count(Event, Event.case_id.in_(ids), Event.action == TRIGGER)
        names = workflow_named("vastbas").transition(TRIGGER).starts  # type: ignore[union-attr]
        deadlines = count(CaseDeadline, CaseDeadline.case_id.in_(ids), CaseDeadline.name.in_(names))
        timers = count(
            Timer, Timer.case_id.in_(ids), Timer.deadline_id.in_(
                sa.select(CaseDeadline.id).where(CaseDeadline.name.in_(names))
            )
        )  # fmt: skip
    n = len(ids)
    if (moved, events, deadlines) != (n, n, 2 * n) or timers != 3 * n:
        raise RuntimeError(f"{n} cases: moved {moved}, events {events}, {deadlines}, {timers}")
