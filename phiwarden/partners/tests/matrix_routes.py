"""The partners pages and API in the authorization matrix (see core/tests/matrix.py)."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models

from phiwarden.accounts.roles import Capability, Role
from phiwarden.audit.codes import EventCode
from phiwarden.core.tests.matrix import (
    GET_POST,
    POST,
    ApiRoute,
    Contribution,
    OrgRoute,
    Param,
    TenantSeed,
)
from phiwarden.partners import services
from phiwarden.partners.diligence import QUESTION_CODES
from phiwarden.partners.models import (
    ApprovedChannel,
    Attestation,
    Baa,
    BaaDocument,
    ClientProfile,
    DiligenceReview,
    Flow,
    FlowMapReview,
    Vendor,
)

C = Capability
VIEW, MANAGE = C.PARTNERS_VIEW, C.PARTNERS_MANAGE
SYNTHETIC_PDF = b"%PDF-1.4\n% synthetic matrix document, no PHI\n%%EOF\n"


class ReusablePdf:
    """An upload the test client can send again and again (a file object reads once)."""

    name = "signed-baa.pdf"
    content_type = "application/pdf"

    def read(self) -> bytes:
        return SYNTHETIC_PDF


ALL_YES = {f"q_{code}": "yes" for code in QUESTION_CODES}


def _fresh_pdf() -> SimpleUploadedFile:
    """A new upload for each API call (the matrix sends multipart forms afresh)."""
    return SimpleUploadedFile("matrix.pdf", SYNTHETIC_PDF, content_type="application/pdf")


ORG_ROUTES = {
    "partners:overview": OrgRoute(VIEW),
    "partners:client-list": OrgRoute(VIEW),
    "partners:client-edit": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "privacy_officer_name": "Matrix Officer",
            "privacy_officer_email": "officer@example.test",
            "states_served": "OH KY",
        },
    ),
    "partners:vendor-list": OrgRoute(VIEW),
    "partners:vendor-create": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "name": "Matrix New Vendor",
            "kind": "cloud",
            "risk_tier": "high",
            "handles_phi": "on",
        },
    ),
    "partners:vendor-detail": OrgRoute(VIEW),
    "partners:vendor-edit": OrgRoute(
        MANAGE,
        GET_POST,
        form={"name": "Matrix Renamed Vendor", "kind": "cloud", "risk_tier": "low"},
    ),
    "partners:vendor-status": OrgRoute(MANAGE, POST, form={"status": "suspended"}),
    "partners:diligence-create": OrgRoute(
        MANAGE, GET_POST, form={**ALL_YES, "decision": "approved", "decided_on": "2025-03-01"}
    ),
    "partners:attestation-create": OrgRoute(
        MANAGE,
        GET_POST,
        form={"kind": "hitrust", "issued_on": "2025-01-02", "expires_on": "2027-01-01"},
    ),
    "partners:baa-list": OrgRoute(VIEW),
    "partners:baa-create": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "vendor": Param("vendor_id"),
            "subcontractor_name": "Matrix Sub-processor",
            "status": "signed",
            "signed_on": "2025-02-01",
            "renewal_months": 12,
            "notice_window_days": 10,
            "notice_window_kind": "business",
        },
    ),
    "partners:baa-register-csv": OrgRoute(VIEW),
    "partners:baa-register-xlsx": OrgRoute(VIEW),
    "partners:baa-detail": OrgRoute(VIEW),
    "partners:baa-edit": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "status": "signed",
            "signed_on": "2025-01-02",
            "renewal_months": 12,
            "notice_window_days": 5,
            "notice_window_kind": "business",
        },
    ),
    "partners:baa-terminate": OrgRoute(
        MANAGE,
        GET_POST,
        reauthentication=True,
        form={
            "terminated_on": "2025-03-03",
            "reason": "Matrix ends it",
            "disposition": "none_held",
        },
    ),
    "partners:baa-document-upload": OrgRoute(MANAGE, GET_POST, form={"document": ReusablePdf()}),
    "partners:document-download": OrgRoute(VIEW),
    "partners:flow-map": OrgRoute(VIEW),
    "partners:flow-map-pdf": OrgRoute(VIEW),
    "partners:flow-create": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "stage": "claims",
            "name": "Matrix claims flow",
            "channel": "sftp",
            "source_system": "Billing system",
            "destination_vendor": Param("vendor_id"),
            "phi_classes": ["demographics", "insurance"],
            "encrypted_in_transit": "on",
        },
    ),
    "partners:flow-edit": OrgRoute(
        MANAGE,
        GET_POST,
        form={
            "stage": "intake",
            "name": "Matrix edited flow",
            "channel": "vpn",
            "source_client": Param("client_id"),
            "destination_system": "Billing system",
        },
    ),
    "partners:flow-confirm": OrgRoute(MANAGE, POST),
    "partners:flow-retire": OrgRoute(MANAGE, POST),
    "partners:channel-settings": OrgRoute(MANAGE, GET_POST, form={"channels": ["sftp", "vpn"]}),
    "partners:flow-review": OrgRoute(
        MANAGE, GET_POST, form={"reviewed_on": "2025-03-03", "confirm": "on"}
    ),
    "partners:import": OrgRoute(
        MANAGE,
        GET_POST,
        form={"kind": "vendors", "csv_text": "name,kind\nMatrix Imported Vendor,cloud\n"},
    ),
}

API_ROUTES = {
    "GET /api/v1/partners/vendors": ApiRoute(VIEW),
    "POST /api/v1/partners/vendors": ApiRoute(
        MANAGE, body={"name": "Matrix API Vendor", "kind": "email"}, ok_status=(201,)
    ),
    "GET /api/v1/partners/vendors/{vendor_id}": ApiRoute(VIEW),
    "PATCH /api/v1/partners/vendors/{vendor_id}": ApiRoute(
        MANAGE, body={"services": "Matrix API services", "risk_tier": "moderate"}
    ),
    "GET /api/v1/partners/vendors/{vendor_id}/attestations": ApiRoute(VIEW),
    "POST /api/v1/partners/vendors/{vendor_id}/attestations/{attestation_id}/document": (
        ApiRoute(MANAGE, multipart={"file": _fresh_pdf})
    ),
    "POST /api/v1/partners/vendors/{vendor_id}/diligence": ApiRoute(
        MANAGE,
        body={
            "answers": dict.fromkeys(QUESTION_CODES, "yes"),
            "decision": "approved",
            "decided_on": "2025-03-02",
        },
        ok_status=(201,),
    ),
    "POST /api/v1/partners/vendors/{vendor_id}/status": ApiRoute(
        MANAGE, body={"status": "suspended"}
    ),
    "POST /api/v1/partners/vendors/{vendor_id}/attestations": ApiRoute(
        MANAGE,
        body={"kind": "iso27001", "issued_on": "2025-01-02", "expires_on": "2028-01-01"},
        ok_status=(201,),
    ),
    "GET /api/v1/partners/clients": ApiRoute(VIEW),
    "PUT /api/v1/partners/clients/{client_id}/profile": ApiRoute(
        MANAGE, body={"privacy_officer_name": "Matrix API Officer", "states_served": ["IN"]}
    ),
    "GET /api/v1/partners/clients/{client_id}/baa-check": ApiRoute(VIEW),
    "GET /api/v1/partners/baas": ApiRoute(VIEW),
    "POST /api/v1/partners/baas": ApiRoute(
        MANAGE,
        body={"client_id": Param("client_id"), "status": "draft"},
        ok_status=(201,),
    ),
    "GET /api/v1/partners/baas/{baa_id}": ApiRoute(VIEW),
    "PATCH /api/v1/partners/baas/{baa_id}": ApiRoute(
        MANAGE, body={"notice_window_days": 7, "notice_window_kind": "business"}
    ),
    "POST /api/v1/partners/baas/{baa_id}/terminate": ApiRoute(
        MANAGE,
        multipart={
            "terminated_on": "2025-03-03",
            "reason": "Matrix API",
            "disposition": "destroyed",
            "disposition_certified_on": "2025-03-03",
            "certificate": _fresh_pdf,
        },
    ),
    "GET /api/v1/partners/baas/{baa_id}/documents": ApiRoute(VIEW),
    "POST /api/v1/partners/baas/{baa_id}/documents": ApiRoute(
        MANAGE, multipart={"file": _fresh_pdf}, ok_status=(201,)
    ),
    "GET /api/v1/partners/documents/{document_id}": ApiRoute(
        VIEW, allowed_event=EventCode.PARTNER_DOCUMENT_DOWNLOADED.value
    ),
    "GET /api/v1/partners/flows": ApiRoute(VIEW),
    "POST /api/v1/partners/flows": ApiRoute(
        MANAGE,
        body={
            "stage": "remits",
            "name": "Matrix API remits flow",
            "channel": "sftp",
            "source_vendor_id": Param("vendor_id"),
            "destination_system": "Billing system",
            "phi_classes": ["payments"],
        },
        ok_status=(201,),
    ),
    "PATCH /api/v1/partners/flows/{flow_id}": ApiRoute(
        MANAGE, body={"channel": "vpn", "volume": "Matrix API volume"}
    ),
    "POST /api/v1/partners/flows/{flow_id}/confirm": ApiRoute(MANAGE),
    "POST /api/v1/partners/flows/{flow_id}/retire": ApiRoute(MANAGE),
    "GET /api/v1/partners/approved-channels": ApiRoute(VIEW),
    "PUT /api/v1/partners/approved-channels": ApiRoute(MANAGE, body={"channels": ["api_tls"]}),
    "POST /api/v1/partners/flow-map/reviews": ApiRoute(
        MANAGE, body={"reviewed_on": "2025-03-03", "notes": "Matrix API review"}, ok_status=(201,)
    ),
    "POST /api/v1/partners/import": ApiRoute(
        MANAGE,
        body={
            "kind": "clients",
            "csv": "name,states_served\nMatrix API Clinic,OH\n",
            "dry_run": False,
        },
    ),
}

SNAPSHOT_MODELS: dict[type[models.Model], frozenset[str]] = {
    ClientProfile: frozenset(),
    Vendor: frozenset(),
    DiligenceReview: frozenset(),
    Attestation: frozenset(),
    Baa: frozenset(),
    BaaDocument: frozenset(),
    Flow: frozenset(),
    ApprovedChannel: frozenset(),
    FlowMapReview: frozenset(),
}


def build(seed: TenantSeed) -> Contribution:
    """One of everything in the organization: an approved vendor with diligence, an
    attestation and a signed BAA with a stored document; the client's profile and BAA; a
    suggested flow (so that confirming it changes something); a review; one channel."""
    actor = seed.members[Role.OWNER]
    label = seed.organization.name.split()[0]
    vendor = services.vendor_create(
        actor=actor,
        data=services.VendorData(
            name=f"{label} Clearing Vendor", kind="clearinghouse", phi_classes=["insurance"]
        ),
    )
    services.diligence_record(
        actor=actor,
        vendor=vendor,
        answers=dict.fromkeys(QUESTION_CODES, "yes"),
        decision="approved",
        decided_on=dt.date(2025, 1, 15),
    )
    services.vendor_set_status(actor=actor, vendor=vendor, status="approved")
    attestation = services.attestation_record(
        actor=actor,
        vendor=vendor,
        kind="soc2_type2",
        title=f"{label} SOC 2 period",
        issued_on=dt.date(2024, 12, 1),
        expires_on=dt.date(2025, 12, 1),
    )
    signed = services.BaaTerms(status="signed", signed_on=dt.date(2025, 1, 1))
    services.baa_create(actor=actor, terms=signed, vendor=vendor)
    baa = services.baa_create(
        actor=actor,
        terms=services.BaaTerms(
            status="signed", signed_on=dt.date(2025, 1, 1), expires_on=dt.date(2026, 1, 1)
        ),
        client=seed.client,
    )

    document = services.baa_document_upload(
        actor=actor,
        baa=baa,
        upload=SimpleUploadedFile("baa.pdf", SYNTHETIC_PDF, content_type="application/pdf"),
    )
    services.client_profile_update(
        actor=actor,
        client=seed.client,
        data=services.ClientProfileData(
            privacy_officer_name=f"{label} Client Privacy Officer",
            privacy_officer_email=f"privacy@{label.lower()}-clinic.example.test",
            states_served=["OH"],
        ),
    )
    services.channels_set(actor=actor, channels=["sftp"])
    flow = services.flow_observed(
        seed.organization, seed.client, "secure_portal", "intake", observed_on=dt.date(2025, 3, 1)
    )
    services.flow_map_review_record(
        actor=actor, reviewed_on=dt.date(2025, 2, 1), notes=f"{label} yearly review"
    )
    return Contribution(
        params={
            "vendor_id": vendor.pk,
            "client_id": seed.client.pk,
            "baa_id": baa.pk,
            "flow_id": flow.pk,
            "blob_id": document.blob_id,
            "document_id": document.blob_id,
            "attestation_id": attestation.pk,
        },
        private_strings=[
            vendor.name,
            f"{label} Client Privacy Officer",
            f"{label} SOC 2 period",
        ],
    )
