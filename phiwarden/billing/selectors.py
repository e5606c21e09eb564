"""The PHI door: the only reads of billing PHI (DESIGN.md, "The PHI door").

Every function here, in order:
  1. checks the capability and, for a named record, the member's client assignment
     (a record of a client the member is not assigned to is a 404, like a stranger's);
  2. projects each record to the fields that the (role, purpose) pair may see
     (billing.minimum_necessary), decrypting only those;
  3. writes one audit event naming the patients and the fields disclosed, in the same
     transaction; if that write fails, AuditUnavailable propagates and nothing returns;
  4. only then returns the projected values.

Views, the API, exports and reports call these and never query billing models for PHI.
45 CFR 164.502(b), 164.514(d) minimum necessary; 164.312(a)(1) access control;
164.312(b) audit controls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import phi
from phiwarden.billing.minimum_necessary import (
    WITHHELD_REASON,
    PhiField,
    Purpose,
    allowed_fields,
)
from phiwarden.billing.models import (
    Adjustment,
    Claim,
    ClaimPayment,
    ClaimStatus,
    Patient,
    RemarkCode,
    ServiceLine,
)
from phiwarden.billing.x12.codes import describe_carc, describe_group, describe_rarc
from phiwarden.vault.services import OrganizationCipher, cipher_for

F = PhiField
QUEUE_PAGE_MAX = 100


# --- Access ----------------------------------------------------------------------------


def projection_for(membership: Membership, purpose: str) -> frozenset[PhiField]:
    """The member's fields for this purpose; a role with none for it is refused."""
    capability_require(membership, Capability.BILLING_VIEW_PHI)
    fields = allowed_fields(membership.role, purpose)
    if not fields:
        audit_event_record(
            actor=membership.user,
            organization=membership.organization,
            event_code=EventCode.ACCESS_DENIED,
            outcome="denied",  # type: ignore[arg-type]
            purpose=str(purpose)[:32],
            data={"capability": "billing.purpose", "purpose": str(purpose)[:32]},
        )
        raise PermissionDenied("Your role may not read billing records for this purpose.")
    return fields


def clients_reached(membership: Membership) -> QuerySet[Client]:
    clients = Client.objects.for_organization(membership.organization)
    if membership.reaches_all_clients:
        return clients
    return clients.filter(pk__in=membership.clients.values("pk"))


def _claims(membership: Membership) -> QuerySet[Claim]:
    return Claim.objects.for_organization(membership.organization).filter(
        client__in=clients_reached(membership)
    )


def _record(
    membership: Membership,
    *,
    code: EventCode,
    purpose: str,
    patient_ids: Iterable[int],
    fields: Iterable[str],
    target: Any = None,
    data: dict[str, Any] | None = None,
    api_token_prefix: str = "",
) -> None:
    audit_event_record(
        actor=membership.user,
        organization=membership.organization,
        event_code=code,
        target=target,
        purpose=purpose,
        api_token_prefix=api_token_prefix,
        data=data or {},
        patient_ids=sorted(set(patient_ids)),
        fields_disclosed=sorted(set(fields)),
    )


# --- Projection --------------------------------------------------------------------------


@dataclass
class Projected:
    """One record's values: only allowed fields are present; the withheld ones are named
    with the reason, so pages can say what is missing and why."""

    values: dict[str, Any] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)

    @property
    def disclosed(self) -> set[str]:
        return {key for key, value in self.values.items() if key.count(".") == 1 and value != ""}


class _Projector:
    def __init__(
        self, cipher: OrganizationCipher, fields: frozenset[PhiField], purpose: str
    ) -> None:
        self.cipher = cipher
        self.fields = fields
        self.reason = WITHHELD_REASON.format(purpose=Purpose(purpose).label.split(" (")[0].lower())

    def put(self, out: Projected, name: PhiField, compute: Any) -> None:
        if name in self.fields:
            out.values[name.value] = compute()
        else:
            out.withheld[name.value] = self.reason

    def patient(self, out: Projected, patient: Patient, on: dt.date) -> None:
        c = self.cipher
        birth: list[dt.date | None] = []

        def birth_date() -> dt.date | None:
            if not birth:
                birth.append(phi.open_date(c, patient, "birth_date_ct", patient.birth_date_ct))
            return birth[0]

        self.put(
            out,
            F.PATIENT_NAME,
            lambda: phi.name_text(phi.open_json(c, patient, "name_ct", patient.name_ct)),
        )
        self.put(out, F.PATIENT_BIRTH_DATE, birth_date)
        self.put(out, F.PATIENT_AGE, lambda: phi.age_on(birth_date(), on))
        self.put(
            out, F.PATIENT_SEX, lambda: phi.open_text(c, patient, "sex_ct", patient.sex_ct) or ""
        )
        self.put(
            out,
            F.PATIENT_ADDRESS,
            lambda: phi.open_json(c, patient, "address_ct", patient.address_ct) or {},
        )
        self.put(
            out,
            F.PATIENT_PHONE,
            lambda: phi.open_text(c, patient, "phone_ct", patient.phone_ct) or "",
        )
        self.put(
            out, F.PATIENT_SSN, lambda: phi.open_text(c, patient, "ssn_ct", patient.ssn_ct) or ""
        )

    def claim(self, out: Projected, claim: Claim) -> None:
        c = self.cipher
        coverage = claim.coverage
        self.put(
            out,
            F.ACCOUNT_NUMBER,
            lambda: phi.open_text(c, claim, "account_number_ct", claim.account_number_ct),
        )
        self.put(
            out,
            F.PAYER_CLAIM_NUMBER,
            lambda: (
                phi.open_text(c, claim, "payer_claim_number_ct", claim.payer_claim_number_ct) or ""
            ),
        )
        self.put(
            out,
            F.DIAGNOSES,
            lambda: [
                code
                for _q, code in phi.open_json(c, claim, "diagnoses_ct", claim.diagnoses_ct) or []
            ],
        )
        self.put(
            out,
            F.PRIOR_AUTHORIZATION,
            lambda: (
                phi.open_text(c, claim, "prior_authorization_ct", claim.prior_authorization_ct)
                or ""
            ),
        )
        self.put(
            out,
            F.MEMBER_ID,
            lambda: phi.open_text(c, coverage, "member_id_ct", coverage.member_id_ct),
        )
        self.put(
            out,
            F.GROUP_NUMBER,
            lambda: phi.open_text(c, coverage, "group_number_ct", coverage.group_number_ct) or "",
        )
        self.put(out, F.PAYER, lambda: coverage.payer.name)
        self.put(out, F.SERVICE_DATES, lambda: (claim.service_from, claim.service_to))
        self.put(
            out,
            F.AMOUNTS,
            lambda: {
                "charge": claim.total_charge,
                "paid": claim.paid_amount,
                "patient_responsibility": claim.patient_responsibility,
            },
        )
        self.put(out, F.STATUS, lambda: claim.get_status_display())
        self.put(
            out, F.PROVIDER, lambda: f"{claim.billing_provider.name} ({claim.billing_provider.npi})"
        )
        self.put(out, F.FACILITY, lambda: claim.facility_code)

    def line(self, line: ServiceLine) -> dict[str, Any]:
        row: dict[str, Any] = {"number": line.number}
        if F.PROCEDURES in self.fields:
            _qualifier, code, modifiers = phi.open_json(
                self.cipher, line, "procedure_ct", line.procedure_ct
            )
            row["procedure"] = code
            row["modifiers"] = modifiers
            row["revenue_code"] = line.revenue_code
        if F.AMOUNTS in self.fields:
            row["charge"] = line.charge
            row["units"] = line.units
        if F.SERVICE_DATES in self.fields:
            row["service_date"] = line.service_date
        row["restricted_from_plan"] = line.restricted_from_plan
        return row


def adjustment_words(adjustment: Adjustment) -> dict[str, Any]:
    return {
        "line": adjustment.line_number,
        "group": adjustment.group_code,
        "group_words": describe_group(adjustment.group_code),
        "reason": adjustment.reason_code,
        "reason_words": describe_carc(adjustment.reason_code),
        "amount": adjustment.amount,
    }


def remark_words(remark: RemarkCode) -> dict[str, Any]:
    return {"line": remark.line_number, "code": remark.code, "words": describe_rarc(remark.code)}


# --- Claim detail ------------------------------------------------------------------------


@dataclass
class ClaimDetail:
    id: int
    kind: str
    client: str
    status: str
    projected: Projected
    lines: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    remarks: list[dict[str, Any]]
    purpose: str


def claim_detail(
    *, membership: Membership, claim_id: int, purpose: str, api_token_prefix: str = ""
) -> ClaimDetail:
    fields = projection_for(membership, purpose)
    claim = (
        _claims(membership)
        .select_related("patient", "coverage__payer", "billing_provider", "client")
        .prefetch_related(
            "lines",
            Prefetch(
                "payments", queryset=ClaimPayment.objects.prefetch_related("adjustments", "remarks")
            ),
        )
        .filter(pk=claim_id)
        .first()
    )
    if claim is None:
        raise Http404
    projector = _Projector(cipher_for(membership.organization), fields, purpose)
    out = Projected()
    projector.patient(out, claim.patient, claim.service_from or timezone.localdate())
    projector.claim(out, claim)
    lines = [projector.line(line) for line in claim.lines.all()]
    adjustments: list[dict[str, Any]] = []
    remarks: list[dict[str, Any]] = []
    if F.ADJUSTMENTS in fields:
        for payment in claim.payments.all():
            adjustments += [adjustment_words(a) for a in payment.adjustments.all()]
            remarks += [remark_words(r) for r in payment.remarks.all()]
    disclosed = out.disclosed | ({F.PROCEDURES.value} if F.PROCEDURES in fields else set())
    if adjustments:
        disclosed.add(F.ADJUSTMENTS.value)
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_PHI_VIEWED,
            purpose=purpose,
            patient_ids=[claim.patient_id],
            fields=disclosed,
            target=claim,
            data={"client_id": claim.client_id, "view": "claim"},
            api_token_prefix=api_token_prefix,
        )
    return ClaimDetail(
        id=claim.pk,
        kind=claim.kind,
        client=claim.client.name,
        status=claim.status,
        projected=out,
        lines=lines,
        adjustments=adjustments,
        remarks=remarks,
        purpose=purpose,
    )


# --- Work queues -------------------------------------------------------------------------

QUEUE_FIELDS = (
    F.PATIENT_NAME,
    F.PATIENT_AGE,
    F.ACCOUNT_NUMBER,
    F.PAYER,
    F.SERVICE_DATES,
    F.AMOUNTS,
    F.STATUS,
)


@dataclass
class QueueRow:
    claim_id: int
    client: str
    status: str
    projected: Projected
    reasons: list[dict[str, Any]] = field(default_factory=list)  # CARC/RARC for denials


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_after: int | None
    withheld: dict[str, str]


def claim_queue(
    *,
    membership: Membership,
    purpose: str,
    status: str | None = None,
    client_id: int | None = None,
    after: int | None = None,
    limit: int = 50,
    api_token_prefix: str = "",
    export: bool = False,
) -> QueuePage:
    """Claims by status, oldest service first... keyset on id for stable paging."""
    fields = projection_for(membership, purpose)
    if status is not None and status not in ClaimStatus.values:
        raise ValidationError({"status": "Unknown claim status."})
    limit = max(1, min(limit, QUEUE_PAGE_MAX if not export else 100_000))
    claims = _claims(membership).select_related("patient", "coverage__payer", "client")
    if status:
        claims = claims.filter(status=status)
    if client_id is not None:
        claims = claims.filter(client_id=client_id)
    if after is not None:
        claims = claims.filter(pk__gt=after)
    page = list(claims.order_by("pk")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    denials = status == ClaimStatus.DENIED and F.ADJUSTMENTS in fields
    reasons = _denial_reasons([c.pk for c in page]) if denials else {}
    projector = _Projector(cipher_for(membership.organization), fields, purpose)
    rows, disclosed = [], set()
    for claim in page:
        out = Projected()
        projector.patient(out, claim.patient, claim.service_from or timezone.localdate())
        projector.claim(out, claim)
        out.values = {k: v for k, v in out.values.items() if PhiField(k) in QUEUE_FIELDS}
        disclosed |= out.disclosed
        rows.append(
            QueueRow(claim.pk, claim.client.name, claim.status, out, reasons.get(claim.pk, []))
        )
    if any(r.reasons for r in rows):
        disclosed.add(F.ADJUSTMENTS.value)
    withheld = {f.value: projector.reason for f in QUEUE_FIELDS if f not in fields}
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_EXPORTED if export else EventCode.BILLING_QUEUE_VIEWED,
            purpose=purpose,
            patient_ids=[c.patient_id for c in page],
            fields=disclosed,
            data={"queue": status or "all", "rows": len(rows), "client_id": client_id},
            api_token_prefix=api_token_prefix,
        )
    return QueuePage(
        rows=rows, next_after=page[-1].pk if more and page else None, withheld=withheld
    )


def claim_queue_count(*, membership: Membership, status: str | None) -> int:
    """How many claims a queue holds (a count, no PHI; not audited)."""
    capability_require(membership, Capability.BILLING_VIEW_PHI)
    claims = _claims(membership)
    return (claims.filter(status=status) if status else claims).count()


def _denial_reasons(claim_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    adjustments = Adjustment.objects.filter(payment__claim_id__in=claim_ids).select_related(
        "payment"
    )
    for adjustment in adjustments:
        found.setdefault(adjustment.payment.claim_id or 0, []).append(adjustment_words(adjustment))
    remarks = RemarkCode.objects.filter(payment__claim_id__in=claim_ids).select_related("payment")
    for remark in remarks:
        found.setdefault(remark.payment.claim_id or 0, []).append(
            {
                "reason": remark.code,
                "reason_words": remark_words(remark)["words"],
                "group": "",
                "group_words": "Remark",
                "amount": None,
                "line": remark.line_number,
            }
        )
    return found


# --- Unmatched payments ------------------------------------------------------------------


@dataclass
class UnmatchedRow:
    payment_id: int
    client: str
    payer: str
    trace_number: str
    paid: Decimal
    charge: Decimal
    status_code: str
    projected: Projected


def unmatched_payments(
    *, membership: Membership, purpose: str, api_token_prefix: str = ""
) -> list[UnmatchedRow]:
    """835 payments that matched no claim, for payment posters."""
    capability_require(membership, Capability.BILLING_POST_PAYMENTS)
    fields = projection_for(membership, purpose)
    payments = (
        ClaimPayment.objects.for_organization(membership.organization)
        .filter(claim__isnull=True, remittance__client__in=clients_reached(membership))
        .select_related("remittance__payer", "remittance__client")
        .order_by("pk")[:QUEUE_PAGE_MAX]
    )
    cipher = cipher_for(membership.organization)
    projector = _Projector(cipher, fields, purpose)
    rows, disclosed = [], set()
    for payment in payments:
        out = Projected()
        projector.put(
            out,
            F.PATIENT_NAME,
            lambda p=payment: phi.name_text(
                phi.open_json(cipher, p, "patient_name_ct", p.patient_name_ct)
            ),
        )
        projector.put(
            out,
            F.ACCOUNT_NUMBER,
            lambda p=payment: phi.open_text(cipher, p, "account_number_ct", p.account_number_ct),
        )
        projector.put(
            out,
            F.PAYER_CLAIM_NUMBER,
            lambda p=payment: (
                phi.open_text(cipher, p, "payer_claim_number_ct", p.payer_claim_number_ct) or ""
            ),
        )
        disclosed |= out.disclosed
        rows.append(
            UnmatchedRow(
                payment.pk,
                payment.remittance.client.name,
                payment.remittance.payer.name,
                payment.remittance.trace_number,
                payment.paid,
                payment.charge,
                payment.status_code,
                out,
            )
        )
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_QUEUE_VIEWED,
            purpose=purpose,
            patient_ids=[],
            fields=disclosed,
            data={"queue": "unmatched_payments", "rows": len(rows)},
            api_token_prefix=api_token_prefix,
        )
    return rows


# --- Patient look-up (exact identifiers only; no browsing) -------------------------------


class LookupKind:
    MEMBER_ID = "member_id"
    ACCOUNT_NUMBER = "account_number"
    NAME_AND_BIRTH_DATE = "name_dob"


@dataclass
class PatientMatch:
    patient_id: int
    client: str
    projected: Projected
    claim_ids: list[int]


def patient_lookup(
    *,
    membership: Membership,
    purpose: str,
    kind: str,
    value: str = "",
    last_name: str = "",
    first_name: str = "",
    birth_date: dt.date | None = None,
    api_token_prefix: str = "",
) -> list[PatientMatch]:
    """Patients that match one exact identifier. The identifier itself is never recorded;
    the event says which kind was used and which patients it found."""
    fields = projection_for(membership, purpose)
    cipher = cipher_for(membership.organization)
    patients = Patient.objects.for_organization(membership.organization).filter(
        client__in=clients_reached(membership)
    )
    if kind == LookupKind.MEMBER_ID and value.strip():
        index = phi.identifier_index(cipher, phi.INDEX_MEMBER_ID, value)
        patients = patients.filter(coverages__member_id_bidx=index)
    elif kind == LookupKind.ACCOUNT_NUMBER and value.strip():
        index = phi.identifier_index(cipher, phi.INDEX_ACCOUNT, value)
        patients = patients.filter(claims__account_number_bidx=index)
    elif (
        kind == LookupKind.NAME_AND_BIRTH_DATE
        and last_name.strip()
        and first_name.strip()
        and birth_date
    ):
        patients = patients.filter(
            name_dob_bidx=phi.name_dob_index(cipher, last_name, first_name, birth_date)
        )
    else:
        raise ValidationError(
            "Look up by a member id, an account number, or a full name with date of birth."
        )
    found = list(patients.distinct().select_related("client")[:20])
    projector = _Projector(cipher, fields, purpose)
    matches, disclosed = [], set()
    claim_ids: dict[int, list[int]] = {}
    for claim_id, patient_id in (
        _claims(membership).filter(patient__in=found).values_list("pk", "patient_id")
    ):
        claim_ids.setdefault(patient_id, []).append(claim_id)
    for patient in found:
        out = Projected()
        projector.patient(out, patient, timezone.localdate())
        disclosed |= out.disclosed
        matches.append(
            PatientMatch(patient.pk, patient.client.name, out, claim_ids.get(patient.pk, []))
        )
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_PATIENT_LOOKUP,
            purpose=purpose,
            patient_ids=[p.pk for p in found],
            fields=disclosed,
            data={"kind": kind, "matches": len(found)},
            api_token_prefix=api_token_prefix,
        )
    return matches
