"""Re-emit one claim as an 837 for the health plan, leaving out self-pay restricted lines.

45 CFR 164.522(a)(1)(vi): when a patient has paid for a service in full out of pocket and
asks that their health plan not be told, a covered entity (and its business associate)
must honour it. Outgoing claim data for the plan therefore leaves those service lines out,
with the claim total recomputed, and drops what only those lines explain:

- a diagnosis that only restricted lines point to (837P SV107 pointers) is removed, the
  remaining pointers renumbered, and the first remaining diagnosis becomes the principal;
  on an 837I, which has no line pointers, the diagnoses stay as billed;
- the service lines are numbered again from 1 (LX01 counts up by one);
- the subscriber's SSN (REF*SY) is never sent: 5010 claims do not need it.

This module is pure: it takes the claim as parsed from the stored original file (the PHI
door, billing.selectors.claim_x12_for_plan, reads and audits it) and returns bytes.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Collection
from decimal import Decimal

from phiwarden.billing.x12.models import Claim, Diagnosis, ServiceLine
from phiwarden.billing.x12.writer import write_837

# ICD-10 (and ICD-9) qualifiers of a principal and of an other diagnosis.
_PRINCIPAL = {"ABF": "ABK", "BF": "BK"}


class NothingLeftToSend(ValueError):
    """Every service line of the claim is restricted from the plan."""


def _kept_diagnoses(
    claim: Claim, kept: list[ServiceLine], dropped: list[ServiceLine]
) -> tuple[tuple[Diagnosis, ...], dict[int, int]]:
    """The diagnoses to send and the map from old pointer (1-based) to new pointer."""
    if claim.kind != "837P" or not dropped:
        return claim.diagnoses, {i: i for i in range(1, len(claim.diagnoses) + 1)}
    pointed_by_kept = {p for line in kept for p in line.diagnosis_pointers}
    pointed_by_dropped = {p for line in dropped for p in line.diagnosis_pointers}
    keep = [
        index
        for index in range(1, len(claim.diagnoses) + 1)
        if index in pointed_by_kept or index not in pointed_by_dropped
    ]
    remap = {old: new for new, old in enumerate(keep, start=1)}
    diagnoses = [claim.diagnoses[i - 1] for i in keep]
    if diagnoses and keep[0] != 1:
        first = diagnoses[0]
        qualifier = _PRINCIPAL.get(first.qualifier, first.qualifier)
        diagnoses[0] = dataclasses.replace(first, qualifier=qualifier)
    return tuple(diagnoses), remap


def claim_without_restricted(claim: Claim, restricted_numbers: Collection[int]) -> Claim:
    """The claim as the plan may see it; raises NothingLeftToSend if no line is left."""
    kept = [line for line in claim.service_lines if line.number not in restricted_numbers]
    dropped = [line for line in claim.service_lines if line.number in restricted_numbers]
    if not kept:
        raise NothingLeftToSend(
            "Every service line of this claim is restricted from the health plan "
            "(paid in full out of pocket, 45 CFR 164.522(a)(1)(vi)): there is nothing to send."
        )
    diagnoses, remap = _kept_diagnoses(claim, kept, dropped)
    lines = tuple(
        dataclasses.replace(
            line,
            number=number,
            diagnosis_pointers=tuple(remap[p] for p in line.diagnosis_pointers if p in remap),
        )
        for number, line in enumerate(kept, start=1)
    )
    subscriber = dataclasses.replace(claim.subscriber, ssn="")
    total = sum((line.charge for line in lines), Decimal("0"))
    return dataclasses.replace(
        claim,
        subscriber=subscriber,
        diagnoses=diagnoses,
        service_lines=lines,
        total_charge=total,
    )


def claim_for_plan(claim: Claim, restricted_numbers: Collection[int]) -> bytes:
    """The 837 (one interchange, one claim) that may go to the health plan."""
    out = io.BytesIO()
    write_837([claim_without_restricted(claim, restricted_numbers)], out)
    return out.getvalue()
