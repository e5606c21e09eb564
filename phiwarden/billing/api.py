"""Billing API: the same selectors as the pages (the PHI door), with a purpose on every
read. Look-ups are POSTs so identifiers never sit in a URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.models import Client
from phiwarden.accounts.roles import Capability
from phiwarden.billing import selectors, services
from phiwarden.billing.imports import ImportRefused, x12_import
from phiwarden.billing.models import ExportRequest

router = Router(tags=["billing"])


# The endpoints return the selectors' dataclasses; these schemas read them by attribute
# (ninja's Schema), once, and emit exactly the fields listed here: an attribute a selector
# adds is not in a response until a schema names it.
class ProjectedOut(Schema):
    values: dict[str, Any]
    withheld: dict[str, str]


class QueueRowOut(Schema):
    claim_id: int
    client: str
    status: str
    projected: ProjectedOut
    reasons: list[dict[str, Any]]


class QueueOut(Schema):
    rows: list[QueueRowOut]
    next_after: int | None
    withheld: dict[str, str]


class ClaimOut(Schema):
    id: int
    kind: str
    client: str
    status: str
    purpose: str
    projected: ProjectedOut
    lines: list[dict[str, Any]]
    adjustments: list[dict[str, Any]]
    remarks: list[dict[str, Any]]


class UnmatchedOut(Schema):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # amounts as exact decimal text

    payment_id: int
    client: str
    payer: str
    trace_number: str
    paid: str
    charge: str
    status_code: str
    projected: ProjectedOut


class LookupIn(Schema):
    purpose: str
    kind: str
    value: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: dt.date | None = None


class PatientOut(Schema):
    patient_id: int
    client: str
    projected: ProjectedOut
    claim_ids: list[int]


class ImportOut(Schema):
    file_id: int | None
    duplicate: bool
    claims: int
    payments: int
    unmatched_payments: int


@router.get("/claims", response=QueueOut)
def claims(
    request: HttpRequest,
    purpose: str,
    status: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> selectors.QueuePage:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    return selectors.claim_queue(
        membership=token.membership,
        purpose=purpose,
        status=status,
        after=after,
        limit=limit,
        api_token_prefix=token.prefix,
    )


@router.get("/claims/{claim_id}", response=ClaimOut)
def claim(request: HttpRequest, claim_id: int, purpose: str) -> selectors.ClaimDetail:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    return selectors.claim_detail(
        membership=token.membership,
        claim_id=claim_id,
        purpose=purpose,
        api_token_prefix=token.prefix,
    )


@router.get("/payments/unmatched", response=list[UnmatchedOut])
def unmatched(request: HttpRequest, purpose: str) -> list[selectors.UnmatchedRow]:
    token = token_require(request, Capability.BILLING_POST_PAYMENTS)
    return selectors.unmatched_payments(
        membership=token.membership, purpose=purpose, api_token_prefix=token.prefix
    )


@router.post("/patients/lookup", response=list[PatientOut])
def patient_lookup(request: HttpRequest, body: LookupIn) -> list[selectors.PatientMatch]:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    return selectors.patient_lookup(
        membership=token.membership,
        purpose=body.purpose,
        kind=body.kind,
        value=body.value,
        last_name=body.last_name,
        first_name=body.first_name,
        birth_date=body.birth_date,
        api_token_prefix=token.prefix,
    )


@router.post("/imports", response={201: ImportOut, 200: ImportOut})
def import_file(
    request: HttpRequest, client_id: Form[int], file: File[UploadedFile]
) -> Status[ImportOut]:
    token = token_require(request, Capability.BILLING_IMPORT)
    client = (
        Client.objects.for_organization(token.membership.organization).filter(pk=client_id).first()
    )
    if client is None:
        raise ImportRefused("No such client in your organization.")
    result = x12_import(
        actor=token.membership,
        client=client,
        stream=file,
        filename=file.name or "upload.x12",
        channel="api_tls",
    )
    out = ImportOut(
        file_id=result.file.pk if result.file else None,
        duplicate=result.duplicate,
        claims=result.claims,
        payments=result.payments,
        unmatched_payments=result.unmatched_payments,
    )
    return Status(200 if result.duplicate else 201, out)


# --- Export requests (decisions and downloads need re-authentication: pages only) ------


class ExportRequestIn(Schema):
    purpose: str
    status: str | None = None
    client_id: int | None = None
    format: str = "csv"
    recipient: str
    reason: str


class ExportRequestOut(Schema):
    id: int
    state: str
    purpose: str
    queue_status: str
    client_id: int | None
    format: str
    rows_requested: int
    recipient: str
    reason: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str
    expires_at: dt.datetime | None
    downloaded_at: dt.datetime | None


def _export_request_out(r: ExportRequest) -> ExportRequestOut:
    now = timezone.now()
    return ExportRequestOut(
        id=r.pk,
        state=ExportRequest.State.EXPIRED.value if r.is_expired(now) else r.state,
        purpose=r.purpose,
        queue_status=r.queue_status,
        client_id=r.client_id,
        format=r.file_format,
        rows_requested=r.rows_requested,
        recipient=r.recipient,
        reason=r.reason,
        created_at=r.created_at,
        decided_at=r.decided_at,
        decision_reason=r.decision_reason,
        expires_at=r.expires_at,
        downloaded_at=r.downloaded_at,
    )


@router.get("/export-requests", response=list[ExportRequestOut])
def export_requests(request: HttpRequest) -> list[ExportRequestOut]:
    """The token holder's own export requests, newest first."""
    token = token_require(request, Capability.BILLING_EXPORT)
    return [
        _export_request_out(r) for r in selectors.export_requests_mine(membership=token.membership)
    ]


@router.post("/export-requests", response={201: ExportRequestOut})
def export_request_create(request: HttpRequest, body: ExportRequestIn) -> Status[ExportRequestOut]:
    """Ask a privacy officer to approve an export; approve and download on the pages."""
    token = token_require(request, Capability.BILLING_EXPORT)
    created = services.export_request_create(
        actor=token.membership,
        purpose=body.purpose,
        status=body.status,
        client_id=body.client_id,
        file_format=body.format,
        recipient=body.recipient,
        reason=body.reason,
    )
    return Status(201, _export_request_out(created))


# --- Self-pay restrictions and the claim for the plan ----------------------------------


class RestrictionIn(Schema):
    line_numbers: list[int]
    paid_in_full: bool
    note: str = ""


class RestrictionOut(Schema):
    claim_id: int
    recorded: list[int]
    already: list[int]


@router.post("/claims/{claim_id}/restrictions", response={201: RestrictionOut})
def claim_restrict(
    request: HttpRequest, claim_id: int, body: RestrictionIn
) -> Status[RestrictionOut]:
    token = token_require(request, Capability.BILLING_RECORD_RESTRICTIONS)
    if not body.paid_in_full:
        raise ValidationError(
            {"paid_in_full": "Only services paid in full out of pocket may be restricted."}
        )
    result = services.restriction_record(
        actor=token.membership, claim_id=claim_id, line_numbers=body.line_numbers, note=body.note
    )
    return Status(
        201,
        RestrictionOut(claim_id=result.claim_id, recorded=result.recorded, already=result.already),
    )


class RestrictionLiftIn(Schema):
    line_numbers: list[int]
    basis: str  # "written" or "oral" (45 CFR 164.522(a)(2)(i), (ii))


class RestrictionLiftOut(Schema):
    claim_id: int
    released: list[int]


@router.post("/claims/{claim_id}/restrictions/lift", response=RestrictionLiftOut)
def claim_restriction_lift(
    request: HttpRequest, claim_id: int, body: RestrictionLiftIn
) -> RestrictionLiftOut:
    """End self-pay restrictions at the patient's request (written, or oral and documented)."""
    token = token_require(request, Capability.BILLING_RECORD_RESTRICTIONS)
    released = services.restriction_lift(
        actor=token.membership, claim_id=claim_id, line_numbers=body.line_numbers, basis=body.basis
    )
    return RestrictionLiftOut(claim_id=claim_id, released=released)


@router.get("/claims/{claim_id}/x12-for-plan")
def claim_x12_for_plan(request: HttpRequest, claim_id: int) -> HttpResponse:
    """The claim's 837 for its health plan, without self-pay restricted lines."""
    token = token_require(request, Capability.BILLING_WORK_CLAIMS)
    plan = selectors.claim_x12_for_plan(
        membership=token.membership, claim_id=claim_id, api_token_prefix=token.prefix
    )
    response = HttpResponse(plan.content, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="{plan.filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Remittances -----------------------------------------------------------------------


class RemittanceRowOut(Schema):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # amounts as exact decimal text

    id: int
    client: str
    payer: str
    trace_number: str
    payment_amount: str
    payment_method: str
    payment_date: dt.date | None
    payments: int
    unmatched: int


class RemittancePageOut(Schema):
    rows: list[RemittanceRowOut]
    next_after: int | None


class RemittancePaymentOut(Schema):
    payment_id: int
    claim_id: int | None
    status_code: str
    status_words: str
    projected: ProjectedOut
    adjustments: list[dict[str, Any]]
    remarks: list[dict[str, Any]]


class RemittanceOut(Schema):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # amounts as exact decimal text

    id: int
    client: str
    payer: str
    trace_number: str
    payment_amount: str
    payment_method: str
    payment_date: dt.date | None
    purpose: str
    payments: list[RemittancePaymentOut]
    provider_adjustments: list[dict[str, Any]]
    withheld: dict[str, str]


@router.get("/remittances", response=RemittancePageOut)
def remittances(
    request: HttpRequest, after: int | None = None, limit: int = 50
) -> selectors.RemittancePage:
    token = token_require(request, Capability.BILLING_POST_PAYMENTS)
    return selectors.remittance_list(membership=token.membership, after=after, limit=limit)


@router.get("/remittances/{remittance_id}", response=RemittanceOut)
def remittance(
    request: HttpRequest, remittance_id: int, purpose: str
) -> selectors.RemittanceDetail:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    return selectors.remittance_detail(
        membership=token.membership,
        remittance_id=remittance_id,
        purpose=purpose,
        api_token_prefix=token.prefix,
    )
