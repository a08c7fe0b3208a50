"""When a deadline falls due and when each of its reminders fires: pure date arithmetic.

Deadlines are dates counted in Europe/Stockholm with Swedish holidays; reminders fire at
07:00 local time on working days, so a reminder never arrives on a Sunday or at night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from vastbas.calendar import (
    add_working_days,
    deadline_after,
    is_working_day,
    local_to_utc,
    next_working_day,
    subtract_period,
)
from vastbas.workflow import DeadlineDef

REMINDER_TIME = time(7, 0)


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder of a deadline: which, when it fires, and to which roles."""

    index: int
    overdue: bool
    fire_on: date
    fire_at: datetime
    to: tuple[str, ...]


def previous_working_day(day: date) -> date:
    """The day itself if it is a working day, else the last working day before it."""
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def due_date(deadline: DeadlineDef, start: date) -> date:
    """The due date of a deadline started (or anchored) on `start`.

    A deadline that lands on a non-working day moves to the next working day; one counted
    backwards from its anchor (the invitation, 21 days before the meeting) moves to the
    working day before, since it must be done by then.
    """
    if deadline.before_anchor:
        return previous_working_day(subtract_period(start, deadline.due))
    if deadline.due.is_zero:
        return next_working_day(start)
    return deadline_after(start, deadline.due)


def plan_reminders(deadline: DeadlineDef, due_on: date) -> list[PlannedReminder]:
    """The reminders of a deadline due on `due_on`, each on a working day at 07:00."""
    planned = []
    for index, reminder in enumerate(deadline.reminders):
        if reminder.overdue:
            day = add_working_days(due_on, 1)
        else:
            assert reminder.before is not None
            day = previous_working_day(subtract_period(due_on, reminder.before))
        planned.append(
            PlannedReminder(
                index=index,
                overdue=reminder.overdue,
                fire_on=day,
                fire_at=local_to_utc(day, REMINDER_TIME),
                to=reminder.to,
            )
        )
    return planned
