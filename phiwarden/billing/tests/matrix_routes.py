"""The billing pages and API in the authorization matrix (see core/tests/matrix.py).

Each organization of the matrix's world gets a small synthetic 837P and 835 imported
through the real import path, so every route has a claim, a payment and identifiers to
work on."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.utils import timezone

from phiwarden.accounts.models import Membership, User
from phiwarden.accounts.roles import Capability, Role
from phiwarden.audit.codes import EventCode
from phiwarden.billing import phi, services
from phiwarden.billing.export_limits import APPROVAL_WINDOW_HOURS
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import (
    Claim,
    ClaimPayment,
    ExportRecord,
    ExportRequest,
    Patient,
    PlanRestriction,
    Remittance,
    ServiceLine,
    X12File,
)
from phiwarden.billing.synthetic import generate_batch
from phiwarden.core.tests.matrix import (
    GET_POST,
    POST,
    ApiRoute,
    Contribution,
    OrgRoute,
    Param,
    TenantSeed,
)
from phiwarden.vault.models import EncryptedBlob
from phiwarden.vault.services import cipher_for

C = Capability
UPLOAD_SEED = 41  # a batch the world has not imported, so an allowed upload creates rows


def _upload() -> SimpleUploadedFile:
    stream = io.BytesIO()
    generate_batch(seed=UPLOAD_SEED, claims=2).write_837p(stream)
    return SimpleUploadedFile("claims.837", stream.getvalue(), content_type="text/plain")


LOOKUP_FORM = {"purpose": "payment", "kind": "account_number", "value": Param("account_number")}

ORG_ROUTES = {
    "billing:claim-queue": OrgRoute(C.BILLING_VIEW_PHI),
    "billing:claim-detail": OrgRoute(C.BILLING_VIEW_PHI),
    "billing:unmatched-payments": OrgRoute(C.BILLING_POST_PAYMENTS),
    "billing:patient-lookup": OrgRoute(
        C.BILLING_VIEW_PHI,
        GET_POST,
        form=LOOKUP_FORM,
        post_status=(200,),
        allowed_event=EventCode.BILLING_PATIENT_LOOKUP.value,
    ),
    "billing:x12-upload": OrgRoute(
        C.BILLING_IMPORT, GET_POST, form={"client": Param("import_client_id"), "file": _upload}
    ),
    "billing:queue-export": OrgRoute(
        C.BILLING_EXPORT,
        POST,
        reauthentication=True,
        post_status=(200,),
        form={
            "purpose": "payment",
            "format": "csv",
            "recipient": "Matrix recipient",
            "reason": "Matrix probe",
        },
        allowed_event=EventCode.BILLING_EXPORTED.value,
    ),
    "billing:claim-restrict": OrgRoute(
        C.BILLING_RECORD_RESTRICTIONS,
        POST,
        form={"line_numbers": ["1"], "paid_in_full": "on", "note": "Matrix self-pay"},
    ),
    "billing:claim-restriction-lift": OrgRoute(
        C.BILLING_RECORD_RESTRICTIONS,
        POST,
        form={"line_numbers": [Param("restricted_line")], "basis": "written"},
    ),
    "billing:claim-plan-837": OrgRoute(
        C.BILLING_WORK_CLAIMS,
        POST,
        reauthentication=True,
        post_status=(200,),
        allowed_event=EventCode.BILLING_EXPORTED.value,
    ),
    "billing:remittance-list": OrgRoute(C.BILLING_POST_PAYMENTS),
    "billing:remittance-detail": OrgRoute(C.BILLING_VIEW_PHI),
    "billing:export-request-list": OrgRoute(C.BILLING_APPROVE_EXPORTS),
    "billing:export-request-decide": OrgRoute(
        C.BILLING_APPROVE_EXPORTS,
        POST,
        reauthentication=True,
        form={
            "request_id": Param("export_request_id"),
            "decision": "approve",
            "reason": "Matrix approval",
        },
    ),
    "billing:export-request-mine": OrgRoute(C.BILLING_EXPORT),
    # Only the requester downloads, and the world's requester is a member outside the role
    # table (a second privacy officer): every role's try is answered 404 and recorded as a
    # denial. The requester's own download is tested in test_export_requests.py.
    "billing:export-request-download": OrgRoute(
        C.BILLING_EXPORT,
        POST,
        reauthentication=True,
        form={"request_id": Param("approved_export_request_id")},
        post_status=(404,),
        allowed_event=EventCode.ACCESS_DENIED.value,
    ),
}

API_ROUTES = {
    "GET /api/v1/billing/claims": ApiRoute(C.BILLING_VIEW_PHI),
    "GET /api/v1/billing/claims/{claim_id}": ApiRoute(C.BILLING_VIEW_PHI),
    "GET /api/v1/billing/payments/unmatched": ApiRoute(C.BILLING_POST_PAYMENTS),
    "POST /api/v1/billing/patients/lookup": ApiRoute(
        C.BILLING_VIEW_PHI, body=LOOKUP_FORM, allowed_event=EventCode.BILLING_PATIENT_LOOKUP.value
    ),
    "POST /api/v1/billing/imports": ApiRoute(
        C.BILLING_IMPORT,
        multipart={"client_id": Param("import_client_id"), "file": _upload},
        ok_status=(201,),
    ),
    "GET /api/v1/billing/export-requests": ApiRoute(C.BILLING_EXPORT),
    "POST /api/v1/billing/export-requests": ApiRoute(
        C.BILLING_EXPORT,
        body={
            "purpose": "payment",
            "format": "csv",
            "recipient": "Matrix recipient",
            "reason": "Matrix probe",
        },
        ok_status=(201,),
    ),
    "POST /api/v1/billing/claims/{claim_id}/restrictions": ApiRoute(
        C.BILLING_RECORD_RESTRICTIONS,
        body={"line_numbers": [1], "paid_in_full": True, "note": "Matrix self-pay"},
        ok_status=(201,),
    ),
    "POST /api/v1/billing/claims/{claim_id}/restrictions/lift": ApiRoute(
        C.BILLING_RECORD_RESTRICTIONS,
        body={"line_numbers": [Param("restricted_line")], "basis": "oral"},
    ),
    "GET /api/v1/billing/claims/{claim_id}/x12-for-plan": ApiRoute(C.BILLING_WORK_CLAIMS),
    "GET /api/v1/billing/remittances": ApiRoute(C.BILLING_POST_PAYMENTS),
    "GET /api/v1/billing/remittances/{remittance_id}": ApiRoute(C.BILLING_VIEW_PHI),
}

SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    X12File: frozenset(),
    Patient: frozenset(),
    Claim: frozenset(),
    ClaimPayment: frozenset(),
    ExportRecord: frozenset(),
    EncryptedBlob: frozenset(),
    ServiceLine: frozenset(),
    PlanRestriction: frozenset(),
    ExportRequest: frozenset(),
}


def build(seed: TenantSeed) -> Contribution:
    owner = seed.members[Role.OWNER]
    batch = generate_batch(seed=seed.organization.pk + 100, claims=6)
    for writer in (batch.write_837p, batch.write_835):
        stream = io.BytesIO()
        writer(stream)
        stream.seek(0)
        x12_import(actor=owner, client=seed.client, stream=stream, filename="world.x12")
    # Every billing role of the world works on this client.
    for _role, membership in seed.members.items():
        if not membership.reaches_all_clients:
            membership.clients.add(seed.client)
    # A claim with two or more lines: its last line is restricted already (so ending a
    # restriction has something to end), its first is free (so recording one changes it).
    claim = next(
        c
        for c in Claim.objects.filter(organization=seed.organization).order_by("pk")
        if c.lines.count() > 1
    )
    restricted_line = claim.lines.order_by("-number").values_list("number", flat=True)[0]
    services.restriction_record(
        actor=owner, claim_id=claim.pk, line_numbers=[restricted_line], note="Matrix self-pay"
    )
    cipher = cipher_for(seed.organization)
    account = phi.open_text(cipher, claim, "account_number_ct", claim.account_number_ct) or ""
    patient = phi.open_json(cipher, claim.patient, "name_ct", claim.patient.name_ct) or {}
    requester, pending, approved = _export_requests(seed)
    remittance = Remittance.objects.filter(organization=seed.organization).order_by("pk").first()
    assert remittance is not None
    return Contribution(
        params={
            "claim_id": claim.pk,
            "restricted_line": restricted_line,
            "remittance_id": remittance.pk,
            "export_request_id": pending.pk,
            "approved_export_request_id": approved.pk,
            "import_client_id": seed.client.pk,
            "account_number": account,
            "purpose": "payment",
        },
        private_strings=[
            account,
            # The whole name, as the pages and X12 files spell it: a surname alone can be
            # another organization's rendering provider's (synthetic names share a pool).
            f"{patient.get('last', '')}, {patient.get('first', '')}",
            f"{patient.get('last', '')}*{patient.get('first', '')}",
            requester.user.email,
            requester.user.full_name,
        ],
    )


def _export_requests(seed: TenantSeed) -> tuple[Membership, ExportRequest, ExportRequest]:
    """A second privacy officer who asked for two large exports: one waits for a decision,
    one was approved by the owner and waits for its download."""
    domain = seed.organization.slug
    user = User.objects.create_user(
        f"export-requester@{domain}.example.test",
        "not-used-for-sign-in-9f3c",
        full_name=f"{seed.organization.name} Export Requester",
    )
    requester = Membership.objects.create(
        user=user, organization=seed.organization, role=Role.PRIVACY_OFFICER
    )
    common = {
        "organization": seed.organization,
        "requester": user,
        "purpose": "payment",
        "file_format": "csv",
        "recipient": "Matrix clinic",
        "reason": "Matrix year-end review",
        "rows_requested": 3,
    }
    pending = ExportRequest.objects.create(**common)
    now = timezone.now()
    approved = ExportRequest.objects.create(
        **common,
        state=ExportRequest.State.APPROVED,
        approver=seed.members[Role.OWNER].user,
        decision_reason="Matrix approval",
        decided_at=now,
        expires_at=now + timedelta(hours=APPROVAL_WINDOW_HOURS),
    )
    return requester, pending, approved
