"""Open obligations: the one interface through which every module reports what is due.

DESIGN.md, clocks and obligations: each app computes its deadlines from stored dates
(audit reviews, BAA renewals, breach notices, training) and exposes them here; the
compliance app shows all of them on one list and one calendar. A provider is a function
of an organization that returns that module's open obligations; it registers itself with
`obligation_provider` when its module is imported (from the app's `ready()`).

This module sits in `core` so that every layer can register without importing the
compliance app above it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# An obligation due within this many days is "due soon" (shown with a warning).
DUE_SOON_DAYS = 14


class Urgency(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    UPCOMING = "upcoming"

    @property
    def label(self) -> str:
        return {
            Urgency.OVERDUE: "Overdue",
            Urgency.DUE_SOON: "Due soon",
            Urgency.UPCOMING: "Upcoming",
        }[self]


@dataclass(frozen=True)
class Obligation:
    """One thing someone must do by a date. Identifiers and titles only, never PHI."""

    kind: str  # a stable code such as "audit.review"
    title: str
    due_on: dt.date
    url: str
    citation: str  # the rule that sets the deadline, e.g. "45 CFR 164.308(a)(1)(ii)(D)"
    owner: str = ""  # a role or person label, for the list

    def urgency(self, today: dt.date) -> Urgency:
        if self.due_on < today:
            return Urgency.OVERDUE
        if (self.due_on - today).days <= DUE_SOON_DAYS:
            return Urgency.DUE_SOON
        return Urgency.UPCOMING


ObligationProvider = Callable[[Any], Iterable[Obligation]]

_PROVIDERS: dict[str, ObligationProvider] = {}


def obligation_provider(name: str) -> Callable[[ObligationProvider], ObligationProvider]:
    """Register a function `organization -> Iterable[Obligation]` under a unique name."""

    def register(function: ObligationProvider) -> ObligationProvider:
        existing = _PROVIDERS.get(name)
        if existing is not None and existing is not function:
            raise ValueError(f"An obligation provider named {name!r} is already registered")
        _PROVIDERS[name] = function
        return function

    return register


def open_obligations(organization: Any) -> list[Obligation]:
    """Every registered module's open obligations for one organization, soonest first."""
    found: list[Obligation] = []
    for provider in _PROVIDERS.values():
        found.extend(provider(organization))
    return sorted(found, key=lambda o: (o.due_on, o.kind, o.title))


def provider_names() -> frozenset[str]:
    return frozenset(_PROVIDERS)
