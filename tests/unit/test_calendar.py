"""Working days, deadlines and Stockholm time, checked against hand-looked-up dates."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vastbas import calendar
from vastbas.calendar import (
    STOCKHOLM,
    Period,
    add_period,
    add_working_days,
    deadline_after,
    holiday_name,
    is_working_day,
    local_date,
    local_datetime,
    local_to_utc,
    next_working_day,
    subtract_period,
    working_days_between,
)

# Swedish public holidays and the non-working eves, with the weekday each falls on.
HOLIDAYS = [
    (date(2026, 1, 1), "Nyårsdagen"),  # Thursday
    (date(2026, 1, 6), "Trettondedag jul"),  # Tuesday
    (date(2026, 4, 3), "Långfredagen"),  # Easter Sunday is 5 April 2026
    (date(2026, 4, 6), "Annandag påsk"),  # Monday
    (date(2026, 5, 1), "Första maj"),  # Friday
    (date(2026, 5, 14), "Kristi himmelsfärdsdag"),  # Thursday, Easter + 39 days
    (date(2026, 6, 6), "Sveriges nationaldag"),  # Saturday
    (date(2026, 6, 19), "Midsommarafton"),  # Friday between 19 and 25 June
    (date(2026, 6, 20), "Midsommardagen"),  # Saturday
    (date(2026, 10, 31), "Alla helgons dag"),  # Saturday between 31 October and 6 November
    (date(2026, 12, 24), "Julafton"),  # Thursday
    (date(2026, 12, 25), "Juldagen"),  # Friday
    (date(2026, 12, 26), "Annandag jul"),  # Saturday
    (date(2026, 12, 31), "Nyårsafton"),  # Thursday
    (date(2027, 1, 1), "Nyårsdagen"),  # Friday
    (date(2027, 1, 6), "Trettondedag jul"),  # Wednesday
    (date(2027, 3, 26), "Långfredagen"),  # Easter Sunday is 28 March 2027
    (date(2027, 3, 29), "Annandag påsk"),  # Monday
    (date(2027, 5, 1), "Första maj"),  # Saturday
    (date(2027, 5, 6), "Kristi himmelsfärdsdag"),  # Thursday
    (date(2027, 6, 6), "Sveriges nationaldag"),  # Sunday
    (date(2027, 6, 25), "Midsommarafton"),  # Friday
    (date(2027, 6, 26), "Midsommardagen"),  # Saturday
    (date(2027, 11, 6), "Alla helgons dag"),  # Saturday
    (date(2027, 12, 24), "Julafton"),  # Friday
    (date(2027, 12, 25), "Juldagen"),  # Saturday
    (date(2027, 12, 26), "Annandag jul"),  # Sunday
    (date(2027, 12, 31), "Nyårsafton"),  # Friday
]


# Working days and holidays


def test_an_ordinary_weekday_is_a_working_day():
    assert is_working_day(date(2026, 3, 11))  # Wednesday
    assert holiday_name(date(2026, 3, 11)) is None


def test_saturday_and_sunday_are_not_working_days():
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday


def test_an_ordinary_sunday_has_no_holiday_name():
    # holidays.Sweden would call every Sunday "Söndag"; we build it without that.
    assert holiday_name(date(2026, 3, 8)) is None


@pytest.mark.parametrize(("day", "name"), HOLIDAYS, ids=[d.isoformat() for d, _ in HOLIDAYS])
def test_holidays_and_eves_are_not_working_days(day, name):
    assert not is_working_day(day)
    assert holiday_name(day) == name


def test_the_days_around_christmas_that_are_working_days():
    assert is_working_day(date(2026, 12, 23))  # Wednesday before julafton
    assert is_working_day(date(2026, 12, 28))  # Monday between the holidays
    assert is_working_day(date(2026, 12, 30))  # Wednesday before nyårsafton


def test_annandag_pingst_is_a_working_day():
    # Removed as a public holiday in 2005 when nationaldagen was added.
    assert is_working_day(date(2026, 5, 25))


def test_the_eves_stay_non_working_even_if_the_holidays_package_drops_them(monkeypatch):
    calendar._non_working_dates.cache_clear()
    monkeypatch.setattr(calendar.holidays, "Sweden", lambda **kwargs: {})
    try:
        assert not is_working_day(date(2026, 6, 19))
        assert not is_working_day(date(2026, 12, 24))
        assert not is_working_day(date(2026, 12, 31))
        assert holiday_name(date(2027, 6, 25)) == "Midsommarafton"
        assert is_working_day(date(2026, 12, 25))  # only the eves are ours
    finally:
        calendar._non_working_dates.cache_clear()


def test_a_datetime_is_refused_where_a_date_is_meant():
    with pytest.raises(TypeError, match="local_date"):
        is_working_day(datetime(2026, 12, 24, 9, 0, tzinfo=UTC))


# Counting working days


def test_next_working_day_keeps_a_working_day():
    assert next_working_day(date(2026, 3, 11)) == date(2026, 3, 11)


def test_next_working_day_skips_good_friday_to_easter_monday():
    assert next_working_day(date(2026, 4, 3)) == date(2026, 4, 7)


def test_five_working_days_across_easter_2027():
    # Wed 24 March: Thu 25 (1), Fri 26–Mon 29 off, Tue 30 (2), Wed 31 (3), Thu 1 (4), Fri 2 (5).
    assert add_working_days(date(2027, 3, 24), 5) == date(2027, 4, 2)


def test_five_working_days_across_christmas_2026():
    # Tue 22 Dec: Wed 23 (1), 24–27 off, Mon 28 (2), Tue 29 (3), Wed 30 (4), 31 Dec–3 Jan off,
    # Mon 4 Jan (5).
    assert add_working_days(date(2026, 12, 22), 5) == date(2027, 1, 4)


def test_zero_working_days_is_the_next_working_day():
    assert add_working_days(date(2026, 3, 11), 0) == date(2026, 3, 11)
    assert add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 9)


def test_one_working_day_from_a_saturday_is_monday():
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)


def test_one_working_day_before_the_day_after_easter_monday():
    # Tue 7 April 2026: Mon 6 and Fri 3 are holidays, so the reminder goes on Thu 2 April.
    assert add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 2)


def test_one_working_day_before_a_monday_holiday():
    # Första maj 2028 is a Monday; the working day before it is Friday 28 April.
    assert add_working_days(date(2028, 5, 1), -1) == date(2028, 4, 28)
    assert add_working_days(date(2028, 5, 2), -1) == date(2028, 4, 28)


def test_working_days_between_over_christmas_and_new_year():
    # After Fri 18 Dec 2026 up to Fri 8 Jan 2027: 21, 22, 23, 28, 29, 30 Dec, 4, 5, 7, 8 Jan.
    assert working_days_between(date(2026, 12, 18), date(2027, 1, 8)) == 10
    assert working_days_between(date(2027, 1, 8), date(2026, 12, 18)) == -10


def test_working_days_between_a_day_and_itself_is_zero():
    assert working_days_between(date(2026, 3, 11), date(2026, 3, 11)) == 0


# Periods


def test_period_from_mapping():
    assert Period.from_mapping({"weeks": 2}) == Period(weeks=2)
    assert Period.from_mapping({"months": 1, "days": 3}) == Period(days=3, months=1)
    assert Period.from_mapping({"working_days": 5}) == Period(working_days=5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "at least one"),
        ({"day": 1}, "unknown period field"),
        ({"weeks": 2, "fortnights": 1}, "fortnights"),
        ({"days": "3"}, "integer"),
        ({"days": 1.5}, "integer"),
        ({"days": True}, "integer"),
        ({"weeks": -1}, "negative"),
        ({"working_days": 5, "days": 2}, "cannot mix"),
        ({"working_days": 0, "months": 1}, "cannot mix"),
    ],
)
def test_period_from_mapping_refuses_bad_input(data, message):
    with pytest.raises(ValueError, match=message):
        Period.from_mapping(data)


def test_period_constructor_validates_too():
    with pytest.raises(ValueError, match="negative"):
        Period(days=-3)
    with pytest.raises(ValueError, match="cannot mix"):
        Period(working_days=1, weeks=1)


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (Period(working_days=5), "5 arbetsdagar"),
        (Period(working_days=1), "1 arbetsdag"),
        (Period(days=14), "14 dagar"),
        (Period(days=1), "1 dag"),
        (Period(weeks=4), "4 veckor"),
        (Period(weeks=1), "1 vecka"),
        (Period(months=1), "1 månad"),
        (Period(months=6), "6 månader"),
        (Period(months=1, days=2), "1 månad och 2 dagar"),
        (Period(months=2, weeks=1, days=1), "2 månader, 1 vecka och 1 dag"),
        (Period(), "0 dagar"),
    ],
)
def test_period_in_swedish(period, text):
    assert str(period) == text


def test_is_zero():
    assert Period().is_zero
    assert Period.from_mapping({"days": 0}).is_zero
    assert not Period(working_days=1).is_zero


def test_a_month_after_31_january_is_the_end_of_february():
    assert add_period(date(2026, 1, 31), Period(months=1)) == date(2026, 2, 28)
    assert add_period(date(2028, 1, 31), Period(months=1)) == date(2028, 2, 29)  # leap year
    assert add_period(date(2026, 8, 31), Period(months=1)) == date(2026, 9, 30)


def test_a_month_before_31_march_is_the_end_of_february():
    assert subtract_period(date(2026, 3, 31), Period(months=1)) == date(2026, 2, 28)


def test_add_period_is_raw_and_may_land_on_a_weekend():
    assert add_period(date(2026, 1, 31), Period(months=1)) == date(2026, 2, 28)  # Saturday


def test_add_period_with_weeks_days_and_working_days():
    assert add_period(date(2026, 3, 2), Period(weeks=2)) == date(2026, 3, 16)
    assert add_period(date(2026, 3, 2), Period(days=21)) == date(2026, 3, 23)
    assert add_period(date(2027, 3, 24), Period(working_days=5)) == date(2027, 4, 2)
    assert add_period(date(2026, 3, 7), Period()) == date(2026, 3, 7)


def test_subtract_period_for_reminders_and_invitations():
    assert subtract_period(date(2026, 3, 16), Period(weeks=2)) == date(2026, 3, 2)
    assert subtract_period(date(2026, 4, 7), Period(working_days=1)) == date(2026, 4, 2)
    assert subtract_period(date(2026, 9, 14), Period(days=21)) == date(2026, 8, 24)


def test_a_deadline_on_midsommarafton_moves_to_the_monday_after():
    # Fri 5 June + 2 weeks = Fri 19 June 2026, midsommarafton; Sat 20 is midsommardagen.
    assert deadline_after(date(2026, 6, 5), Period(weeks=2)) == date(2026, 6, 22)
    assert deadline_after(date(2027, 6, 11), Period(days=14)) == date(2027, 6, 28)


def test_a_deadline_on_a_saturday_moves_to_monday():
    assert deadline_after(date(2026, 1, 31), Period(months=1)) == date(2026, 3, 2)


def test_a_deadline_on_a_working_day_stays():
    assert deadline_after(date(2026, 3, 2), Period(weeks=2)) == date(2026, 3, 16)


# Stockholm time


def test_local_date_crosses_midnight_in_summer():
    # 22:30 UTC is 00:30 the next day in CEST (UTC+2).
    assert local_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)
    assert local_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)) == date(2026, 6, 30)


def test_local_date_crosses_midnight_in_winter():
    # 23:30 UTC is 00:30 the next day in CET (UTC+1).
    assert local_date(datetime(2026, 1, 15, 23, 30, tzinfo=UTC)) == date(2026, 1, 16)
    assert local_date(datetime(2026, 1, 15, 22, 59, tzinfo=UTC)) == date(2026, 1, 15)


def test_local_datetime_is_in_stockholm():
    shown = local_datetime(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    assert shown.tzinfo is STOCKHOLM
    assert (shown.hour, shown.minute) == (13, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 1, 15, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        local_datetime(datetime(2026, 1, 15, 12, 0))


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 3, 28), 6),  # Saturday before spring forward: CET, UTC+1
        (date(2026, 3, 29), 5),  # clocks go forward at 02:00 that night: CEST, UTC+2
        (date(2026, 10, 24), 5),  # Saturday before fall back: still CEST
        (date(2026, 10, 25), 6),  # clocks go back at 03:00 that night: CET again
    ],
)
def test_seven_in_the_morning_stays_seven_across_daylight_saving(day, utc_hour):
    instant = local_to_utc(day, time(7, 0))
    assert instant == datetime(day.year, day.month, day.day, utc_hour, 0, tzinfo=UTC)
    assert instant.utcoffset() == timedelta(0)
    assert local_datetime(instant).time() == time(7, 0)


def test_local_to_utc_just_around_the_spring_change():
    assert local_to_utc(date(2026, 3, 29), time(1, 30)) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert local_to_utc(date(2026, 3, 29), time(3, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_local_to_utc_refuses_an_aware_time():
    with pytest.raises(ValueError, match="wall-clock"):
        local_to_utc(date(2026, 3, 29), time(7, 0, tzinfo=UTC))


# Properties

days_2024_to_2030 = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(start=days_2024_to_2030, n=st.integers(min_value=1, max_value=60))
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_later(start, n):
    end = add_working_days(start, n)
    assert is_working_day(end)
    assert working_days_between(start, end) == n


@given(end=days_2024_to_2030, n=st.integers(min_value=1, max_value=60))
def test_going_back_n_working_days_from_a_working_day_is_the_inverse(end, n):
    end = next_working_day(end)
    start = add_working_days(end, -n)
    assert is_working_day(start)
    assert working_days_between(start, end) == n
    assert add_working_days(start, n) == end


@given(start=days_2024_to_2030, days=st.integers(min_value=0, max_value=120))
def test_a_deadline_is_a_working_day_on_or_after_the_raw_date(start, days):
    raw = add_period(start, Period(days=days))
    deadline = deadline_after(start, Period(days=days))
    assert is_working_day(deadline)
    assert raw <= deadline < raw + timedelta(days=7)
