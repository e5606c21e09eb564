"""Signed BAAs, attestation reports and destruction certificates, stored encrypted in the
vault (phiwarden.vault.blobs): each upload is audited, each download too."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max

from phiwarden.accounts.models import Membership
from phiwarden.audit.codes import EventCode
from phiwarden.partners.models import Attestation, Baa, BaaDocument
from phiwarden.partners.services.events import manager_require, record
from phiwarden.vault.blobs import BlobTooLarge, blob_store
from phiwarden.vault.models import EncryptedBlob

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
PURPOSE_PREFIX = "partners."


def document_store(*, actor: Membership, upload: UploadedFile, purpose: str) -> EncryptedBlob:
    """Encrypt one PDF into the vault. Only PDFs: a contract or report, never a spreadsheet
    of patients that someone attached by mistake."""
    manager_require(actor)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    if head != PDF_MAGIC:
        raise ValidationError({"document": "Upload the document as a PDF."})
    try:
        blob = blob_store(
            organization=actor.organization,
            stream=upload,
            filename=upload.name or "document.pdf",
            content_type="application/pdf",
            purpose=PURPOSE_PREFIX + purpose,
            max_bytes=MAX_DOCUMENT_BYTES,
            actor=actor.user,
        )
    except BlobTooLarge:
        raise ValidationError(
            {"document": f"The file is larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MB."}
        ) from None
    record(actor, actor.organization, EventCode.PARTNER_DOCUMENT_STORED, blob, {"purpose": purpose})
    return blob


def baa_document_upload(*, actor: Membership, baa: Baa, upload: UploadedFile) -> BaaDocument:
    """Add the next version of a BAA's signed document."""
    manager_require(actor)
    with transaction.atomic():
        locked = Baa.objects.select_for_update().get(pk=baa.pk)
        blob = document_store(actor=actor, upload=upload, purpose="baa")
        latest = locked.documents.aggregate(latest=Max("version"))["latest"] or 0
        return BaaDocument.objects.create(
            organization=actor.organization,
            baa=locked,
            version=latest + 1,
            blob=blob,
            uploaded_by=actor.user,
        )


def attestation_document_attach(
    *, actor: Membership, attestation: Attestation, upload: UploadedFile
) -> Attestation:
    """Attach the report (SOC 2, HITRUST, ...) to an attestation recorded without it. A
    report already on file stays: a new report is a new attestation, with its own dates."""
    manager_require(actor)
    with transaction.atomic():
        locked = Attestation.objects.select_for_update().get(pk=attestation.pk)
        if locked.document_id is not None:
            raise ValidationError(
                "This attestation already has its report; record a new attestation for a "
                "new report."
            )
        locked.document = document_store(actor=actor, upload=upload, purpose="attestation")
        locked.save(update_fields=["document", "updated_at"])
        record(
            actor,
            actor.organization,
            EventCode.ATTESTATION_DOCUMENT_ATTACHED,
            locked,
            {"vendor_id": locked.vendor_id, "document_id": locked.document_id},
        )
    attestation.document = locked.document
    return attestation


def document_download_record(*, actor: Membership, blob: EncryptedBlob) -> None:
    with transaction.atomic():
        record(
            actor,
            actor.organization,
            EventCode.PARTNER_DOCUMENT_DOWNLOADED,
            blob,
            {"purpose": blob.purpose.removeprefix(PURPOSE_PREFIX)},
        )
