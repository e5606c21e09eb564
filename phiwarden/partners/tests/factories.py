"""Helpers that make partners objects through the real services (synthetic names only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from phiwarden.accounts.models import Client, Membership
from phiwarden.partners import services
from phiwarden.partners.diligence import QUESTION_CODES
from phiwarden.partners.models import Baa, DiligenceReview, Flow, Vendor

D = dt.date
PDF = b"%PDF-1.4\n% synthetic test document\n%%EOF\n"
REVIEWED_ON = D(2025, 1, 10)
SIGNED_ON = D(2025, 1, 1)
ENDS_ON = D(2026, 1, 1)


def pdf_upload(name: str = "signed.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make_vendor(actor: Membership, name: str = "Synthetic Clearinghouse", **fields) -> Vendor:
    data = services.VendorData(name=name, **fields)
    return services.vendor_create(actor=actor, data=data)


def pass_diligence(actor: Membership, vendor: Vendor, on: dt.date = REVIEWED_ON) -> DiligenceReview:
    return services.diligence_record(
        actor=actor,
        vendor=vendor,
        answers=dict.fromkeys(QUESTION_CODES, "yes"),
        decision="approved",
        decided_on=on,
    )


def approved_vendor(
    actor: Membership,
    name: str = "Synthetic Clearinghouse",
    reviewed_on: dt.date = REVIEWED_ON,
    **fields,
) -> Vendor:
    vendor = make_vendor(actor, name, **fields)
    pass_diligence(actor, vendor, on=reviewed_on)
    return services.vendor_set_status(actor=actor, vendor=vendor, status="approved")


def sign_baa(
    actor: Membership,
    *,
    client: Client | None = None,
    vendor: Vendor | None = None,
    signed_on: dt.date = SIGNED_ON,
    expires_on: dt.date | None = ENDS_ON,
    **terms,
) -> Baa:
    return services.baa_create(
        actor=actor,
        terms=services.BaaTerms(
            status="signed", signed_on=signed_on, expires_on=expires_on, **terms
        ),
        client=client,
        vendor=vendor,
    )


def map_flow(actor: Membership, **fields) -> Flow:
    values: dict[str, Any] = {
        "stage": "claims",
        "name": "Synthetic claim batches",
        "channel": "sftp",
        "source_system": "Billing system",
        "phi_classes": ["demographics", "insurance"],
    }
    values.update(fields)
    return services.flow_create(actor=actor, data=services.FlowData(**values))
