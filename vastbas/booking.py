"""Warnings shown when a meeting is booked: pure rules on dates, no database, no clock.

A booking is never refused for being late (the family's time matters more than the
routine), but the koordinator is told what the booking breaks, in Swedish, so the
invitation can go out by another way or the meeting can be moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from vastbas.deadlines import due_date
from vastbas.enums import MeetingKind
from vastbas.messages import swedish_date
from vastbas.workflow import Workflow

INVITATION = "invitation"


def booking_warnings(
    *,
    workflow: Workflow,
    kind: MeetingKind,
    starts_on: date,
    today: date,
    open_due: Mapping[str, date],
) -> list[str]:
    """What a meeting booked for `starts_on` breaks, as sentences for the booking form.

    `open_due` holds the case's open deadlines by name, with their due dates; those the
    workflow file says a meeting of this kind meets (`meeting:`) warn when it comes later.
    A meeting in the past (recorded afterwards) gets no warning: nothing can be done
    about it any more.
    """
    if starts_on < today:
        return []
    warnings = []
    invitation = workflow.deadlines.get(INVITATION)
    if invitation is not None:
        # 001: "Kallelse ska gå ut tre veckor innan"; the last day is counted as the
        # reminder timers count it, so the warning and the reminders agree.
        last_day = due_date(invitation, starts_on)
        if last_day < today:
            warnings.append(
                "Kallelsen kan inte längre skickas tre veckor före mötet "
                f"(senast {swedish_date(last_day)})."
            )
    for name, deadline in workflow.deadlines.items():
        due = open_due.get(name)
        if deadline.meeting == kind and due is not None and starts_on > due:
            # 001: the meeting within 30 days (of the family's yes / of the decision).
            warnings.append(f"{deadline.late_booking} ({swedish_date(due)}).")
    return warnings
