"""Breach notice documents on generated billing data with known answers: the letter to each
client has what 164.410(c) asks, the patient list is exactly that client's patients in
scope (read through the door and audited), files are encrypted at rest, sent notices are
frozen, drafts and the incident file carry no patient identities, and the breach log
exports in the HHS portal's fields."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as HttpClient
from django.utils import timezone
from openpyxl import load_workbook

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing import phi
from phiwarden.billing import scoping as billing_scoping
from phiwarden.billing.models import Patient
from phiwarden.core.errors import AuditUnavailable
from phiwarden.incidents import documents, services
from phiwarden.incidents.models import Assessment, Incident, Notice
from phiwarden.incidents.scoping import ScopeQuery
from phiwarden.incidents.tests.factories import window
from phiwarden.vault.blobs import blob_storage
from phiwarden.vault.models import EncryptedBlob
from phiwarden.vault.services import cipher_for
from phiwarden.vault.sweep import orphan_blobs_sweep

pytestmark = pytest.mark.django_db

DISCOVERED = dt.date(2026, 10, 20)
NARRATIVE = "Synthetic narrative: the A/R specialist opened charts without a work reason"
R = Notice.Recipient


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The HTML of every PDF rendered (the PDF's text is compressed glyph runs)."""
    pages: list[str] = []
    real = documents.html_to_pdf

    def spy(html: str) -> bytes:
        pages.append(html)
        return real(html)

    monkeypatch.setattr(documents, "html_to_pdf", spy)
    return pages


@pytest.fixture
def incident(
    world: dict[str, Any], workforce_member: Membership, privacy_officer: Membership
) -> Incident:
    """A breach by the snoop: client 0 has 3 patients in scope, client 1 has 2."""
    reported = services.incident_report(
        actor=workforce_member,
        data=services.ReportData(
            kind=Incident.Kind.UNAUTHORIZED_ACCESS,
            title="Snooping by an A/R specialist",
            description=NARRATIVE,
            discovered_on=DISCOVERED,
            occurred_on=DISCOVERED - dt.timedelta(days=19),
            systems="PHI Warden billing",
        ),
    )
    step = reported.steps.filter(action="").first()
    assert step is not None
    services.containment_step_done(actor=privacy_officer, step=step)
    services.corrective_action_add(
        actor=privacy_officer,
        incident=reported,
        data=services.ActionData(
            "Quarterly access review of A/R", privacy_officer.user_id, DISCOVERED
        ),
    )
    since, until = window()
    services.scoping_run(
        actor=privacy_officer,
        incident=reported,
        query=ScopeQuery([world["snoop"].user_id], (), since, until),
    )
    draft = services.assessment_start(actor=privacy_officer, incident=reported)
    services.assessment_save(
        actor=privacy_officer,
        assessment=draft,
        data=services.AssessmentData(
            nature_extent=draft.nature_extent,
            recipient="A workforce member without a payment purpose",
            acquired=draft.acquired,
            acquired_notes=draft.acquired_notes,
            mitigation="Access removed the same day",
            phi_secured=False,
            exception="",
            decision=Assessment.Decision.BREACH,
            reasons="Records were viewed without a job reason.",
        ),
    )
    services.assessment_sign(actor=privacy_officer, assessment=draft)
    reported.refresh_from_db()
    return reported


def _notice(incident: Incident, client: Any, recipient: str = R.CLIENT) -> Notice:
    return Notice.objects.get(incident=incident, client=client, recipient=recipient)


def _name(patient: Patient) -> str:
    cipher = cipher_for(patient.organization)
    return phi.name_text(phi.open_json(cipher, patient, "name_ct", patient.name_ct))


def _names(world: dict[str, Any]) -> list[str]:
    return [_name(p) for p in world["first"] + world["second"]]


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def _raw(blob: EncryptedBlob) -> bytes:
    with blob_storage().open(blob.storage_name, "rb") as stored:
        data: bytes = stored.read()
    return data


def test_the_client_notice_has_the_letter_and_exactly_its_patients(
    world, incident, privacy_officer, clients, rendered
):
    notice = _notice(incident, clients[0])
    step_title = incident.steps.filter(done_at__isnull=False).get().title

    generated = documents.notice_generate(actor=privacy_officer, notice=notice)

    assert generated.letter is not None
    assert generated.patient_list is not None
    assert generated.generated_at is not None
    letter = documents.notice_file(actor=privacy_officer, notice=generated, kind="letter")
    assert letter.content.startswith(b"%PDF")
    assert letter.filename == f"{incident.reference}-notice-{notice.pk}-letter.pdf"
    html = rendered[0]
    patients_file = f"{incident.reference}-notice-{notice.pk}-patients.csv"
    for element in (
        "<strong>3</strong> individuals",  # identification, with the count
        patients_file,
        "Snooping by an A/R specialist",  # what happened
        "Unauthorized access or snooping",
        NARRATIVE,
        "2026-10-01",  # date of the breach
        "2026-10-20",  # date of discovery
        "names",  # the PHI involved
        "Social Security numbers",
        "Containment:",  # steps taken
        step_title,
        "Quarterly access review of A/R",
        "privacy_officer@example.test",  # our contact
    ):
        assert element in html, element
    # Its own deadlines: individuals and HHS, from the Notice rows for this client.
    for theirs in Notice.objects.filter(incident=incident, client=clients[0]).exclude(
        recipient=R.CLIENT
    ):
        assert theirs.due_on.isoformat() in html
        assert theirs.get_recipient_display() in html
    # The patient list: exactly client 0's three patients in scope, and only them.
    patients = documents.notice_file(actor=privacy_officer, notice=generated, kind="patients")
    assert patients.content_type == "text/csv"
    assert patients.filename == patients_file
    rows = _rows(patients.content)
    expected = world["first"][:3]
    assert sorted(int(r["PHI Warden ref"]) for r in rows) == sorted(p.pk for p in expected)
    assert {r["Name"] for r in rows} == {_name(p) for p in expected}
    assert all(r["Date of birth"] and r["Account number(s)"] and r["Member id(s)"] for r in rows)
    assert {r["State"] for r in rows} == {p.state for p in expected}
    others = [_name(p) for p in world["first"][3:] + world["second"]]
    assert not any(name in patients.content.decode() for name in others if name)
    # No PHI in file names.
    assert all(_name(p) not in patients.filename for p in expected)


def test_the_patient_list_read_is_audited_with_every_patient_and_field(
    world, incident, privacy_officer, clients
):
    notice = _notice(incident, clients[1])

    documents.notice_generate(actor=privacy_officer, notice=notice)

    read = AuditEvent.objects.get(event_code=EventCode.BILLING_PHI_VIEWED, target_id=str(notice.pk))
    assert set(read.patients.values_list("patient_id", flat=True)) == {
        p.pk for p in world["second"][:2]
    }
    assert read.fields_disclosed == sorted(billing_scoping.NOTICE_FIELDS)
    assert read.purpose == "required_by_law"
    made = AuditEvent.objects.get(event_code=EventCode.INCIDENT_NOTICE_GENERATED)
    assert made.data["notice"] == notice.pk
    assert made.data["individuals"] == 2


def test_stored_documents_are_encrypted_at_rest(world, incident, privacy_officer, clients):
    notice = documents.notice_generate(actor=privacy_officer, notice=_notice(incident, clients[0]))

    assert notice.letter is not None
    assert notice.patient_list is not None
    raw_list, raw_letter = _raw(notice.patient_list), _raw(notice.letter)
    assert raw_list.startswith(b"PWB")
    assert raw_letter.startswith(b"PWB")
    assert b"%PDF" not in raw_letter
    for patient in world["first"][:3]:
        name = _name(patient)
        last = name.split(",")[0].encode()
        assert last not in raw_list
        assert name.encode() not in raw_letter
    assert b"PHI Warden ref" not in raw_list
    assert notice.patient_list.purpose == "incidents.notice"


def test_downloads_are_audited_with_the_patient_ids(world, incident, privacy_officer, clients):
    notice = documents.notice_generate(actor=privacy_officer, notice=_notice(incident, clients[0]))

    documents.notice_file(actor=privacy_officer, notice=notice, kind="patients")
    documents.notice_file(actor=privacy_officer, notice=notice, kind="letter")

    events = AuditEvent.objects.filter(event_code=EventCode.INCIDENT_NOTICE_DOWNLOADED).order_by(
        "pk"
    )
    patients_event, letter_event = list(events)
    assert patients_event.data["kind"] == "patients"
    assert set(patients_event.patients.values_list("patient_id", flat=True)) == {
        p.pk for p in world["first"][:3]
    }
    assert letter_event.data["kind"] == "letter"
    assert not letter_event.patients.exists()


def test_the_individual_draft_is_a_template_letter_without_phi(
    world, incident, privacy_officer, clients, rendered
):
    notice = _notice(incident, clients[0])

    out = documents.notice_file(actor=privacy_officer, notice=notice, kind="individual_draft")

    assert out.content.startswith(b"%PDF")
    html = rendered[-1]
    for element in (
        "What happened",
        "October 1, 2026",  # date of the breach
        "October 20, 2026",  # date of discovery
        "Social Security numbers",  # types of PHI
        "What you can do",
        "What we are doing",
        "toll-free number",
        "CLIENT TO COMPLETE",
    ):
        assert element in html, element
    assert NARRATIVE not in html
    assert not any(name in html for name in _names(world) if name)
    event = AuditEvent.objects.get(event_code=EventCode.INCIDENT_NOTICE_DOWNLOADED)
    assert event.data["kind"] == "individual_draft"


def test_the_clients_own_notices_get_a_draft_or_summary_only(
    world, incident, privacy_officer, clients, rendered
):
    individuals = documents.notice_generate(
        actor=privacy_officer, notice=_notice(incident, clients[0], R.INDIVIDUALS)
    )
    hhs = documents.notice_generate(
        actor=privacy_officer, notice=_notice(incident, clients[0], R.HHS)
    )
    state = world["first"][0].state
    media = Notice.objects.create(
        organization=incident.organization, incident=incident, recipient=R.MEDIA,
        client=clients[0], state=state, assessment=individuals.assessment,
        scoping=individuals.scoping, individuals=3, due_on=individuals.due_on,
        citation="164.406(b)",
    )  # fmt: skip
    media = documents.notice_generate(actor=privacy_officer, notice=media)

    for notice in (individuals, hhs, media):
        assert notice.letter is not None
        assert notice.patient_list is None
        out = documents.notice_file(actor=privacy_officer, notice=notice, kind="letter")
        assert out.content.startswith(b"%PDF")
    individual_html, hhs_html, media_html = rendered
    assert "toll-free number" in individual_html
    for field in (
        "Breach start date",
        "Discovery date",
        "Approximate number of individuals affected",
        "Type of breach",
        "Unauthorized Access/Disclosure",
        "Location of breached information",
        "Safeguards in place prior to breach",
        "Actions taken in response to breach",
        clients[0].name,
    ):
        assert field in hhs_html, field
    assert "FOR IMMEDIATE RELEASE" in media_html
    assert f"residents of {state}" in media_html
    for html in rendered:
        assert not any(name in html for name in _names(world) if name)
    with pytest.raises(ValidationError):
        documents.notice_file(actor=privacy_officer, notice=hhs, kind="patients")


def test_a_sent_notice_is_frozen_and_an_unsent_one_is_replaced(incident, privacy_officer, clients):
    notice = documents.notice_generate(actor=privacy_officer, notice=_notice(incident, clients[0]))
    first_letter = notice.letter_id
    assert notice.letter is not None
    assert notice.patient_list is not None
    first_files = [notice.letter.storage_name, notice.patient_list.storage_name]

    again = documents.notice_generate(actor=privacy_officer, notice=notice)
    assert again.letter_id != first_letter
    assert again.letter_id is not None
    # The superseded draft and its patient list are forgotten; their ciphertext files are
    # now orphans for the sweep, which deletes them after the grace period.
    assert not EncryptedBlob.objects.filter(storage_name__in=first_files).exists()
    later = timezone.now() + dt.timedelta(hours=25)
    with time_machine.travel(later, tick=False):
        orphan_blobs_sweep()
    assert not any(blob_storage().exists(name) for name in first_files)

    services.notice_mark_sent(actor=privacy_officer, notice=again, method="e-mail")
    with pytest.raises(ValidationError, match="sent"):
        documents.notice_generate(actor=privacy_officer, notice=again)
    again.refresh_from_db()
    assert again.letter_id is not None
    assert again.letter_id != first_letter


@pytest.mark.parametrize("role", [Role.WORKFORCE_MEMBER, Role.CLAIMS_SPECIALIST, Role.AUDITOR])
def test_a_member_without_incidents_manage_is_refused_and_nothing_is_written(
    incident, clients, make_member: Callable[..., Membership], role: Role
):
    member = make_member(role, email=f"{role.value}-docs@example.test")
    notice = _notice(incident, clients[0])
    blobs = EncryptedBlob.objects.count()
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    with pytest.raises(PermissionDenied):
        documents.notice_generate(actor=member, notice=notice)
    for kind in documents.FILE_KINDS:
        with pytest.raises(PermissionDenied):
            documents.notice_file(actor=member, notice=notice, kind=kind)
    with pytest.raises(PermissionDenied):
        documents.timeline_pdf(actor=member, incident=incident)
    with pytest.raises(PermissionDenied):
        documents.breach_log_export(actor=member, year=2026, fmt="csv")

    notice.refresh_from_db()
    assert notice.letter_id is None
    assert notice.generated_at is None
    assert EncryptedBlob.objects.count() == blobs
    assert not AuditEvent.objects.filter(
        pk__gt=last_event,
        event_code__in=[
            EventCode.INCIDENT_NOTICE_GENERATED,
            EventCode.INCIDENT_NOTICE_DOWNLOADED,
            EventCode.INCIDENT_EXPORTED,
            EventCode.BILLING_PHI_VIEWED,
            EventCode.INCIDENT_VIEWED,
        ],
    ).exists()


def test_another_organization_is_refused(incident, clients, outsider):
    with pytest.raises(PermissionDenied):
        documents.notice_generate(actor=outsider, notice=_notice(incident, clients[0]))
    with pytest.raises(PermissionDenied):
        documents.notice_file(actor=outsider, notice=_notice(incident, clients[0]), kind="letter")
    with pytest.raises(PermissionDenied):
        documents.timeline_pdf(actor=outsider, incident=incident)


def test_the_patient_rows_fail_closed_when_the_audit_write_fails(
    incident, privacy_officer, clients, monkeypatch
):
    def broken(**_: Any) -> None:
        raise AuditUnavailable(AuditUnavailable.message)

    monkeypatch.setattr(billing_scoping, "audit_event_record", broken)
    notice = _notice(incident, clients[0])
    blobs = EncryptedBlob.objects.count()

    with pytest.raises(AuditUnavailable):
        documents.notice_generate(actor=privacy_officer, notice=notice)

    notice.refresh_from_db()
    assert notice.letter_id is None
    assert notice.patient_list_id is None
    assert EncryptedBlob.objects.count() == blobs


def test_patient_list_cells_are_neutralized_against_formulas():
    row = {key: "" for key, _label in billing_scoping.NOTICE_COLUMNS}
    row.update(ref="7", name='=HYPERLINK("http://x.test","y")', address="+1 Main St")

    content = documents._patients_csv([row])

    parsed = _rows(content)[0]
    assert parsed["Name"].startswith("'=")
    assert parsed["Address"].startswith("'+")


def test_the_incident_file_pdf_has_everything_but_patient_identities(
    world, incident, privacy_officer, clients, rendered
):
    documents.notice_generate(actor=privacy_officer, notice=_notice(incident, clients[0]))
    rendered.clear()

    out = documents.timeline_pdf(actor=privacy_officer, incident=incident)

    assert out.content.startswith(b"%PDF")
    assert out.filename == f"{incident.reference}-file.pdf"
    html = rendered[0]
    for element in (
        incident.reference,
        "Assessment v1 signed",
        "Records were viewed without a job reason.",
        "Breach of unsecured PHI: notify",
        "Quarterly access review of A/R",
        "5 individuals",
        "Covered-entity client",
        "Not sent",
        "Root cause",
    ):
        assert element in html, element
    assert NARRATIVE not in html
    assert not any(name in html for name in _names(world) if name)
    event = AuditEvent.objects.get(event_code=EventCode.INCIDENT_EXPORTED)
    assert event.data == {"what": "timeline", "format": "pdf"}


def test_the_breach_log_exports_the_portal_fields_for_the_year(incident, privacy_officer, clients):
    as_csv = documents.breach_log_export(actor=privacy_officer, year=2026, fmt="csv")
    as_xlsx = documents.breach_log_export(actor=privacy_officer, year=2026, fmt="xlsx")
    empty = documents.breach_log_export(actor=privacy_officer, year=2025, fmt="csv")

    rows = _rows(as_csv.content)
    assert as_csv.filename == "breach-log-2026.csv"
    assert {(r["Covered entity"], r["Approximate number of individuals"]) for r in rows} == {
        (clients[0].name, "3"),
        (clients[1].name, "2"),
    }
    first = rows[0]
    assert first["Discovery date"] == "2026-10-20"
    assert first["Breach start date"] == "2026-10-01"
    assert first["Type of breach"] == "Unauthorized Access/Disclosure"
    assert "Demographic" in first["Type of PHI"]
    assert "Quarterly access review of A/R" in first["Actions taken"]
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == documents.BREACH_LOG_HEADER
    assert sorted(int(str(row[5])) for row in values[1:]) == [2, 3]
    assert _rows(empty.content) == []
    events = AuditEvent.objects.filter(event_code=EventCode.INCIDENT_EXPORTED).order_by("pk")
    assert [(e.data["format"], e.data["rows"]) for e in events] == [
        ("csv", 2),
        ("xlsx", 2),
        ("csv", 0),
    ]
    with pytest.raises(ValidationError):
        documents.breach_log_export(actor=privacy_officer, year=2026, fmt="pdf")


def test_the_breach_log_api_answers_the_same_rows_by_name(incident, privacy_officer, clients):
    _, raw = api_token_create(
        actor=privacy_officer, name="log", scopes=[Capability.INCIDENTS_MANAGE.value], days=1
    )
    headers = {"Authorization": f"Bearer {raw}"}

    body = HttpClient().get("/api/v1/incidents/breach-log?year=2026", headers=headers).json()

    assessment = incident.assessments.get()
    by_client = {row["client_id"]: row for row in body["rows"]}
    assert body["year"] == 2026
    assert set(by_client) == {clients[0].pk, clients[1].pk}
    row = by_client[clients[0].pk]
    assert row == {
        "incident_id": incident.pk,
        "reference": incident.reference,
        "assessment_version": assessment.version,
        "client_id": clients[0].pk,
        "client_name": clients[0].name,
        "breach_start": "2026-10-01",
        "breach_end": row["breach_end"],
        "discovered_on": "2026-10-20",
        "individuals": 3,
        "breach_type": "Unauthorized Access/Disclosure",
        "location": row["location"],
        "phi_types": row["phi_types"],
        "safeguards_before": row["safeguards_before"],
        "actions_taken": row["actions_taken"],
        "notice_to_individuals_on": row["notice_to_individuals_on"],
    }
    assert "Quarterly access review of A/R" in row["actions_taken"]
    assert by_client[clients[1].pk]["individuals"] == 2


def test_notices_follow_a_breach_decision_in_force(incident, privacy_officer, clients):
    notice = _notice(incident, clients[0])
    revised = services.assessment_start(actor=privacy_officer, incident=incident)
    Assessment.objects.filter(pk=revised.pk).update(
        decision=Assessment.Decision.LOW_PROBABILITY, signed_at=dt.datetime.now(tz=dt.UTC)
    )

    with pytest.raises(ValidationError, match="breach decision"):
        documents.notice_generate(actor=privacy_officer, notice=notice)
    notice.refresh_from_db()
    assert notice.letter_id is None
