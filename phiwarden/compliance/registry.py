"""The live checklist: each item's status is measured by an evidence function, never ticked.

An evidence function takes an organization and returns `Evidence`. Items whose module
has not been built yet have none and show "not measured" — never a guessed status.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar, cast

from phiwarden.compliance.items import ITEMS, ITEMS_BY_ID, ChecklistItem

if TYPE_CHECKING:
    from phiwarden.accounts.models import Organization


class Status(StrEnum):
    MET = "met"
    PARTIAL = "partial"
    NOT_MET = "not_met"
    NOT_MEASURED = "not_measured"

    @property
    def label(self) -> str:
        return {
            Status.MET: "Met",
            Status.PARTIAL: "Partly met",
            Status.NOT_MET: "Not met",
            Status.NOT_MEASURED: "Not measured",
        }[self]


@dataclass(frozen=True)
class EvidenceLink:
    label: str
    url: str


@dataclass(frozen=True)
class Evidence:
    status: Status
    summary: str
    facts: dict[str, int | float | str | bool] = field(default_factory=dict)
    links: tuple[EvidenceLink, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    item: ChecklistItem
    evidence: Evidence


EvidenceFunction = Callable[["Organization"], Evidence]

_EVIDENCE: dict[str, EvidenceFunction] = {}

NOT_MEASURED = Evidence(
    status=Status.NOT_MEASURED,
    summary="Not measured yet: the module that produces this evidence is not built.",
)


def evidence_for(item_id: str) -> Callable[[EvidenceFunction], EvidenceFunction]:
    """Register the evidence function of one checklist item (once per id)."""
    if item_id not in ITEMS_BY_ID:
        raise KeyError(f"No checklist item {item_id!r}")

    def register(function: EvidenceFunction) -> EvidenceFunction:
        if item_id in _EVIDENCE:
            raise ValueError(f"Checklist item {item_id} already has an evidence function")
        _EVIDENCE[item_id] = function
        return function

    return register


def _not_measured(organization: Organization) -> Evidence:
    return NOT_MEASURED


def measured_item_ids() -> frozenset[str]:
    return frozenset(_EVIDENCE)


# Facts several items share (the audit review periods serve K3, R3 and A4), computed once
# per measurement of the checklist instead of once per item.
_shared_facts: ContextVar[dict[Hashable, Any] | None] = ContextVar("shared_facts", default=None)
_T = TypeVar("_T")


def shared_fact(key: Hashable, compute: Callable[[], _T]) -> _T:
    """`compute()`, remembered under `key` while one checklist measurement runs (outside
    one, computed every time: nothing outlives the measurement)."""
    memo = _shared_facts.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return cast(_T, memo[key])


def checklist_measure(organization: Organization) -> list[ItemResult]:
    """Every item in checklist order, with its evidence measured now."""
    from phiwarden.compliance import evidence  # noqa: F401  (registers the functions)

    with one_measurement():
        return [
            ItemResult(item=item, evidence=_EVIDENCE.get(item.id, _not_measured)(organization))
            for item in ITEMS
        ]


@contextmanager
def one_measurement() -> Iterator[None]:
    """Inside, `shared_fact` remembers what it computed; on leaving, everything is dropped."""
    token = _shared_facts.set({})
    try:
        yield
    finally:
        _shared_facts.reset(token)
