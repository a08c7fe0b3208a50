"""Warnings shown when a meeting is booked: pure rules on dates, no database, no clock.

A booking is never refused for being late (the family's time matters more than the
routine), but the koordinator is told what the booking breaks, in Swedish, so the
invitation can go out by another way or the meeting can be moved.
"""

from __future__ import annotations

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
    network_meeting_1_due: date | None,
) -> list[str]:
    """What a meeting booked for `starts_on` breaks, as sentences for the booking form.

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
    if (
        kind == MeetingKind.NETWORK_MEETING_1
        and network_meeting_1_due is not None
        and starts_on > network_meeting_1_due
    ):
        # 001: the first network meeting within 30 days of the family's yes.
        warnings.append(
            f"Mötet hamnar efter 30-dagarsgränsen ({swedish_date(network_meeting_1_due)})."
        )
    return warnings
