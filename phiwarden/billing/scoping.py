"""The facts breach scoping needs about patients: their client and state of residence.

A door module (core/tests/phi_door.py): only the incidents app calls it, for members who
manage incidents, and the caller records the scoping as an audit event naming every
patient in scope. `patient_facts` returns no names or identifiers, only which client each
patient belongs to and their state (45 CFR 164.404 notices per individual, 164.406 per
state, 164.410 per covered entity). `notice_patient_rows` is the one read of identities:
the patient list of a notice to a covered entity, audited like every PHI read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import phi
from phiwarden.billing.minimum_necessary import Purpose
from phiwarden.billing.models import Claim, Coverage, Patient
from phiwarden.vault.services import cipher_for


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


# What a breach notice to a covered entity lists about each individual (164.410(c)(1): the
# identity of each individual; (c)(2): what the client needs for its own notices).
NOTICE_FIELDS = (
    "patient.name",
    "patient.birth_date",
    "patient.address",
    "coverage.member_id",
    "claim.account_number",
    "claim.service_dates",
)
NOTICE_COLUMNS = (
    ("ref", "PHI Warden ref"),
    ("name", "Name"),
    ("birth_date", "Date of birth"),
    ("address", "Address"),
    ("state", "State"),
    ("member_ids", "Member id(s)"),
    ("account_numbers", "Account number(s)"),
    ("service_dates", "Dates of service"),
)


def _address_text(address: Any) -> str:
    if not isinstance(address, dict):
        return ""
    city_line = " ".join(
        part for part in (address.get("city", ""), address.get("state", "")) if part
    )
    parts = [address.get("line1", ""), address.get("line2", ""), city_line]
    text = ", ".join(part for part in parts if part)
    postal = address.get("postal_code", "")
    return f"{text} {postal}".strip() if postal else text


def _service_span(start: dt.date | None, end: dt.date | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return start.isoformat()
    return f"{start.isoformat()} to {end.isoformat()}"


def notice_patient_rows(
    *,
    membership: Membership,
    client_id: int,
    patient_ids: Iterable[int],
    target: models.Model | None = None,
) -> list[dict[str, str]]:
    """The identity of each affected individual of one client, for our breach notice to it
    (45 CFR 164.410(c)(1)): one row per patient of `client_id` among `patient_ids`, in the
    member's organization, with what billing holds (name, date of birth, address, state,
    member ids, account numbers, dates of service).

    One audit event names every patient returned and the fields disclosed, in the same
    transaction as the reads; if it cannot be written, nothing is returned (fail closed).
    """
    capability_require(membership, Capability.INCIDENTS_MANAGE)
    organization = membership.organization
    wanted = sorted(set(patient_ids))
    cipher = cipher_for(organization)
    rows: list[tuple[str, dict[str, str]]] = []
    with transaction.atomic():
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            patients = Patient.objects.for_organization(organization).filter(
                client_id=client_id, pk__in=chunk
            )
            member_ids: dict[int, set[str]] = {}
            for coverage in Coverage.objects.for_organization(organization).filter(
                patient__in=patients
            ):
                member_id = phi.open_text(cipher, coverage, "member_id_ct", coverage.member_id_ct)
                if member_id:
                    member_ids.setdefault(coverage.patient_id, set()).add(member_id)
            accounts: dict[int, set[str]] = {}
            services: dict[int, set[str]] = {}
            for claim in Claim.objects.for_organization(organization).filter(
                client_id=client_id, patient__in=patients
            ):
                account = phi.open_text(cipher, claim, "account_number_ct", claim.account_number_ct)
                if account:
                    accounts.setdefault(claim.patient_id, set()).add(account)
                span = _service_span(claim.service_from, claim.service_to)
                if span:
                    services.setdefault(claim.patient_id, set()).add(span)
            for patient in patients:
                name = phi.name_text(phi.open_json(cipher, patient, "name_ct", patient.name_ct))
                birth = phi.open_date(cipher, patient, "birth_date_ct", patient.birth_date_ct)
                address = phi.open_json(cipher, patient, "address_ct", patient.address_ct)
                row = {
                    "ref": str(patient.pk),
                    "name": name,
                    "birth_date": birth.isoformat() if birth else "",
                    "address": _address_text(address),
                    "state": patient.state,
                    "member_ids": "; ".join(sorted(member_ids.get(patient.pk, ()))),
                    "account_numbers": "; ".join(sorted(accounts.get(patient.pk, ()))),
                    "service_dates": "; ".join(sorted(services.get(patient.pk, ()))),
                }
                rows.append((name.casefold(), row))
        rows.sort(key=lambda item: (item[0], int(item[1]["ref"])))
        audit_event_record(
            actor=membership.user,
            organization=organization,
            event_code=EventCode.BILLING_PHI_VIEWED,
            target=target,
            purpose=Purpose.REQUIRED_BY_LAW,
            data={"what": "breach_notice_patients", "client": client_id, "rows": len(rows)},
            patient_ids=[int(row["ref"]) for _key, row in rows],
            fields_disclosed=NOTICE_FIELDS,
        )
    return [row for _key, row in rows]
