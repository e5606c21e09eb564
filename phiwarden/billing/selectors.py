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
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.http import Http404
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.audit.services import audit_event_record
from phiwarden.billing import phi, reemit
from phiwarden.billing.minimum_necessary import (
    ALL_BUT_SSN,
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
    ExportRequest,
    Patient,
    RemarkCode,
    Remittance,
    ServiceLine,
)
from phiwarden.billing.x12 import models as x12_models
from phiwarden.billing.x12.codes import (
    describe_carc,
    describe_claim_status,
    describe_group,
    describe_rarc,
)
from phiwarden.billing.x12.parser import parse_837
from phiwarden.core.statements import CompiledQuery
from phiwarden.vault.blobs import blob_read
from phiwarden.vault.services import (
    KeyRows,
    OrganizationCipher,
    cipher_for,
    key_rows_expression,
)

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
            outcome=Outcome.DENIED,
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


_Row = TypeVar("_Row", bound=Model)


def _reached(
    rows: QuerySet[_Row], organization_id: int, membership_id: int, *, claim: str = ""
) -> QuerySet[_Row]:
    """The one spelling of which claims a member reaches: the member's organization, and a
    client of it assigned to the member (`membership_id`), or any of its clients when the
    role reaches all clients (`membership_id` 0). `rows` are claims, or rows of a claim
    when `claim` names the path to it ("claim__"). Joins rather than nested subqueries,
    which cost more to build than to run on the hot read."""
    rows = rows.filter(
        **{
            f"{claim}organization_id": organization_id,
            f"{claim}client__organization_id": organization_id,
        }
    )
    if membership_id:
        rows = rows.filter(**{f"{claim}client__assigned_memberships": membership_id})
    return rows


def _claims(membership: Membership) -> QuerySet[Claim]:
    assigned = 0 if membership.reaches_all_clients else membership.pk
    return _reached(Claim.objects.all(), membership.organization_id, assigned)


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


# The claim-detail read is the API's hot path, so its claim and lines queries are compiled
# once per connection (core.statements).
# Minimum necessary reaches the query: the claim-detail read loads only the columns of the
# fields its projection shows (and the keys that tie the rows together), so a withheld
# field's ciphertext never leaves the database. Each field's columns, as ORM paths:
_DETAIL_COLUMNS: dict[PhiField, tuple[str, ...]] = {
    F.PATIENT_NAME: ("patient__name_ct",),
    F.PATIENT_BIRTH_DATE: ("patient__birth_date_ct",),
    F.PATIENT_AGE: ("patient__birth_date_ct",),
    F.PATIENT_SEX: ("patient__sex_ct",),
    F.PATIENT_ADDRESS: ("patient__address_ct",),
    F.PATIENT_PHONE: ("patient__phone_ct",),
    F.PATIENT_SSN: ("patient__ssn_ct",),
    F.MEMBER_ID: ("coverage__member_id_ct",),
    F.GROUP_NUMBER: ("coverage__group_number_ct",),
    F.PAYER: ("coverage__payer__name",),
    F.ACCOUNT_NUMBER: ("account_number_ct",),
    F.PAYER_CLAIM_NUMBER: ("payer_claim_number_ct",),
    F.DIAGNOSES: ("diagnoses_ct",),
    F.PRIOR_AUTHORIZATION: ("prior_authorization_ct",),
    F.SERVICE_DATES: ("service_to",),
    F.AMOUNTS: ("total_charge", "paid_amount", "patient_responsibility"),
    F.STATUS: (),
    F.PROVIDER: ("billing_provider__name", "billing_provider__npi"),
    F.FACILITY: ("facility_code",),
    F.PROCEDURES: (),  # on the lines
    F.ADJUSTMENTS: (),  # on the payments
}
# Always: what the page names (kind, status, client), what the audit event names (patient),
# and the row keys the field encryption is bound to. service_from dates the patient's age.
_DETAIL_ALWAYS = (
    "kind",
    "status",
    "service_from",
    "row_key",
    "client__name",
    "patient__row_key",
    "coverage__row_key",
)
_LINE_COLUMNS: dict[PhiField, tuple[str, ...]] = {
    F.PROCEDURES: ("procedure_ct", "revenue_code"),
    F.AMOUNTS: ("charge", "units"),
    F.SERVICE_DATES: ("service_date",),
}
_LINE_ALWAYS = ("claim_id", "number", "restricted_from_plan", "row_key")


def _has_payments(claim_id: str) -> Exists:
    """Whether any remittance paid or adjusted the claim at `claim_id` (the outer query's
    path to its id): most claims being worked have none, and then the payments query is
    not sent at all."""
    return Exists(ClaimPayment.objects.filter(claim=OuterRef(claim_id)))


def _detail_related(fields: frozenset[PhiField]) -> tuple[set[str], set[str]]:
    """The claim's columns the projection needs (ORM paths) and its related rows."""
    columns = {path for f in fields for path in _DETAIL_COLUMNS[f]} | set(_DETAIL_ALWAYS)
    related = {"client", "patient", "coverage__payer" if F.PAYER in fields else "coverage"}
    if F.PROVIDER in fields:
        related.add("billing_provider")
    return columns, related


def _detail_claims(fields: frozenset[PhiField], *, assigned: bool) -> CompiledQuery[Claim]:
    """The claim alone, for a claim without lines: the claim if the member reaches it
    (`_reached`; no LIMIT, which doubled PostgreSQL's planning time), with the related rows
    the projection needs, in one row."""
    columns, related = _detail_related(fields)

    def build(organization_id: int, claim_id: int, membership_id: int = 0) -> QuerySet[Claim]:
        claims = _reached(Claim.objects.filter(pk=claim_id), organization_id, membership_id)
        return (
            claims.select_related(*sorted(related))
            .only(*sorted(columns))
            .annotate(
                has_payments=_has_payments("pk"),
                # the keys come with the claim: no round trip of their own (cipher_for)
                key_rows=key_rows_expression(organization_id),
            )
        )

    return CompiledQuery(build, ints=_detail_arguments(assigned))


def _detail_lines(fields: frozenset[PhiField], *, assigned: bool) -> CompiledQuery[ServiceLine]:
    """The claim-detail read in one statement: the claim's lines in order, each with the
    claim and its related rows as `_detail_claims` loads them, if the member reaches the
    claim (`_reached` through the line's claim). The claim's columns repeat on each line;
    a claim has a few lines, and a round trip costs more than the repeated columns."""
    claim_columns, claim_related = _detail_related(fields)
    line_columns = {p for f in fields for p in _LINE_COLUMNS.get(f, ())} | set(_LINE_ALWAYS)
    columns = line_columns | {f"claim__{path}" for path in claim_columns}
    related = {"claim"} | {f"claim__{path}" for path in claim_related}

    def build(organization_id: int, claim_id: int, membership_id: int = 0) -> QuerySet[ServiceLine]:
        lines = ServiceLine.objects.filter(claim_id=claim_id)
        return (
            _reached(lines, organization_id, membership_id, claim="claim__")
            .select_related(*sorted(related))
            .only(*sorted(columns))
            .annotate(
                has_payments=_has_payments("claim_id"),
                key_rows=key_rows_expression(organization_id),
            )
            .order_by("number")
        )

    return CompiledQuery(build, ints=_detail_arguments(assigned))


def _detail_arguments(assigned: bool) -> tuple[str, ...]:
    if assigned:
        return ("organization_id", "claim_id", "membership_id")
    return ("organization_id", "claim_id")


# One compiled query per projection (a few dozen role and purpose pairs at most).
_DETAIL_CLAIMS: dict[tuple[frozenset[PhiField], bool], CompiledQuery[Claim]] = {}
_DETAIL_LINES: dict[tuple[frozenset[PhiField], bool], CompiledQuery[ServiceLine]] = {}
_CLAIM_PAYMENTS = CompiledQuery(
    lambda claim_id: (
        ClaimPayment.objects.filter(claim_id=claim_id).only("pk", "claim_id").order_by("pk")
    ),
    ints=("claim_id",),
)


def _fetch_reached(query: CompiledQuery[_Row], membership: Membership, claim_id: int) -> list[_Row]:
    if membership.reaches_all_clients:
        return query.fetch(organization_id=membership.organization_id, claim_id=claim_id)
    return query.fetch(
        organization_id=membership.organization_id, claim_id=claim_id, membership_id=membership.pk
    )


def _claim_and_lines(
    membership: Membership, claim_id: int, fields: frozenset[PhiField]
) -> tuple[Claim, list[ServiceLine]]:
    """The claim, if the member reaches it, with its lines and the columns its projection
    needs: one statement, or two for a claim without lines; else 404. The claim carries
    `has_payments` and `key_rows`."""
    assigned = not membership.reaches_all_clients
    key = (fields, assigned)
    lines_query = _DETAIL_LINES.get(key) or _DETAIL_LINES.setdefault(
        key, _detail_lines(fields, assigned=assigned)
    )
    lines = _fetch_reached(lines_query, membership, claim_id)
    if lines:
        first = lines[0]
        claim = first.claim
        claim.has_payments = first.has_payments  # type: ignore[attr-defined]
        claim.key_rows = first.key_rows  # type: ignore[attr-defined]
        for line in lines[1:]:
            line.claim = claim  # one claim instance, as a separate read would give
        return claim, lines
    claim_query = _DETAIL_CLAIMS.get(key) or _DETAIL_CLAIMS.setdefault(
        key, _detail_claims(fields, assigned=assigned)
    )
    found = _fetch_reached(claim_query, membership, claim_id)
    if not found:
        raise Http404
    return found[0], []


def claim_detail(
    *, membership: Membership, claim_id: int, purpose: str, api_token_prefix: str = ""
) -> ClaimDetail:
    fields = projection_for(membership, purpose)
    # A fixed, small number of cheap queries however many lines and payments the claim
    # has: its lines with the claim and its related rows and, only when the projection
    # shows adjustments and the claim has payments, those with their adjustments and
    # remarks.
    claim, claim_lines = _claim_and_lines(membership, claim_id, fields)
    payments: list[ClaimPayment] = []
    if F.ADJUSTMENTS in fields and claim.has_payments:  # type: ignore[attr-defined]
        payments = _CLAIM_PAYMENTS.fetch(claim_id=claim.pk)
        if payments:
            prefetch_related_objects(payments, "adjustments", "remarks")
    key_rows = KeyRows(claim.key_rows)  # type: ignore[attr-defined]
    projector = _Projector(cipher_for(membership.organization, key_rows=key_rows), fields, purpose)
    out = Projected()
    projector.patient(out, claim.patient, claim.service_from or timezone.localdate())
    projector.claim(out, claim)
    lines = [projector.line(line) for line in claim_lines]
    adjustments: list[dict[str, Any]] = []
    remarks: list[dict[str, Any]] = []
    for payment in payments:  # empty unless F.ADJUSTMENTS is in the projection
        adjustments += [adjustment_words(a) for a in payment.adjustments.all()]
        remarks += [remark_words(r) for r in payment.remarks.all()]
    disclosed = out.disclosed | ({F.PROCEDURES.value} if F.PROCEDURES in fields else set())
    if adjustments:
        disclosed.add(F.ADJUSTMENTS.value)
    # One audit write, atomic by itself (audit_event_record): no transaction to open here.
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
    remittance_id: int = 0  # links the row to its remittance's detail page


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
                payment.remittance_id,
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


# --- Export sizes (no PHI) -----------------------------------------------------------------


def claim_queue_size(
    *, membership: Membership, status: str | None, client_id: int | None = None
) -> int:
    """How many claims an export of this queue would hold (a count; not audited)."""
    capability_require(membership, Capability.BILLING_VIEW_PHI)
    if status and status not in ClaimStatus.values:
        raise ValidationError({"status": "Unknown claim status."})
    claims = _claims(membership)
    if status:
        claims = claims.filter(status=status)
    if client_id is not None:
        claims = claims.filter(client_id=client_id)
    return claims.count()


# --- Remittances ---------------------------------------------------------------------------

# PLB03-1 reasons (X12 code list 5010 PLB), in plain words for posters.
PLB_REASONS = {
    "72": "Authorized return (refund to the payer)",
    "90": "Early payment allowance",
    "AP": "Acceleration of benefits",
    "B2": "Rebate",
    "B3": "Recovery allowance",
    "BD": "Bad debt adjustment",
    "BN": "Bonus",
    "C5": "Temporary allowance",
    "CR": "Capitation interest",
    "CS": "Adjustment",
    "CT": "Capitation payment",
    "CV": "Capital passthru",
    "CW": "Certified registered nurse anesthetist passthru",
    "DM": "Direct medical education passthru",
    "E3": "Withholding",
    "FB": "Forwarding balance",
    "FC": "Fund allocation",
    "GO": "Graduate medical education passthru",
    "HM": "Hemophilia clotting factor supplement",
    "IP": "Incentive premium payment",
    "IR": "Internal Revenue Service withholding",
    "IS": "Interim settlement",
    "J1": "Nonreimbursable",
    "L3": "Penalty",
    "L6": "Interest owed",
    "LE": "Levy",
    "LS": "Lump sum",
    "OA": "Organ acquisition passthru",
    "OB": "Offset for affiliated providers",
    "PI": "Periodic interim payment",
    "PL": "Payment final",
    "RA": "Retro-activity adjustment",
    "RE": "Return on equity",
    "SL": "Student loan repayment",
    "TL": "Third party liability",
    "WO": "Overpayment recovery",
    "WU": "Unspecified recovery",
}


def describe_plb(code: str) -> str:
    return PLB_REASONS.get(code, f"Provider adjustment {code}")


def _remittances(membership: Membership) -> QuerySet[Remittance]:
    return Remittance.objects.for_organization(membership.organization).filter(
        client__in=clients_reached(membership)
    )


@dataclass
class RemittanceRow:
    """A remittance in the posters' list: the payment, never a patient."""

    id: int
    client: str
    payer: str
    trace_number: str
    payment_amount: Decimal
    payment_method: str
    payment_date: dt.date | None
    payments: int
    unmatched: int


@dataclass
class RemittancePage:
    rows: list[RemittanceRow]
    next_after: int | None


def remittance_list(
    *, membership: Membership, after: int | None = None, limit: int = 50
) -> RemittancePage:
    """Remittances (835 payments) newest first, for payment posters. Payer, trace number
    and amounts only: nothing about a person, so nothing to project or audit."""
    capability_require(membership, Capability.BILLING_POST_PAYMENTS)
    limit = max(1, min(limit, QUEUE_PAGE_MAX))
    remittances = _remittances(membership).select_related("payer", "client")
    if after is not None:
        remittances = remittances.filter(pk__lt=after)
    page = list(
        remittances.annotate(
            payment_count=Count("payments"),
            unmatched_count=Count("payments", filter=Q(payments__claim__isnull=True)),
        ).order_by("-pk")[: limit + 1]
    )
    more = len(page) > limit
    page = page[:limit]
    rows = [
        RemittanceRow(
            id=r.pk,
            client=r.client.name,
            payer=r.payer.name,
            trace_number=r.trace_number,
            payment_amount=r.payment_amount,
            payment_method=r.payment_method,
            payment_date=r.payment_date,
            payments=r.payment_count,
            unmatched=r.unmatched_count,
        )
        for r in page
    ]
    return RemittancePage(rows=rows, next_after=page[-1].pk if more and page else None)


@dataclass
class RemittancePaymentRow:
    payment_id: int
    claim_id: int | None  # the matched claim, when the member may open it
    status_code: str
    status_words: str
    projected: Projected
    adjustments: list[dict[str, Any]]
    remarks: list[dict[str, Any]]


@dataclass
class RemittanceDetail:
    id: int
    client: str
    payer: str
    trace_number: str
    payment_amount: Decimal
    payment_method: str
    payment_date: dt.date | None
    purpose: str
    payments: list[RemittancePaymentRow]
    provider_adjustments: list[dict[str, Any]]
    withheld: dict[str, str]


REMITTANCE_FIELDS = (
    F.PATIENT_NAME,
    F.ACCOUNT_NUMBER,
    F.PAYER_CLAIM_NUMBER,
    F.MEMBER_ID,
    F.AMOUNTS,
    F.ADJUSTMENTS,
)


def _payment_projection(
    projector: _Projector, cipher: OrganizationCipher, payment: ClaimPayment
) -> Projected:
    out = Projected()
    p = payment
    projector.put(
        out,
        F.PATIENT_NAME,
        lambda: phi.name_text(phi.open_json(cipher, p, "patient_name_ct", p.patient_name_ct)),
    )
    projector.put(
        out,
        F.ACCOUNT_NUMBER,
        lambda: phi.open_text(cipher, p, "account_number_ct", p.account_number_ct) or "",
    )
    projector.put(
        out,
        F.PAYER_CLAIM_NUMBER,
        lambda: phi.open_text(cipher, p, "payer_claim_number_ct", p.payer_claim_number_ct) or "",
    )
    projector.put(
        out, F.MEMBER_ID, lambda: phi.open_text(cipher, p, "member_id_ct", p.member_id_ct) or ""
    )
    projector.put(
        out,
        F.AMOUNTS,
        lambda: {
            "charge": p.charge,
            "paid": p.paid,
            "patient_responsibility": p.patient_responsibility,
        },
    )
    return out


def remittance_detail(
    *, membership: Membership, remittance_id: int, purpose: str, api_token_prefix: str = ""
) -> RemittanceDetail:
    """One 835 remittance: its claim payments (linked to their claims), CARC/RARC in plain
    words, and provider-level (PLB) adjustments, projected for the (role, purpose) pair.
    The audit event names the patients of the matched claims and the fields disclosed."""
    fields = projection_for(membership, purpose)
    remittance = (
        _remittances(membership)
        .select_related("payer", "client")
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=ClaimPayment.objects.select_related("claim")
                .prefetch_related("adjustments", "remarks")
                .order_by("pk"),
            ),
            "provider_adjustments",
        )
        .filter(pk=remittance_id)
        .first()
    )
    if remittance is None:
        raise Http404
    cipher = cipher_for(membership.organization)
    projector = _Projector(cipher, fields, purpose)
    reachable = set(clients_reached(membership).values_list("pk", flat=True))
    rows: list[RemittancePaymentRow] = []
    disclosed: set[str] = set()
    patient_ids: list[int] = []
    for payment in remittance.payments.all():
        out = _payment_projection(projector, cipher, payment)
        disclosed |= out.disclosed
        adjustments: list[dict[str, Any]] = []
        remarks: list[dict[str, Any]] = []
        if F.ADJUSTMENTS in fields:
            adjustments = [adjustment_words(a) for a in payment.adjustments.all()]
            remarks = [remark_words(r) for r in payment.remarks.all()]
            if adjustments or remarks:
                disclosed.add(F.ADJUSTMENTS.value)
        claim = payment.claim
        claim_id = claim.pk if claim is not None and claim.client_id in reachable else None
        if claim is not None:
            patient_ids.append(claim.patient_id)
        rows.append(
            RemittancePaymentRow(
                payment_id=payment.pk,
                claim_id=claim_id,
                status_code=payment.status_code,
                status_words=describe_claim_status(payment.status_code),
                projected=out,
                adjustments=adjustments,
                remarks=remarks,
            )
        )
    plb: list[dict[str, Any]] = []
    for item in remittance.provider_adjustments.all():
        entry: dict[str, Any] = {
            "reason": item.reason_code,
            "reason_words": describe_plb(item.reason_code),
            "amount": item.amount,
        }
        # The reference is often a recouped claim's account or payer claim number.
        if F.ACCOUNT_NUMBER in fields and F.PAYER_CLAIM_NUMBER in fields:
            entry["reference"] = (
                phi.open_text(cipher, item, "reference_ct", item.reference_ct) or ""
            )
            if entry["reference"]:
                disclosed.add(F.ACCOUNT_NUMBER.value)
        plb.append(entry)
    withheld = {f.value: projector.reason for f in REMITTANCE_FIELDS if f not in fields}
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_PHI_VIEWED,
            purpose=purpose,
            patient_ids=patient_ids,
            fields=disclosed,
            target=remittance,
            data={
                "client_id": remittance.client_id,
                "view": "remittance",
                "payments": len(rows),
            },
            api_token_prefix=api_token_prefix,
        )
    return RemittanceDetail(
        id=remittance.pk,
        client=remittance.client.name,
        payer=remittance.payer.name,
        trace_number=remittance.trace_number,
        payment_amount=remittance.payment_amount,
        payment_method=remittance.payment_method,
        payment_date=remittance.payment_date,
        purpose=purpose,
        payments=rows,
        provider_adjustments=plb,
        withheld=withheld,
    )


# --- Claim data for the health plan (self-pay restrictions) ---------------------------------


class _ChunkStream(io.RawIOBase):
    """A file-like view of the decrypted chunks of a stored X12 file (for the reader)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._chunks, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


@dataclass
class PlanFile:
    content: bytes
    filename: str
    lines_left_out: int


def _parsed_claim(claim: Claim, account_number: str) -> x12_models.Claim:
    """The claim as it stands in its stored original 837 (matched by CLM01 and lines)."""
    numbers = sorted(line.number for line in claim.lines.all())
    stream = _ChunkStream(blob_read(claim.source_file.blob))
    for parsed in parse_837(stream):
        if (
            parsed.patient_control_number == account_number
            and sorted(line.number for line in parsed.service_lines) == numbers
        ):
            return parsed
    raise ValidationError("The stored original file no longer holds this claim.")


def claim_x12_for_plan(
    *, membership: Membership, claim_id: int, api_token_prefix: str = ""
) -> PlanFile:
    """The 837 of one claim for its health plan, rebuilt from the stored original file
    without the lines the patient restricted (45 CFR 164.522(a)(1)(vi)).

    Claim submission staff send claims to plans (payment); the file carries the data the
    implementation guide requires, which the minimum-necessary standard excepts
    (45 CFR 164.502(b)(2)(vi)), less the subscriber's SSN. The audit event is an export
    naming the patient and every field class the file holds."""
    capability_require(membership, Capability.BILLING_WORK_CLAIMS)
    claim = (
        _claims(membership)
        .select_related("source_file__blob", "patient")
        .prefetch_related("lines")
        .filter(pk=claim_id)
        .first()
    )
    if claim is None:
        raise Http404
    cipher = cipher_for(membership.organization)
    account = phi.open_text(cipher, claim, "account_number_ct", claim.account_number_ct) or ""
    restricted = {line.number for line in claim.lines.all() if line.restricted_from_plan}
    try:
        content = reemit.claim_for_plan(_parsed_claim(claim, account), restricted)
    except reemit.NothingLeftToSend as error:
        raise ValidationError(str(error)) from None
    with transaction.atomic():
        _record(
            membership,
            code=EventCode.BILLING_EXPORTED,
            purpose=Purpose.PAYMENT,
            patient_ids=[claim.patient_id],
            fields=sorted(f.value for f in ALL_BUT_SSN if f != F.PATIENT_AGE),
            target=claim,
            data={
                "client_id": claim.client_id,
                "view": "claim_837_for_plan",
                "lines_left_out": len(restricted),
            },
            api_token_prefix=api_token_prefix,
        )
    return PlanFile(
        content=content,
        filename=f"claim-{claim.pk}-for-plan.{claim.kind.lower()}.x12",
        lines_left_out=len(restricted),
    )


# --- Export requests (no PHI: queue parameters, counts, people) ------------------------------


def export_requests_to_decide(*, membership: Membership, limit: int = 100) -> list[ExportRequest]:
    """Every request of the organization for privacy officers: open ones first, then the
    latest decisions."""
    capability_require(membership, Capability.BILLING_APPROVE_EXPORTS)
    requests = ExportRequest.objects.for_organization(membership.organization).select_related(
        "requester", "approver", "client"
    )
    pending = list(requests.filter(state=ExportRequest.State.REQUESTED).order_by("pk")[:limit])
    decided = list(
        requests.exclude(state=ExportRequest.State.REQUESTED).order_by("-decided_at", "-pk")[:limit]
    )
    return pending + decided


def export_requests_mine(*, membership: Membership, limit: int = 100) -> list[ExportRequest]:
    """The member's own export requests, newest first."""
    capability_require(membership, Capability.BILLING_EXPORT)
    return list(
        ExportRequest.objects.for_organization(membership.organization)
        .filter(requester=membership.user)
        .select_related("approver", "client")
        .order_by("-pk")[:limit]
    )
