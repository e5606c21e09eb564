"""The one clock for regulatory deadlines: calendar days, business days, months and years.

DESIGN.md, clocks and obligations: every deadline (breach notices, rights requests, BAA
notice windows, reviews, renewals) is computed here from stored dates, never typed in.

Business days are Monday to Friday minus the US federal holidays of 5 U.S.C. 6103(a),
computed by rule with their observed dates (6103(b); Executive Order 11582): a holiday on a
Saturday is observed on the Friday before, one on a Sunday on the Monday after. New Year's
Day on a Saturday is therefore observed on 31 December of the year before.

Notice windows. A business associate must notify the covered entity of a breach of
unsecured PHI without unreasonable delay and no later than 60 calendar days after discovery
(45 CFR 164.410(b)); a BAA may set a shorter window, in calendar or business days, and the
breach-notification work uses `NoticeWindow.deadline` for both. The day of discovery is day
zero: a 60-calendar-day window from 1 March ends on 30 April.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

# The longest a BA may take to notify a covered entity of a breach (45 CFR 164.410(b)(1)).
BA_BREACH_NOTICE_OUTER_LIMIT_DAYS = 60

_MONDAY, _THURSDAY, _FRIDAY, _SATURDAY, _SUNDAY = 0, 3, 4, 5, 6


class DayKind(StrEnum):
    CALENDAR = "calendar"
    BUSINESS = "business"

    @property
    def label(self) -> str:
        return {DayKind.CALENDAR: "calendar days", DayKind.BUSINESS: "business days"}[self]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday of a month (n=1 first); n=-1 is the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == _SATURDAY:
        return day - dt.timedelta(days=1)
    if day.weekday() == _SUNDAY:
        return day + dt.timedelta(days=1)
    return day


def _legal_holidays(year: int) -> dict[str, dt.date]:
    """The legal public holidays of 5 U.S.C. 6103(a) falling in `year`, unadjusted."""
    holidays = {
        "New Year's Day": dt.date(year, 1, 1),
        "Birthday of Martin Luther King, Jr.": _nth_weekday(year, 1, _MONDAY, 3),
        "Washington's Birthday": _nth_weekday(year, 2, _MONDAY, 3),
        "Memorial Day": _nth_weekday(year, 5, _MONDAY, -1),
        "Independence Day": dt.date(year, 7, 4),
        "Labor Day": _nth_weekday(year, 9, _MONDAY, 1),
        "Columbus Day": _nth_weekday(year, 10, _MONDAY, 2),
        "Veterans Day": dt.date(year, 11, 11),
        "Thanksgiving Day": _nth_weekday(year, 11, _THURSDAY, 4),
        "Christmas Day": dt.date(year, 12, 25),
    }
    if year >= 2021:  # Juneteenth National Independence Day Act, Pub. L. 117-17
        holidays["Juneteenth National Independence Day"] = dt.date(year, 6, 19)
    return holidays


@lru_cache(maxsize=256)
def federal_holidays(year: int) -> dict[dt.date, str]:
    """Observed US federal holidays that fall in `year` (dates off work), by date.

    Includes 31 December when the next New Year's Day is a Saturday, and leaves out
    1 January's observance when it moves into the year before.
    """
    observed: dict[dt.date, str] = {}
    for candidate_year in (year, year + 1):
        for name, day in _legal_holidays(candidate_year).items():
            moved = _observed(day)
            if moved.year == year:
                observed[moved] = name + (" (observed)" if moved != day else "")
    return dict(sorted(observed.items()))


def is_federal_holiday(day: dt.date) -> bool:
    return day in federal_holidays(day.year)


def is_business_day(day: dt.date) -> bool:
    return day.weekday() < _SATURDAY and not is_federal_holiday(day)


def add_days(start: dt.date, days: int, kind: DayKind | str = DayKind.CALENDAR) -> dt.date:
    """`start` moved by `days` calendar or business days (negative moves backwards).

    Business days count only Monday-Friday non-holidays after `start`: 1 business day
    after a Friday is the Monday (or Tuesday after a Monday holiday). Zero days is `start`.
    """
    kind = DayKind(kind)
    if kind is DayKind.CALENDAR:
        return start + dt.timedelta(days=days)
    step = 1 if days >= 0 else -1
    day, remaining = start, abs(days)
    while remaining:
        day += dt.timedelta(days=step)
        if is_business_day(day):
            remaining -= 1
    return day


def days_between(start: dt.date, end: dt.date, kind: DayKind | str = DayKind.CALENDAR) -> int:
    """How many days `end` is after `start` (negative if before), counted as `add_days` does."""
    kind = DayKind(kind)
    if kind is DayKind.CALENDAR:
        return (end - start).days
    sign = 1 if end >= start else -1
    low, high = sorted((start, end))
    count, day = 0, low
    while day < high:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            count += 1
    return sign * count


def add_months(start: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(start.day, last))


def add_years(start: dt.date, years: int) -> dt.date:
    """The same date `years` later; 29 February becomes 28 February in a common year."""
    return add_months(start, 12 * years)


@dataclass(frozen=True)
class NoticeWindow:
    """A contractual notice window: so many calendar or business days from a trigger date.

    BAAs set the breach and security-incident notice window a BA owes its covered entity
    (45 CFR 164.504(e)(2)(ii)(C), 164.314(a)(2)(i)(C)); the rule's own outer limit is 60
    calendar days from discovery (164.410(b)), so a longer window never extends it.
    """

    days: int
    kind: DayKind = DayKind.CALENDAR

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ValueError("A notice window cannot be negative")
        object.__setattr__(self, "kind", DayKind(self.kind))

    def deadline(self, trigger: dt.date) -> dt.date:
        return add_days(trigger, self.days, self.kind)

    def breach_deadline(self, discovered_on: dt.date) -> dt.date:
        """The earlier of the window and the 60-calendar-day limit of 164.410(b)."""
        outer = add_days(discovered_on, BA_BREACH_NOTICE_OUTER_LIMIT_DAYS, DayKind.CALENDAR)
        return min(self.deadline(discovered_on), outer)

    def describe(self) -> str:
        unit = self.kind.label
        if self.days == 1:
            unit = unit.replace("days", "day")
        return f"{self.days} {unit}"
