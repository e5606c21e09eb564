"""The clock: federal holidays by rule, business-day and calendar arithmetic, notice windows."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.core.clock import (
    DayKind,
    NoticeWindow,
    add_days,
    add_months,
    add_years,
    days_between,
    federal_holidays,
    is_business_day,
    is_federal_holiday,
)

D = dt.date

# OPM's published schedules (opm.gov, "Federal Holidays"), observed dates.
OPM_2021 = [
    D(2021, 1, 1), D(2021, 1, 18), D(2021, 2, 15), D(2021, 5, 31), D(2021, 6, 18),
    D(2021, 7, 5), D(2021, 9, 6), D(2021, 10, 11), D(2021, 11, 11), D(2021, 11, 25),
    D(2021, 12, 24), D(2021, 12, 31),
]  # fmt: skip
OPM_2022 = [
    D(2022, 1, 17), D(2022, 2, 21), D(2022, 5, 30), D(2022, 6, 20), D(2022, 7, 4),
    D(2022, 9, 5), D(2022, 10, 10), D(2022, 11, 11), D(2022, 11, 24), D(2022, 12, 26),
]  # fmt: skip
OPM_2023 = [
    D(2023, 1, 2), D(2023, 1, 16), D(2023, 2, 20), D(2023, 5, 29), D(2023, 6, 19),
    D(2023, 7, 4), D(2023, 9, 4), D(2023, 10, 9), D(2023, 11, 10), D(2023, 11, 23),
    D(2023, 12, 25),
]  # fmt: skip
OPM_2024 = [
    D(2024, 1, 1), D(2024, 1, 15), D(2024, 2, 19), D(2024, 5, 27), D(2024, 6, 19),
    D(2024, 7, 4), D(2024, 9, 2), D(2024, 10, 14), D(2024, 11, 11), D(2024, 11, 28),
    D(2024, 12, 25),
]  # fmt: skip
OPM_2026 = [
    D(2026, 1, 1), D(2026, 1, 19), D(2026, 2, 16), D(2026, 5, 25), D(2026, 6, 19),
    D(2026, 7, 3), D(2026, 9, 7), D(2026, 10, 12), D(2026, 11, 11), D(2026, 11, 26),
    D(2026, 12, 25),
]  # fmt: skip


@pytest.mark.parametrize(
    ("_case", "year", "expected"),
    [
        ("2021-juneteenth-first-year-and-new-year-observed-early", 2021, OPM_2021),
        ("2022-no-january-first", 2022, OPM_2022),
        ("2023-sunday-new-year-and-saturday-veterans-day", 2023, OPM_2023),
        ("2024-leap-year", 2024, OPM_2024),
        ("2026-saturday-independence-day", 2026, OPM_2026),
    ],
)
def test_federal_holidays_match_the_published_schedule(_case, year, expected):
    assert list(federal_holidays(year)) == expected


def test_juneteenth_is_not_a_holiday_before_2021():
    assert D(2020, 6, 19) not in federal_holidays(2020)
    assert len(federal_holidays(2020)) == 10


def test_observed_holidays_are_named_as_observed():
    assert federal_holidays(2021)[D(2021, 12, 31)] == "New Year's Day (observed)"
    assert federal_holidays(2024)[D(2024, 12, 25)] == "Christmas Day"


@pytest.mark.parametrize(
    ("_case", "day", "expected"),
    [
        ("weekday", D(2025, 3, 4), True),
        ("saturday", D(2025, 3, 8), False),
        ("sunday", D(2025, 3, 9), False),
        ("holiday-on-weekday", D(2025, 12, 25), False),
        ("observed-friday", D(2021, 12, 31), False),
        ("actual-saturday-holiday-is-a-weekend-anyway", D(2022, 1, 1), False),
        ("day-after-thanksgiving-is-a-business-day", D(2025, 11, 28), True),
    ],
)
def test_is_business_day(_case, day, expected):
    assert is_business_day(day) is expected


def test_is_federal_holiday_sees_the_next_years_new_year_observed_in_december():
    assert is_federal_holiday(D(2021, 12, 31))
    assert not is_federal_holiday(D(2022, 12, 30))


@pytest.mark.parametrize(
    ("_case", "start", "days", "kind", "expected"),
    [
        ("calendar-sixty-from-march-first", D(2025, 3, 1), 60, DayKind.CALENDAR, D(2025, 4, 30)),
        ("calendar-across-year-end", D(2025, 12, 15), 30, DayKind.CALENDAR, D(2026, 1, 14)),
        ("calendar-through-leap-day", D(2024, 2, 1), 30, DayKind.CALENDAR, D(2024, 3, 2)),
        ("calendar-common-year", D(2025, 2, 1), 30, DayKind.CALENDAR, D(2025, 3, 3)),
        ("calendar-zero", D(2025, 3, 8), 0, DayKind.CALENDAR, D(2025, 3, 8)),
        ("business-one-from-friday", D(2025, 3, 7), 1, DayKind.BUSINESS, D(2025, 3, 10)),
        ("business-over-labor-day", D(2025, 8, 29), 1, DayKind.BUSINESS, D(2025, 9, 2)),
        ("business-five-is-a-week", D(2025, 3, 3), 5, DayKind.BUSINESS, D(2025, 3, 10)),
        ("business-from-a-saturday", D(2025, 3, 8), 1, DayKind.BUSINESS, D(2025, 3, 10)),
        # 24 Dec 2025 (Wed) + 5: skips 25 Dec, the weekend and 1 Jan 2026.
        ("business-across-year-end", D(2025, 12, 24), 5, DayKind.BUSINESS, D(2026, 1, 2)),
        # 2021's New Year's Day was observed on Friday 31 December.
        ("business-new-year-observed-early", D(2021, 12, 30), 1, DayKind.BUSINESS, D(2022, 1, 3)),
        ("business-over-leap-day", D(2024, 2, 28), 1, DayKind.BUSINESS, D(2024, 2, 29)),
        ("business-backwards", D(2025, 3, 10), -1, DayKind.BUSINESS, D(2025, 3, 7)),
        ("business-ten-over-thanksgiving", D(2025, 11, 20), 10, DayKind.BUSINESS, D(2025, 12, 5)),
        ("kind-as-string", D(2025, 3, 7), 1, "business", D(2025, 3, 10)),
    ],
)
def test_add_days(_case, start, days, kind, expected):
    assert add_days(start, days, kind) == expected


@pytest.mark.parametrize(
    ("start", "days", "kind"),
    [
        (D(2025, 12, 24), 5, DayKind.BUSINESS),
        (D(2024, 2, 20), 17, DayKind.BUSINESS),
        (D(2021, 12, 20), 12, DayKind.BUSINESS),
        (D(2025, 3, 1), 60, DayKind.CALENDAR),
    ],
)
def test_days_between_inverts_add_days(start, days, kind):
    end = add_days(start, days, kind)
    assert days_between(start, end, kind) == days
    assert days_between(end, start, kind) == -days


@pytest.mark.parametrize(
    ("_case", "start", "months", "expected"),
    [
        ("plain", D(2025, 3, 15), 1, D(2025, 4, 15)),
        ("end-of-january-to-february-common", D(2025, 1, 31), 1, D(2025, 2, 28)),
        ("end-of-january-to-february-leap", D(2024, 1, 31), 1, D(2024, 2, 29)),
        ("across-year-end", D(2025, 11, 30), 3, D(2026, 2, 28)),
        ("backwards", D(2025, 3, 31), -1, D(2025, 2, 28)),
        ("twelve", D(2025, 6, 1), 12, D(2026, 6, 1)),
    ],
)
def test_add_months(_case, start, months, expected):
    assert add_months(start, months) == expected


def test_add_years_turns_leap_day_into_february_28():
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


def test_notice_window_deadline_and_description():
    window = NoticeWindow(10, DayKind.BUSINESS)
    assert window.deadline(D(2025, 12, 22)) == D(2026, 1, 7)
    assert window.describe() == "10 business days"
    assert NoticeWindow(1, DayKind("calendar")).describe() == "1 calendar day"


def test_breach_deadline_never_passes_the_sixty_day_outer_limit_of_164_410_b():
    discovered = D(2025, 11, 1)
    assert NoticeWindow(90, DayKind.CALENDAR).breach_deadline(discovered) == D(2025, 12, 31)
    assert NoticeWindow(60, DayKind.BUSINESS).breach_deadline(discovered) == D(2025, 12, 31)
    assert NoticeWindow(5, DayKind.BUSINESS).breach_deadline(discovered) == D(2025, 11, 7)


def test_notice_window_refuses_negative_days():
    with pytest.raises(ValueError, match="negative"):
        NoticeWindow(-1)
