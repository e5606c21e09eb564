"""Billing API: the same selectors as the pages (the PHI door), with a purpose on every
read. Look-ups are POSTs so identifiers never sit in a URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from phiwarden.accounts.api_auth import token_require
from phiwarden.accounts.models import Client
from phiwarden.accounts.roles import Capability
from phiwarden.billing import selectors
from phiwarden.billing.imports import ImportRefused, x12_import

router = Router(tags=["billing"])


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


def _projected(p: selectors.Projected) -> ProjectedOut:
    return ProjectedOut(values=p.values, withheld=p.withheld)


@router.get("/claims", response=QueueOut)
def claims(
    request: HttpRequest,
    purpose: str,
    status: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> QueueOut:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    page = selectors.claim_queue(
        membership=token.membership,
        purpose=purpose,
        status=status,
        after=after,
        limit=limit,
        api_token_prefix=token.prefix,
    )
    return QueueOut(
        rows=[
            QueueRowOut(
                claim_id=r.claim_id,
                client=r.client,
                status=r.status,
                projected=_projected(r.projected),
                reasons=r.reasons,
            )
            for r in page.rows
        ],
        next_after=page.next_after,
        withheld=page.withheld,
    )


@router.get("/claims/{claim_id}", response=ClaimOut)
def claim(request: HttpRequest, claim_id: int, purpose: str) -> ClaimOut:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    detail = selectors.claim_detail(
        membership=token.membership,
        claim_id=claim_id,
        purpose=purpose,
        api_token_prefix=token.prefix,
    )
    return ClaimOut(
        id=detail.id,
        kind=detail.kind,
        client=detail.client,
        status=detail.status,
        purpose=detail.purpose,
        projected=_projected(detail.projected),
        lines=detail.lines,
        adjustments=detail.adjustments,
        remarks=detail.remarks,
    )


@router.get("/payments/unmatched", response=list[UnmatchedOut])
def unmatched(request: HttpRequest, purpose: str) -> list[UnmatchedOut]:
    token = token_require(request, Capability.BILLING_POST_PAYMENTS)
    rows = selectors.unmatched_payments(
        membership=token.membership, purpose=purpose, api_token_prefix=token.prefix
    )
    return [
        UnmatchedOut(
            payment_id=r.payment_id,
            client=r.client,
            payer=r.payer,
            trace_number=r.trace_number,
            paid=str(r.paid),
            charge=str(r.charge),
            status_code=r.status_code,
            projected=_projected(r.projected),
        )
        for r in rows
    ]


@router.post("/patients/lookup", response=list[PatientOut])
def patient_lookup(request: HttpRequest, body: LookupIn) -> list[PatientOut]:
    token = token_require(request, Capability.BILLING_VIEW_PHI)
    matches = selectors.patient_lookup(
        membership=token.membership,
        purpose=body.purpose,
        kind=body.kind,
        value=body.value,
        last_name=body.last_name,
        first_name=body.first_name,
        birth_date=body.birth_date,
        api_token_prefix=token.prefix,
    )
    return [
        PatientOut(
            patient_id=m.patient_id,
            client=m.client,
            projected=_projected(m.projected),
            claim_ids=m.claim_ids,
        )
        for m in matches
    ]


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
