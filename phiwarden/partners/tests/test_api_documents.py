"""Documents through the API: multipart uploads stored encrypted in versions, streamed and
audited downloads, the once-only report and certificate, and what strangers and readers get."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import services
from phiwarden.partners.models import Attestation, Baa, BaaDocument
from phiwarden.partners.tests.factories import PDF, approved_vendor, pdf_upload, sign_baa
from phiwarden.vault.models import EncryptedBlob

pytestmark = pytest.mark.django_db
D = dt.date


def _events(code):
    return list(AuditEvent.objects.filter(event_code=code).order_by("pk"))


def test_signed_baa_versions_upload_list_and_download(api, officer, clients):
    # given a BAA
    baa = sign_baa(officer, client=clients[0])

    # when two versions of its signed document are uploaded
    first = api("POST", f"/baas/{baa.pk}/documents", files={"file": pdf_upload("v1.pdf")})
    second = api("POST", f"/baas/{baa.pk}/documents", files={"file": pdf_upload("v2.pdf")})

    # then both are stored encrypted, in versions, and listed newest first
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    stored = BaaDocument.objects.get(version=2)
    assert second.json() == {
        "baa_id": baa.pk,
        "version": 2,
        "document": {
            "id": stored.blob_id,
            "purpose": "baa",
            "size": len(PDF),
            "sha256": stored.blob.sha256,
            "uploaded_at": second.json()["document"]["uploaded_at"],
        },
    }
    assert stored.blob.purpose == "partners.baa"
    listed = api("GET", f"/baas/{baa.pk}/documents").json()
    assert [d["version"] for d in listed] == [2, 1]
    assert api("GET", f"/baas/{baa.pk}").json()["document_versions"] == 2
    assert len(_events(EventCode.PARTNER_DOCUMENT_STORED)) == 2

    # and a download streams the decrypted PDF and is audited like the page's
    download = api("GET", f"/documents/{stored.blob_id}")
    assert download.status_code == 200
    assert download.streaming
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Cache-Control"] == "no-store"
    assert (
        download["Content-Disposition"]
        == f'attachment; filename="partner-document-{stored.blob_id}.pdf"'
    )
    [event] = _events(EventCode.PARTNER_DOCUMENT_DOWNLOADED)
    assert (event.target_id, event.data, event.actor_id) == (
        str(stored.blob_id),
        {"purpose": "baa"},
        officer.user_id,
    )


def test_a_non_pdf_upload_is_422_and_stores_nothing(api, officer, clients):
    baa = sign_baa(officer, client=clients[0])

    response = api(
        "POST",
        f"/baas/{baa.pk}/documents",
        files={"file": pdf_upload("patients.csv", b"name,dob\n")},
    )

    assert response.status_code == 422
    assert response.json() == {"detail": ["document: Upload the document as a PDF."]}
    assert not BaaDocument.objects.exists()
    assert not EncryptedBlob.objects.exists()


def test_an_upload_without_a_file_is_422(api, officer, clients):
    baa = sign_baa(officer, client=clients[0])

    response = api("POST", f"/baas/{baa.pk}/documents", files={})

    assert response.status_code == 422
    assert not BaaDocument.objects.exists()


def test_attestation_report_is_attached_once_and_downloads(api, officer):
    # given an attestation recorded through the API without its report
    vendor = approved_vendor(officer)
    created = api(
        "POST",
        f"/vendors/{vendor.pk}/attestations",
        {"kind": "soc2_type2", "issued_on": "2025-01-01", "expires_on": "2026-01-01"},
    ).json()
    assert (created["has_document"], created["document_id"]) == (False, None)

    # when its report is uploaded
    path = f"/vendors/{vendor.pk}/attestations/{created['id']}/document"
    attached = api("POST", path, files={"file": pdf_upload("soc2.pdf")})

    # then it is stored encrypted, audited, listed, and downloadable
    assert attached.status_code == 200
    attestation = Attestation.objects.get()
    assert attestation.document is not None
    assert attestation.document.purpose == "partners.attestation"
    assert attached.json()["document_id"] == attestation.document_id
    assert attached.json()["has_document"] is True
    [event] = _events(EventCode.ATTESTATION_DOCUMENT_ATTACHED)
    assert event.data == {"vendor_id": vendor.pk, "document_id": attestation.document_id}
    assert api("GET", f"/vendors/{vendor.pk}/attestations").json() == [attached.json()]
    download = api("GET", f"/documents/{attestation.document_id}")
    assert b"".join(download.streaming_content) == PDF

    # and a second report is refused: a new report is a new attestation
    again = api("POST", path, files={"file": pdf_upload("other.pdf")})
    assert again.status_code == 422
    assert "already has its report" in again.json()["detail"][0]
    assert Attestation.objects.get().document_id == attestation.document_id
    assert EncryptedBlob.objects.count() == 1


def test_attestation_of_another_vendor_is_404(api, officer):
    vendor = approved_vendor(officer)
    other = approved_vendor(officer, name="Synthetic Printer")
    attestation = services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="hitrust",
        title="",
        issued_on=D(2025, 1, 1),
        expires_on=D(2027, 1, 1),
    )

    response = api(
        "POST",
        f"/vendors/{other.pk}/attestations/{attestation.pk}/document",
        files={"file": pdf_upload()},
    )

    assert response.status_code == 404
    assert Attestation.objects.get().document is None


def test_termination_stores_its_certificate_encrypted(api, officer):
    # given a vendor's BAA
    vendor = approved_vendor(officer)
    baa = sign_baa(officer, vendor=vendor)

    # when it is terminated with the certificate of destruction, in one multipart form
    ended = api(
        "POST",
        f"/baas/{baa.pk}/terminate",
        files={
            "terminated_on": "2025-03-03",
            "reason": "Contract ended",
            "disposition": "destroyed",
            "disposition_certified_on": "2025-03-03",
            "certificate": pdf_upload("certificate.pdf"),
        },
    )

    # then the termination and the certificate are recorded together
    assert ended.status_code == 200
    baa.refresh_from_db()
    assert (baa.status, baa.disposition) == ("terminated", "destroyed")
    certificate_id = baa.disposition_certificate_id
    assert certificate_id is not None
    assert ended.json()["certificate_document_id"] == certificate_id
    assert EncryptedBlob.objects.get().purpose == "partners.baa_certificate"
    codes = AuditEvent.objects.filter(event_code__startswith="partners.").order_by("pk")
    assert list(codes.values_list("event_code", flat=True))[-2:] == [
        EventCode.PARTNER_DOCUMENT_STORED,
        EventCode.BAA_TERMINATED,
    ]

    # and the certificate downloads, audited
    download = api("GET", f"/documents/{certificate_id}")
    assert b"".join(download.streaming_content) == PDF
    assert _events(EventCode.PARTNER_DOCUMENT_DOWNLOADED)[0].data == {"purpose": "baa_certificate"}


def test_a_termination_with_a_non_pdf_certificate_changes_nothing(api, officer):
    vendor = approved_vendor(officer)
    baa = sign_baa(officer, vendor=vendor)

    refused = api(
        "POST",
        f"/baas/{baa.pk}/terminate",
        files={
            "terminated_on": "2025-03-03",
            "reason": "Contract ended",
            "disposition": "none_held",
            "certificate": pdf_upload("certificate.txt", b"not a pdf"),
        },
    )

    assert refused.status_code == 422
    assert refused.json() == {"detail": ["document: Upload the document as a PDF."]}
    assert Baa.objects.get().status == "signed"
    assert not EncryptedBlob.objects.exists()


def test_another_organizations_document_is_404_and_not_audited(
    officer, outsider, clients, token_caller
):
    baa = sign_baa(officer, client=clients[0])
    document = services.baa_document_upload(actor=officer, baa=baa, upload=pdf_upload())

    response = token_caller(outsider)("GET", f"/documents/{document.blob_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}
    assert not _events(EventCode.PARTNER_DOCUMENT_DOWNLOADED)


def test_a_non_partner_vault_file_is_404(api, officer):
    """The download reaches only this app's files, not an X12 original or any other blob."""
    from django.core.files.base import ContentFile

    from phiwarden.vault.blobs import blob_store

    blob = blob_store(
        organization=officer.organization,
        stream=ContentFile(b"ISA*synthetic"),
        filename="claims.x12",
        content_type="text/plain",
        purpose="billing.x12",
    )

    assert api("GET", f"/documents/{blob.pk}").status_code == 404


def test_a_reader_downloads_but_cannot_upload(auditor, officer, clients, token_caller):
    baa = sign_baa(officer, client=clients[0])
    document = services.baa_document_upload(actor=officer, baa=baa, upload=pdf_upload())
    call = token_caller(auditor)

    refused = call("POST", f"/baas/{baa.pk}/documents", files={"file": pdf_upload()})
    download = call("GET", f"/documents/{document.blob_id}")

    assert refused.status_code == 403
    assert BaaDocument.objects.count() == 1
    assert b"".join(download.streaming_content) == PDF
