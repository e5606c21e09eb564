"""The facts breach scoping needs about patients: their client and state of residence.

A door module (core/tests/phi_door.py): only the incidents app calls it, for members who
manage incidents, and the caller records the scoping as an audit event naming every
patient in scope. It returns no names or identifiers, only which client each patient
belongs to and their state (45 CFR 164.404 notices per individual, 164.406 per state,
164.410 per covered entity).
"""

from __future__ import annotations

from collections.abc import Iterable

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.billing.models import Claim, Patient


def patient_facts(
    *, membership: Membership, patient_ids: Iterable[int]
) -> dict[int, tuple[int, str]]:
    """{patient id: (client id, state)} for the member's organization only."""
    capability_require(membership, Capability.INCIDENTS_MANAGE)
    wanted = sorted(set(patient_ids))
    found: dict[int, tuple[int, str]] = {}
    for start in range(0, len(wanted), 5000):
        rows = Patient.objects.for_organization(membership.organization).filter(
            pk__in=wanted[start : start + 5000]
        )
        for pk, client_id, state in rows.values_list("pk", "client_id", "state"):
            found[pk] = (client_id, state)
    return found


def patients_in_files(*, membership: Membership, file_ids: Iterable[int]) -> set[int]:
    """The patients whose claims came in the given imported files (a lost or misdirected
    file's exposure is everyone in it)."""
    capability_require(membership, Capability.INCIDENTS_MANAGE)
    return set(
        Claim.objects.for_organization(membership.organization)
        .filter(source_file_id__in=list(file_ids))
        .values_list("patient_id", flat=True)
    )
