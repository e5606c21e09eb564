"""The billing pages and API in the authorization matrix (see core/tests/matrix.py).

Each organization of the matrix's world gets a small synthetic 837P and 835 imported
through the real import path, so every route has a claim, a payment and identifiers to
work on."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models

from phiwarden.accounts.roles import Capability, Role
from phiwarden.audit.codes import EventCode
from phiwarden.billing import phi
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim, ClaimPayment, ExportRecord, Patient, X12File
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
GET = ("GET",)
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
}

SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    X12File: frozenset(),
    Patient: frozenset(),
    Claim: frozenset(),
    ClaimPayment: frozenset(),
    ExportRecord: frozenset(),
    EncryptedBlob: frozenset(),
}


def build(seed: TenantSeed) -> Contribution:
    owner = seed.members[Role.OWNER]
    batch = generate_batch(seed=seed.organization.pk + 100, claims=3)
    for writer in (batch.write_837p, batch.write_835):
        stream = io.BytesIO()
        writer(stream)
        stream.seek(0)
        x12_import(actor=owner, client=seed.client, stream=stream, filename="world.x12")
    # Every billing role of the world works on this client.
    for _role, membership in seed.members.items():
        if not membership.reaches_all_clients:
            membership.clients.add(seed.client)
    claim = Claim.objects.filter(organization=seed.organization).order_by("pk").first()
    assert claim is not None
    cipher = cipher_for(seed.organization)
    account = phi.open_text(cipher, claim, "account_number_ct", claim.account_number_ct) or ""
    patient = phi.open_json(cipher, claim.patient, "name_ct", claim.patient.name_ct) or {}
    return Contribution(
        params={
            "claim_id": claim.pk,
            "import_client_id": seed.client.pk,
            "account_number": account,
            "purpose": "payment",
        },
        private_strings=[account, patient.get("last", ""), patient.get("first", "")],
    )


__all__ = ["API_ROUTES", "GET", "ORG_ROUTES", "SNAPSHOT_MODELS", "build"]
