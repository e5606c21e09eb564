"""CSV import: errors by row, nothing written on error or dry run, idempotent re-import."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from phiwarden.accounts.models import Client
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import services
from phiwarden.partners.models import ClientProfile, Vendor
from phiwarden.partners.services.imports import RowError

pytestmark = pytest.mark.django_db

VENDORS = (
    "name,kind,services,phi_classes,handles_phi,risk_tier,contact_name,contact_email\n"
    "Synthetic Clearinghouse,clearinghouse,837 and 835 exchange,demographics;insurance,yes,high,"
    "Sam Example,sam@clearing.example.test\n"
    "Synthetic Shredding,shredding,Paper destruction,,yes,low,,\n"
    "Synthetic Office Supplies,other,Paper and toner,,no,low,,\n"
)

BAD = (
    "name,kind,risk_tier,contact_email,phi_classes\n"
    "Fine Vendor,cloud,high,ok@example.test,demographics\n"
    ",cloud,high,,\n"
    "Bad Kind,spaceship,high,,\n"
    "Bad Email,cloud,high,not-an-email,\n"
    "Fine Vendor,cloud,high,,\n"
    "Bad Classes,cloud,extreme,,genome\n"
)


def run(actor, text, kind="vendors", dry_run=False):
    return services.partners_import(actor=actor, kind=kind, text=text, dry_run=dry_run)


def test_dry_run_reports_what_would_happen_and_writes_nothing(officer):
    report = run(officer, VENDORS, dry_run=True)
    assert (report.rows, report.created, report.errors, report.applied) == (3, 3, [], False)
    assert not Vendor.objects.exists()
    assert not AuditEvent.objects.filter(event_code__startswith="partners.").exists()


def test_import_creates_every_row_and_audits(officer):
    report = run(officer, VENDORS)
    assert (report.created, report.updated, report.unchanged, report.applied) == (3, 0, 0, True)
    vendor = Vendor.objects.get(name="Synthetic Clearinghouse")
    assert (vendor.kind, vendor.phi_classes, vendor.contact_email) == (
        "clearinghouse",
        ["demographics", "insurance"],
        "sam@clearing.example.test",
    )
    assert Vendor.objects.get(name="Synthetic Office Supplies").handles_phi is False
    assert AuditEvent.objects.filter(event_code=EventCode.VENDOR_CREATED).count() == 3
    summary = AuditEvent.objects.get(event_code=EventCode.PARTNERS_IMPORTED)
    assert summary.data == {"kind": "vendors", "created": 3, "updated": 0}


def test_reimporting_the_same_file_changes_nothing(officer):
    run(officer, VENDORS)
    events = AuditEvent.objects.count()
    report = run(officer, VENDORS)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert AuditEvent.objects.count() == events
    assert Vendor.objects.count() == 3


def test_reimport_with_a_change_updates_only_that_row(officer):
    run(officer, VENDORS)
    changed = VENDORS.replace("Paper destruction,,yes,low", "Paper destruction,,yes,moderate")
    report = run(officer, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert Vendor.objects.get(name="Synthetic Shredding").risk_tier == "moderate"


def test_errors_are_reported_by_row_and_nothing_is_written(officer):
    report = run(officer, BAD)
    assert report.errors == [
        RowError(3, "name", "A name is required."),
        RowError(4, "kind", report.errors[1].message),
        RowError(5, "contact_email", "Enter a valid email address."),
        RowError(6, "name", "Same name as row 2."),
        RowError(7, "phi_classes", "Unknown PHI classes: genome."),
        RowError(7, "risk_tier", report.errors[5].message),
    ]
    assert report.errors[1].message.startswith("Use one of: clearinghouse")
    assert not report.applied
    assert not Vendor.objects.exists()  # not even the valid first row


def test_a_bad_header_is_row_one(officer):
    report = run(officer, "title,kind\nX,cloud\n")
    assert report.errors == [RowError(1, "", "missing column 'name'; unknown column 'title'.")]


def test_clients_import_creates_clients_and_their_profiles(officer):
    text = (
        "name,privacy_officer_name,privacy_officer_email,states_served\n"
        "Synthetic Pediatrics,Pat Example,pat@peds.example.test,OH;KY\n"
        "Synthetic Family Practice,,,\n"
    )
    report = run(officer, text, kind="clients")
    assert (report.created, report.errors) == (2, [])
    profile = ClientProfile.objects.get(client__name="Synthetic Pediatrics")
    assert (profile.privacy_officer_email, profile.states_served) == (
        "pat@peds.example.test",
        ["KY", "OH"],
    )
    assert Client.objects.filter(organization=officer.organization).count() == 2
    again = run(officer, text, kind="clients")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_clients_import_reports_bad_states_by_row(officer):
    report = run(officer, "name,states_served\nA Clinic,OH\nB Clinic,ZZ\n", kind="clients")
    assert report.errors == [RowError(3, "states_served", "Unknown state codes: ZZ.")]
    assert not Client.objects.exists()


def test_viewers_cannot_import(auditor):
    with pytest.raises(PermissionDenied):
        run(auditor, VENDORS)


def test_import_command_dry_run_and_apply(officer, tmp_path, capsys):
    path = tmp_path / "vendors.csv"
    path.write_text(VENDORS)
    slug, email = officer.organization.slug, officer.user.email
    call_command("partners_import", str(path), "--org", slug, "--as", email, "--kind", "vendors")
    assert not Vendor.objects.exists()
    call_command(
        "partners_import", str(path), "--org", slug, "--as", email, "--kind", "vendors", "--apply"
    )
    assert Vendor.objects.count() == 3
    assert "3 would be created" in capsys.readouterr().out


def test_import_command_exits_nonzero_on_errors(officer, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    with pytest.raises(CommandError) as error:
        call_command(
            "partners_import",
            str(path),
            "--org",
            officer.organization.slug,
            "--as",
            officer.user.email,
            "--kind",
            "vendors",
            "--apply",
        )
    assert error.value.returncode == 1
    assert not Vendor.objects.exists()
