from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.compliance.registry import ItemResult, Status, checklist_measure
from phiwarden.core.obligations import Obligation, open_obligations


def checklist_for_user(*, membership: Membership) -> list[ItemResult]:
    capability_require(membership, Capability.CHECKLIST_VIEW)
    return checklist_measure(membership.organization)


def checklist_counts(results: list[ItemResult]) -> dict[Status, int]:
    counts = Counter(result.evidence.status for result in results)
    return {status: counts.get(status, 0) for status in Status}


def obligations_for_user(*, membership: Membership) -> list[Obligation]:
    """Every module's open obligations for the member's organization, soonest first."""
    capability_require(membership, Capability.CHECKLIST_VIEW)
    return open_obligations(membership.organization)


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    in_month: bool
    obligations: list[Obligation]


@dataclass(frozen=True)
class CalendarMonth:
    first: dt.date
    weeks: list[list[CalendarDay]]


def obligation_calendar(
    obligations: list[Obligation], today: dt.date, months: int = 3
) -> list[CalendarMonth]:
    """Month grids (weeks from Monday) from this month on, each day with what falls due.
    Overdue obligations are listed, not drawn: the calendar looks forward."""
    by_day: dict[dt.date, list[Obligation]] = defaultdict(list)
    for obligation in obligations:
        by_day[obligation.due_on].append(obligation)
    grids = []
    first = today.replace(day=1)
    for _ in range(months):
        weeks = [
            [CalendarDay(day, day.month == first.month, by_day.get(day, [])) for day in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(
                first.year, first.month
            )
        ]
        grids.append(CalendarMonth(first=first, weeks=weeks))
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return grids
