"""Pages: they render, forms change things through the services, downloads are audited
and readable (CSV, XLSX, PDF, encrypted documents)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import services
from phiwarden.partners.models import Attestation, Baa, BaaDocument, Flow, Vendor
from phiwarden.partners.tests.factories import PDF, approved_vendor, map_flow, pdf_upload, sign_baa
from phiwarden.vault.blobs import blob_read

pytestmark = pytest.mark.django_db
D = dt.date


def url(membership, name, **kwargs):
    return reverse(f"partners:{name}", kwargs={"org_slug": membership.organization.slug, **kwargs})


@pytest.fixture
def world(officer, clients):
    vendor = approved_vendor(officer)
    sign_baa(officer, vendor=vendor)
    baa = sign_baa(officer, client=clients[0], expires_on=D(2025, 4, 1))
    services.channels_set(actor=officer, channels=["sftp"])
    flow = map_flow(officer, destination_vendor=vendor)
    return {"vendor": vendor, "baa": baa, "flow": flow}


@pytest.mark.parametrize(
    "name",
    [
        "overview",
        "client-list",
        "vendor-list",
        "baa-list",
        "flow-map",
        "vendor-create",
        "baa-create",
        "flow-create",
        "channel-settings",
        "flow-review",
        "import",
    ],
)
def test_pages_render_for_an_officer(name, officer, world, login_client):
    response = login_client(officer).get(url(officer, name))
    assert response.status_code == 200
    assert b"Synthetic" in response.content


def test_nav_shows_partners_to_viewers_only(officer, workforce_member, auditor, login_client):
    dashboard = reverse("compliance:dashboard", kwargs={"org_slug": officer.organization.slug})
    partners = url(officer, "overview").encode()
    assert partners in login_client(auditor).get(dashboard).content
    assert partners not in login_client(workforce_member).get(dashboard).content


def test_overview_lists_flagged_flows(officer, world, login_client):
    map_flow(
        officer,
        stage="statements",
        name="Paper statements",
        destination_system="Mail room",
        channel="mail",
    )
    body = login_client(officer).get(url(officer, "overview")).content.decode()
    assert "Paper statements" in body
    assert "Mail (paper) is not approved" in body


def test_baa_detail_shows_the_notice_deadline_and_warning(officer, world, login_client):
    body = (
        login_client(officer)
        .get(url(officer, "baa-detail", baa_id=world["baa"].pk))
        .content.decode()
    )
    assert "60 calendar days" in body
    assert "2025-05-02" in body  # 2025-03-03 + 60 calendar days
    assert "Ends within 30 days" in body


def test_vendor_form_creates_a_vendor(officer, login_client):
    response = login_client(officer).post(
        url(officer, "vendor-create"),
        {
            "name": "Synthetic Mail House",
            "kind": "statement_printer",
            "risk_tier": "moderate",
            "handles_phi": "on",
            "phi_classes": ["demographics", "payments"],
        },
    )
    vendor = Vendor.objects.get(name="Synthetic Mail House")
    assert response.status_code == 302
    assert response["Location"] == url(officer, "vendor-detail", vendor_id=vendor.pk)
    assert vendor.phi_classes == ["demographics", "payments"]


def test_vendor_status_change_is_refused_without_diligence(officer, login_client):
    vendor = services.vendor_create(actor=officer, data=services.VendorData(name="Synthetic Cloud"))
    client = login_client(officer)
    response = client.post(
        url(officer, "vendor-status", vendor_id=vendor.pk), {"status": "approved"}, follow=True
    )
    assert "Record a favourable due-diligence review" in response.content.decode()
    vendor.refresh_from_db()
    assert vendor.status == "proposed"


def test_diligence_form_shows_a_refusal_beside_the_decision(officer, login_client):
    vendor = services.vendor_create(actor=officer, data=services.VendorData(name="Synthetic Cloud"))
    from phiwarden.partners.diligence import QUESTION_CODES

    answers = {f"q_{c}": "yes" for c in QUESTION_CODES} | {"q_mfa": "no"}
    response = login_client(officer).post(
        url(officer, "diligence-create", vendor_id=vendor.pk),
        {**answers, "decision": "approved", "decided_on": "2025-03-01"},
    )
    assert response.status_code == 200
    assert "Cannot approve without: multi-factor" in response.content.decode()


def test_flow_confirm_and_retire_buttons(officer, clients, login_client):
    flow = services.flow_observed(officer.organization, clients[0], "sftp", "intake")
    client = login_client(officer)
    assert b"Suggested" in client.get(url(officer, "flow-map")).content
    client.post(url(officer, "flow-confirm", flow_id=flow.pk))
    flow.refresh_from_db()
    assert flow.status == "confirmed"
    client.post(url(officer, "flow-retire", flow_id=flow.pk))
    flow.refresh_from_db()
    assert flow.status == "retired"


def test_import_page_dry_run_lists_errors_by_row(officer, login_client):
    response = login_client(officer).post(
        url(officer, "import"),
        {"kind": "vendors", "csv_text": "name,kind\nGood,cloud\nBad,rocket\n", "dry_run": "on"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<td>3</td><td>kind</td>" in body
    assert not Vendor.objects.exists()


def test_import_page_accepts_an_uploaded_file(officer, login_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "vendors.csv", b"\xef\xbb\xbfname,kind\nSynthetic Cloud,cloud\n", "text/csv"
    )
    response = login_client(officer).post(
        url(officer, "import"), {"kind": "vendors", "file": upload}
    )
    assert response.status_code == 302
    assert Vendor.objects.get().name == "Synthetic Cloud"


def test_register_csv_download_is_readable_and_audited(officer, world, login_client):
    response = login_client(officer).get(url(officer, "baa-register-csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:5] == ["BAA id", "Direction", "Party", "Record status", "Standing"]
    parties = {row[2]: row[4] for row in rows[1:]}
    assert parties["Synthetic Family Practice"] == "Expiring"
    assert parties["Synthetic Clearinghouse"] == "Current"
    assert parties["Synthetic Orthopedics"] == "Missing"
    event = AuditEvent.objects.get(event_code=EventCode.PARTNERS_EXPORTED)
    assert event.data == {"what": "baa_register", "format": "csv", "rows": 3}


def test_register_xlsx_opens_in_openpyxl(officer, world, login_client):
    response = login_client(officer).get(url(officer, "baa-register-xlsx"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.values)
    assert sheet.title == "BAA register"
    assert values[0][2] == "Party"
    assert len(values) == 4
    assert AuditEvent.objects.get(event_code=EventCode.PARTNERS_EXPORTED).data["format"] == "xlsx"


def test_register_neutralizes_formula_like_names(officer, login_client):
    vendor = approved_vendor(officer, "=HYPERLINK(1)")
    sign_baa(officer, vendor=vendor)
    body = login_client(officer).get(url(officer, "baa-register-csv")).content.decode()
    assert "'=HYPERLINK(1)" in body


def test_flow_map_pdf_is_a_pdf_and_audited(officer, world, login_client):
    response = login_client(officer).get(url(officer, "flow-map-pdf"))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.get(event_code=EventCode.PARTNERS_EXPORTED).data == {
        "what": "flow_map",
        "format": "pdf",
        "rows": 1,
    }


def test_signed_baa_is_stored_encrypted_in_versions_and_downloads_audited(
    officer, world, login_client
):
    baa = world["baa"]
    client = login_client(officer)
    for _ in range(2):
        response = client.post(
            url(officer, "baa-document-upload", baa_id=baa.pk), {"document": pdf_upload()}
        )
        assert response.status_code == 302
    documents = list(BaaDocument.objects.order_by("version"))
    assert [d.version for d in documents] == [1, 2]
    assert documents[0].blob.purpose == "partners.baa"
    assert b"".join(blob_read(documents[0].blob)) == PDF

    download = client.get(url(officer, "document-download", blob_id=documents[1].blob_id))
    assert b"".join(download.streaming_content) == PDF
    assert (
        download["Content-Disposition"]
        == f'attachment; filename="partner-document-{documents[1].blob_id}.pdf"'
    )
    event = AuditEvent.objects.get(event_code=EventCode.PARTNER_DOCUMENT_DOWNLOADED)
    assert (event.target_id, event.data) == (str(documents[1].blob_id), {"purpose": "baa"})


def test_a_non_pdf_upload_is_refused_and_nothing_is_stored(officer, world, login_client):
    response = login_client(officer).post(
        url(officer, "baa-document-upload", baa_id=world["baa"].pk),
        {"document": pdf_upload("patients.csv", b"name,dob\n")},
    )
    assert response.status_code == 200
    assert "Upload the document as a PDF." in response.content.decode()
    assert not BaaDocument.objects.exists()


def test_attestation_with_its_report_and_termination_with_its_certificate(officer, world):
    vendor, baa = world["vendor"], world["baa"]
    attestation = services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="soc2_type2",
        title="2024",
        issued_on=D(2025, 1, 1),
        expires_on=D(2026, 1, 1),
        document=pdf_upload(),
    )
    services.baa_terminate(
        actor=officer,
        baa=baa,
        terminated_on=D(2025, 3, 3),
        reason="Ended",
        disposition="destroyed",
        disposition_certified_on=D(2025, 3, 3),
        certificate=pdf_upload("certificate.pdf"),
    )
    certificate = Baa.objects.get(pk=baa.pk).disposition_certificate
    assert attestation.document is not None
    assert certificate is not None
    assert Attestation.objects.get().document == attestation.document
    assert attestation.document.purpose == "partners.attestation"
    assert certificate.purpose == "partners.baa_certificate"
    assert b"".join(blob_read(attestation.document)) == PDF


def test_another_organizations_document_is_404(officer, outsider, world, login_client):
    services.baa_document_upload(actor=officer, baa=world["baa"], upload=pdf_upload())
    blob_id = BaaDocument.objects.get().blob_id
    response = login_client(outsider).get(
        reverse(
            "partners:document-download",
            kwargs={"org_slug": outsider.organization.slug, "blob_id": blob_id},
        )
    )
    assert response.status_code == 404


def test_flow_edit_form_updates_the_flow(officer, world, login_client):
    flow = world["flow"]
    login_client(officer).post(
        url(officer, "flow-edit", flow_id=flow.pk),
        {
            "stage": "clearinghouse",
            "name": "837P batches",
            "channel": "sftp",
            "source_system": "Billing system",
            "destination_vendor": world["vendor"].pk,
            "phi_classes": ["insurance"],
        },
    )
    flow.refresh_from_db()
    assert (flow.stage, flow.name, flow.phi_classes) == (
        "clearinghouse",
        "837P batches",
        ["insurance"],
    )
    assert Flow.objects.count() == 1
