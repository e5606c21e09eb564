"""Breach-notification deadlines, computed from the discovery date and the facts.

Every date comes from the one clock (`core.clock`); nothing here is typed in by hand.
The rules (`../shared/reference/hipaa-rules.md` §1):

* Our notice to each covered-entity client: without unreasonable delay and no later than
  60 calendar days after *our* discovery (45 CFR 164.410(b)), or the client's BAA
  window if shorter (calendar or business days).
* The client's notices, counted from the client's discovery, which is at the latest the
  day we notify it: individuals within 60 days (164.404(b)); the media within 60 days
  when more than 500 residents of one State are affected (164.406); HHS within 60 days
  when 500 or more individuals are affected, otherwise within 60 days after the end of
  the calendar year of discovery (164.408(b), (c)) — 1 March, or 29 February when the
  next year is a leap year.
* A law-enforcement delay (164.412) pushes a deadline that falls inside it to the day the
  delay ends: for a written statement, the period it specifies; for an oral one, 30 days
  from the statement unless a written statement arrives within those 30 days. The rule
  does not say how much of the 60 days remains after a delay; we take the conservative
  reading (notify as soon as the delay ends), as the reference advises.
* "Discovery" is the first day the breach is known, or would have been known with
  reasonable diligence, to anyone in the workforce other than the wrongdoer
  (164.404(a)(2), 164.410(a)(2)); the incident records that date, not the report date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from phiwarden.core.clock import (
    BA_BREACH_NOTICE_OUTER_LIMIT_DAYS,
    DayKind,
    NoticeWindow,
    add_days,
)

INDIVIDUAL_NOTICE_DAYS = 60  # 164.404(b)
MEDIA_NOTICE_DAYS = 60  # 164.406(b)
HHS_NOTICE_DAYS = 60  # 164.408(b), (c)
HHS_IMMEDIATE_THRESHOLD = 500  # 164.408(b): "500 or more individuals"
MEDIA_STATE_THRESHOLD = 500  # 164.406(a): "more than 500 residents of a State"
ORAL_DELAY_DAYS = 30  # 164.412(b)


class DelayKind(StrEnum):
    WRITTEN = "written"
    ORAL = "oral"


@dataclass(frozen=True)
class LawEnforcementDelay:
    """A law-enforcement official's statement that notice would impede an investigation
    or damage national security (164.412)."""

    kind: DelayKind
    stated_on: dt.date
    # Written: the end of the period the statement specifies.
    written_until: dt.date | None = None
    # Oral: a written statement that arrived later, with the period it specifies.
    written_received_on: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DelayKind(self.kind))
        if self.kind == DelayKind.WRITTEN and self.written_until is None:
            raise ValueError("A written statement specifies the period of the delay")

    def ends_on(self) -> dt.date:
        """The last day of the delay."""
        if self.kind == DelayKind.WRITTEN:
            assert self.written_until is not None  # noqa: S101  (checked in __post_init__)
            return self.written_until
        oral_end = add_days(self.stated_on, ORAL_DELAY_DAYS)
        if (
            self.written_received_on is not None
            and self.written_until is not None
            and self.written_received_on <= oral_end
        ):
            return self.written_until
        return oral_end


@dataclass(frozen=True)
class Deadline:
    key: str  # stable: "client", "individuals", "hhs", "media:TX"
    title: str
    due_on: dt.date
    citation: str
    delayed_from: dt.date | None = None  # the date before a law-enforcement delay moved it


def _delayed(
    key: str, title: str, due: dt.date, citation: str, delay: LawEnforcementDelay | None
) -> Deadline:
    if delay is not None and delay.stated_on <= due <= delay.ends_on():
        return Deadline(key, title, delay.ends_on(), citation + ", 164.412", delayed_from=due)
    return Deadline(key, title, due, citation)


def client_notice_deadline(
    discovered_on: dt.date,
    window: NoticeWindow | None = None,
    delay: LawEnforcementDelay | None = None,
) -> Deadline:
    """Our notice to one covered-entity client: the shorter of its BAA window and 60 days."""
    outer = NoticeWindow(BA_BREACH_NOTICE_OUTER_LIMIT_DAYS, DayKind.CALENDAR)
    due = (window or outer).breach_deadline(discovered_on)
    return _delayed("client", "Notify the covered entity", due, "45 CFR 164.410(b)", delay)


def hhs_deadline(ce_discovered_on: dt.date, individuals: int) -> dt.date:
    """164.408: with 500 or more individuals, 60 days from discovery; with fewer, 60 days
    after the end of the calendar year of discovery (1 March, or 29 February before a
    leap year's March)."""
    if individuals >= HHS_IMMEDIATE_THRESHOLD:
        return add_days(ce_discovered_on, HHS_NOTICE_DAYS)
    return add_days(dt.date(ce_discovered_on.year, 12, 31), HHS_NOTICE_DAYS)


def states_needing_media_notice(residents_by_state: Mapping[str, int]) -> list[str]:
    """States (or jurisdictions) with more than 500 affected residents (164.406(a))."""
    return sorted(s for s, n in residents_by_state.items() if n > MEDIA_STATE_THRESHOLD and s)


def covered_entity_deadlines(
    ce_discovered_on: dt.date,
    individuals: int,
    residents_by_state: Mapping[str, int],
    delay: LawEnforcementDelay | None = None,
) -> list[Deadline]:
    """The client's own notices, from its discovery date (at the latest, our notice)."""
    deadlines = [
        _delayed(
            "individuals", "Notify each affected individual",
            add_days(ce_discovered_on, INDIVIDUAL_NOTICE_DAYS), "45 CFR 164.404(b)", delay,
        ),
        _delayed(
            "hhs",
            "Notify HHS" if individuals >= HHS_IMMEDIATE_THRESHOLD
            else "Log the breach and report it to HHS after the year ends",
            hhs_deadline(ce_discovered_on, individuals),
            "45 CFR 164.408(b)" if individuals >= HHS_IMMEDIATE_THRESHOLD
            else "45 CFR 164.408(c)",
            delay,
        ),
    ]  # fmt: skip
    deadlines += [
        _delayed(
            f"media:{state}",
            f"Notify prominent media outlets serving {state}",
            add_days(ce_discovered_on, MEDIA_NOTICE_DAYS),
            "45 CFR 164.406(b)",
            delay,
        )
        for state in states_needing_media_notice(residents_by_state)
    ]
    return deadlines
