"""Working days, deadlines and local time for a Swedish municipality.

Pure functions: nothing here reads the clock or the database. Every date comes in as an
argument, so callers pass `today` (or an instant from `vastbas.clock.now()`) explicitly.

A working day is Monday to Friday that is neither a public holiday (lag 1989:253 om allmänna
helgdagar, via the `holidays` package) nor one of the eves that Swedish municipalities treat
as non-working in practice: midsommarafton, julafton and nyårsafton.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import FR, relativedelta

STOCKHOLM: ZoneInfo = ZoneInfo("Europe/Stockholm")

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


@lru_cache(maxsize=64)
def _non_working_dates(year: int) -> dict[date, str]:
    """Map each holiday and non-working eve of one year to its Swedish name.

    Weekends are handled by weekday, so Sundays are not listed unless they are holidays.
    The returned dict is shared by the cache: callers must not mutate it.
    """
    # holidays.Sweden counts every Sunday as a holiday ("Söndag") unless told otherwise, and
    # without an explicit language it follows the process locale (C.UTF-8 gives English).
    official = holidays.Sweden(years=year, include_sundays=False, language="sv")
    names = {day: str(name) for day, name in official.items()}
    # holidays 0.84 already lists the three eves as public holidays, although the law does not;
    # add them ourselves so they stay non-working if a later release moves or drops them.
    midsommarafton = date(year, 6, 19) + relativedelta(weekday=FR)  # Friday 19–25 June
    for day, name in (
        (midsommarafton, "Midsommarafton"),
        (date(year, 12, 24), "Julafton"),
        (date(year, 12, 31), "Nyårsafton"),
    ):
        names.setdefault(day, name)
    return names


def _require_date(day: date) -> None:
    """Refuse a datetime where a calendar date is meant (they never compare equal to dates)."""
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got a datetime ({day!r}); use local_date() first")


def is_working_day(day: date) -> bool:
    """Tell whether the municipality works on this day (weekday, not a holiday or eve)."""
    _require_date(day)
    return day.weekday() < _SATURDAY and day not in _non_working_dates(day.year)


def holiday_name(day: date) -> str | None:
    """Give the Swedish name of the holiday or eve on this day, for the UI; None otherwise."""
    _require_date(day)
    return _non_working_dates(day.year).get(day)


def next_working_day(day: date) -> date:
    """Return the day itself if it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def add_working_days(start: date, n: int) -> date:
    """Count n working days from start (start itself not counted); negative n counts backwards.

    n=0 gives next_working_day(start). The result is always a working day.
    """
    if n == 0:
        return next_working_day(start)
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    day, remaining = start, abs(n)
    while remaining:
        day += step
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: date, b: date) -> int:
    """Count working days d with a < d <= b; negative (the count from b to a) if b < a."""
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        count += is_working_day(day)
        day += _ONE_DAY
    return count


_MIXING_MESSAGE = "a period cannot mix working_days with days, weeks or months"

_UNITS_SV = {
    "months": ("månad", "månader"),
    "weeks": ("vecka", "veckor"),
    "days": ("dag", "dagar"),
    "working_days": ("arbetsdag", "arbetsdagar"),
}


@dataclass(frozen=True)
class Period:
    """A length of time for deadlines and reminders, as written in the workflow file.

    Either working days alone, or any mix of calendar days, weeks and months.
    """

    working_days: int = 0
    days: int = 0
    weeks: int = 0
    months: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"period field {field.name!r} must be an integer, got {value!r}")
            if value < 0:
                raise ValueError(f"period field {field.name!r} must not be negative, got {value}")
        if self.working_days and (self.days or self.weeks or self.months):
            raise ValueError(_MIXING_MESSAGE)

    @classmethod
    def from_mapping(cls, data: Mapping[str, int]) -> Period:
        """Build a period from a mapping such as {"weeks": 2} (e.g. from the workflow YAML)."""
        if not data:
            raise ValueError(f"a period needs at least one of {_field_list()}")
        unknown = sorted(str(key) for key in data if key not in _UNITS_SV)
        if unknown:
            raise ValueError(
                f"unknown period field(s) {', '.join(unknown)}; allowed are {_field_list()}"
            )
        if "working_days" in data and len(data) > 1:
            raise ValueError(_MIXING_MESSAGE)
        return cls(**data)

    @property
    def is_zero(self) -> bool:
        """Tell whether the period has no length at all."""
        return not (self.working_days or self.days or self.weeks or self.months)

    def __str__(self) -> str:
        parts = [
            f"{value} {singular if value == 1 else plural}"
            for name, (singular, plural) in _UNITS_SV.items()
            if (value := getattr(self, name))
        ]
        if not parts:
            return "0 dagar"
        if len(parts) == 1:
            return parts[0]
        return ", ".join(parts[:-1]) + " och " + parts[-1]


def _field_list() -> str:
    return ", ".join(f.name for f in fields(Period))


def _calendar_delta(period: Period) -> relativedelta:
    return relativedelta(months=period.months, weeks=period.weeks, days=period.days)


def add_period(start: date, period: Period) -> date:
    """Add a period to a date, raw: the result may be a non-working day.

    Months clamp to the month's end (31 January + 1 month = 28 or 29 February) and are added
    before weeks and days. A zero period returns start unchanged.
    """
    if period.working_days:
        return add_working_days(start, period.working_days)
    return start + _calendar_delta(period)


def subtract_period(day: date, period: Period) -> date:
    """Go a period back from a date, raw: for "remind 2 weeks before" or "invite 21 days before"."""
    if period.working_days:
        return add_working_days(day, -period.working_days)
    return day - _calendar_delta(period)


def deadline_after(start: date, period: Period) -> date:
    """Give the deadline a period after start, moved forward to a working day if needed."""
    return next_working_day(add_period(start, period))


def local_datetime(instant: datetime) -> datetime:
    """Show an aware instant (stored in UTC) as Europe/Stockholm wall-clock time."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {instant!r}")
    return instant.astimezone(STOCKHOLM)


def local_date(instant: datetime) -> date:
    """Give the Stockholm calendar date of an aware instant (e.g. "today" from clock.now())."""
    return local_datetime(instant).date()


def local_to_utc(day: date, at: time) -> datetime:
    """Turn a Stockholm wall-clock time on a day into an aware UTC datetime.

    07:00 stays 07:00 local all year (06:00 UTC in winter, 05:00 UTC in summer). A time that
    does not exist (the spring-forward hour) or exists twice (autumn) resolves with fold=0:
    the offset in force before the change.
    """
    _require_date(day)
    if at.tzinfo is not None:
        raise ValueError(f"expected a naive wall-clock time, got aware {at!r}")
    return datetime.combine(day, at, tzinfo=STOCKHOLM).astimezone(UTC)
