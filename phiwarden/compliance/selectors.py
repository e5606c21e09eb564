from __future__ import annotations

from collections import Counter

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.compliance.registry import ItemResult, Status, checklist_measure


def checklist_for_user(*, membership: Membership) -> list[ItemResult]:
    capability_require(membership, Capability.CHECKLIST_VIEW)
    return checklist_measure(membership.organization)


def checklist_counts(results: list[ItemResult]) -> dict[Status, int]:
    counts = Counter(result.evidence.status for result in results)
    return {status: counts.get(status, 0) for status in Status}
