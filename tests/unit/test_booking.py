"""Warnings when a meeting is booked: invitations three weeks ahead and the 30-day rule."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vastbas.booking import booking_warnings
from vastbas.calendar import is_working_day
from vastbas.enums import MeetingKind
from vastbas.workflow import workflow_named

WORKFLOW = workflow_named("vastbas")
# The family said yes on Monday 2 March 2026: network meeting 1 is due Wednesday 1 April.
TODAY = date(2026, 3, 2)
NM1_DUE = date(2026, 4, 1)


def warnings(
    starts_on: date,
    *,
    kind: MeetingKind = MeetingKind.NETWORK_MEETING_1,
    today: date = TODAY,
    nm1_due: date | None = NM1_DUE,
) -> list[str]:
    return booking_warnings(
        workflow=WORKFLOW,
        kind=kind,
        starts_on=starts_on,
        today=today,
        open_due={} if nm1_due is None else {"network_meeting_1": nm1_due},
    )


def test_a_meeting_booked_in_good_time_gets_no_warning() -> None:
    # Tuesday 31 March: invitations due Tuesday 10 March, inside the 30 days.
    assert warnings(date(2026, 3, 31)) == []


def test_a_meeting_too_soon_for_a_three_week_invitation_is_warned_about() -> None:
    # Monday 16 March minus 21 days is Monday 23 February, a week ago.
    assert warnings(date(2026, 3, 16)) == [
        "Kallelsen kan inte längre skickas tre veckor före mötet (senast måndag 23 februari 2026)."
    ]


def test_the_last_day_to_invite_is_still_in_time() -> None:
    # Monday 23 March minus 21 days is today.
    assert warnings(date(2026, 3, 23)) == []
    assert warnings(date(2026, 3, 23), today=TODAY + timedelta(days=1)) != []


def test_the_last_day_to_invite_moves_back_over_a_holiday() -> None:
    # Monday 27 April 2026 minus 21 days is annandag påsk; långfredagen is the day before
    # the weekend, so the invitations had to go out on skärtorsdagen, 2 April.
    assert not is_working_day(date(2026, 4, 6)) and not is_working_day(date(2026, 4, 3))
    meeting = date(2026, 4, 27)
    kind = MeetingKind.NETWORK_MEETING_2
    assert warnings(meeting, kind=kind, today=date(2026, 4, 2)) == []
    assert warnings(meeting, kind=kind, today=date(2026, 4, 3)) == [
        "Kallelsen kan inte längre skickas tre veckor före mötet (senast torsdag 2 april 2026)."
    ]


def test_network_meeting_1_after_the_30_days_is_warned_about() -> None:
    assert warnings(NM1_DUE) == []
    assert warnings(NM1_DUE + timedelta(days=1)) == [
        "Mötet hamnar efter 30-dagarsgränsen (onsdag 1 april 2026)."
    ]


@pytest.mark.parametrize(
    "kind",
    [MeetingKind.PRE_MEETING, MeetingKind.NETWORK_MEETING_2, MeetingKind.FOLLOW_UP],
)
def test_only_network_meeting_1_has_the_30_day_rule(kind: MeetingKind) -> None:
    assert warnings(date(2026, 5, 20), kind=kind) == []


def test_without_a_known_30_day_limit_there_is_no_30_day_warning() -> None:
    assert warnings(date(2026, 5, 20), nm1_due=None) == []


def test_a_meeting_both_too_soon_and_too_late_gets_both_warnings_in_order() -> None:
    found = warnings(date(2026, 4, 10), today=date(2026, 4, 1))
    assert [w.split(" ")[0] for w in found] == ["Kallelsen", "Mötet"]
    assert "(senast fredag 20 mars 2026)" in found[0]


def test_a_meeting_in_the_past_gets_no_warning() -> None:
    assert warnings(TODAY - timedelta(days=1), today=date(2026, 5, 1)) == []
    assert warnings(date(2026, 4, 30), today=date(2026, 5, 1)) == []


def test_a_meeting_today_is_not_in_the_past() -> None:
    assert len(warnings(TODAY, kind=MeetingKind.EXTRA)) == 1


@given(
    today=st.dates(date(2025, 1, 1), date(2030, 12, 31)),
    ahead=st.integers(min_value=0, max_value=120),
)
def test_the_invitation_warning_follows_three_weeks_and_the_holidays(
    today: date, ahead: int
) -> None:
    found = warnings(today + timedelta(days=ahead), kind=MeetingKind.EXTRA, today=today)
    if ahead <= 20:
        # Fewer than 21 days left: the invitation is late whatever the calendar says.
        assert len(found) == 1
    elif ahead >= 21 + 7:
        # No run of non-working days in Sweden is a week long.
        assert found == []
    elif ahead == 21 and is_working_day(today):
        assert found == []


def test_a_sip_meeting_after_its_30_days_is_warned_about_from_the_workflow_file() -> None:
    sip = workflow_named("sip")
    found = booking_warnings(
        workflow=sip,
        kind=MeetingKind.SIP_MEETING,
        starts_on=date(2026, 4, 2),
        today=TODAY,
        open_due={"sip_meeting": NM1_DUE},
    )
    assert found == ["SIP-mötet hamnar efter 30-dagarsgränsen (onsdag 1 april 2026)."]
    # The Västbas rule names another meeting kind: a SIP meeting never trips it.
    assert warnings(date(2026, 4, 2), kind=MeetingKind.SIP_MEETING) == []
