"""Export controls: per-role row limits, two-person approval of larger exports, one
download within the window, re-read through the PHI door (45 CFR 164.312(b), 164.502(b))."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.services import api_token_create
from phiwarden.accounts.tests.factories import reauthenticate
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing import services
from phiwarden.billing.export_limits import row_limit_for
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim, ExportRecord, ExportRequest
from phiwarden.billing.obligations import export_request_obligations
from phiwarden.billing.synthetic import generate_batch
from phiwarden.core.obligations import open_obligations

pytestmark = pytest.mark.django_db

State = ExportRequest.State
NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def claims(owner, clients) -> list[Claim]:
    stream = io.BytesIO()
    generate_batch(seed=23, claims=6).write_837p(stream)
    stream.seek(0)
    x12_import(actor=owner, client=clients[0], stream=stream, filename="p.837")
    return list(Claim.objects.order_by("pk"))


@pytest.fixture
def second_officer(make_member):
    return make_member(Role.PRIVACY_OFFICER, email="second-officer@example.test")


def _ask(member, status: str | None = None) -> ExportRequest:
    return services.export_request_create(
        actor=member,
        purpose="payment",
        status=status,
        client_id=None,
        file_format="csv",
        recipient="Clinic manager",
        reason="Year-end review",
    )


def test_the_limit_table_gives_nothing_to_roles_without_export(make_member):
    assert row_limit_for(make_member(Role.PRIVACY_OFFICER, email="po@example.test")) == 500
    assert row_limit_for(make_member(Role.CODER, email="coder@example.test")) == 0
    manager = make_member(Role.BILLING_MANAGER, email="bm@example.test")
    assert row_limit_for(manager) == (500 if manager.can(Capability.BILLING_EXPORT) else 0)


def test_a_request_records_its_queue_and_row_count(privacy_officer, claims):
    request = _ask(privacy_officer, status="submitted")

    assert request.state == State.REQUESTED
    assert request.rows_requested == Claim.objects.filter(status="submitted").count()
    event = AuditEvent.objects.get(event_code=EventCode.BILLING_EXPORT_REQUESTED)
    assert event.data["rows"] == request.rows_requested
    assert "Clinic manager" not in str(event.data)


def test_the_requester_cannot_approve_their_own_request(privacy_officer, claims):
    request = _ask(privacy_officer)

    with pytest.raises(PermissionDenied, match="two people"):
        services.export_request_decide(
            actor=privacy_officer, request_id=request.pk, approve=True, reason="Mine"
        )

    request.refresh_from_db()
    assert request.state == State.REQUESTED


def test_the_database_refuses_an_approver_who_asked(privacy_officer, claims):
    from django.db import IntegrityError, transaction

    request = _ask(privacy_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRequest.objects.filter(pk=request.pk).update(
            state=State.APPROVED, approver=privacy_officer.user, decided_at=timezone.now()
        )


def test_approving_twice_changes_nothing(privacy_officer, second_officer, claims):
    request = _ask(privacy_officer)
    services.export_request_decide(
        actor=second_officer, request_id=request.pk, approve=True, reason="Needed"
    )
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="already approved"):
        services.export_request_decide(
            actor=second_officer, request_id=request.pk, approve=False, reason="Changed mind"
        )

    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert request.expires_at == NOW + dt.timedelta(hours=24)
    assert AuditEvent.objects.count() == events


def test_a_denial_is_recorded_and_cannot_be_downloaded(privacy_officer, second_officer, claims):
    request = _ask(privacy_officer)
    services.export_request_decide(
        actor=second_officer, request_id=request.pk, approve=False, reason="Not needed"
    )

    with pytest.raises(ValidationError, match="denied"):
        services.export_request_download(actor=privacy_officer, request_id=request.pk)

    event = AuditEvent.objects.get(event_code=EventCode.BILLING_EXPORT_DENIED)
    assert event.actor_id == second_officer.user_id
    assert not ExportRecord.objects.exists()


def test_the_approved_export_downloads_once_through_the_door(
    privacy_officer, second_officer, claims
):
    request = _ask(privacy_officer)
    services.export_request_decide(
        actor=second_officer, request_id=request.pk, approve=True, reason="Needed"
    )

    file = services.export_request_download(actor=privacy_officer, request_id=request.pk)

    lines = file.content.decode().splitlines()
    assert len(lines) == 1 + len(claims)
    assert lines[0].startswith("claim_id,client,status")
    request.refresh_from_db()
    assert request.state == State.DOWNLOADED
    assert request.downloaded_at == NOW
    record = ExportRecord.objects.get()
    assert (record.request, record.rows, record.recipient) == (
        request,
        len(claims),
        "Clinic manager",
    )
    event = AuditEvent.objects.filter(event_code=EventCode.BILLING_EXPORTED).get()
    assert set(event.patients.values_list("patient_id", flat=True)) == {
        c.patient_id for c in claims
    }
    assert "patient.name" in event.fields_disclosed
    with pytest.raises(ValidationError, match="already downloaded"):
        services.export_request_download(actor=privacy_officer, request_id=request.pk)
    assert ExportRecord.objects.count() == 1


def test_an_approval_expires_after_its_window(privacy_officer, second_officer, claims):
    request = _ask(privacy_officer)
    services.export_request_decide(
        actor=second_officer, request_id=request.pk, approve=True, reason="Needed"
    )

    with (
        time_machine.travel(NOW + dt.timedelta(hours=24, seconds=1), tick=False),
        pytest.raises(ValidationError, match="expired"),
    ):
        services.export_request_download(actor=privacy_officer, request_id=request.pk)

    request.refresh_from_db()
    assert request.state == State.EXPIRED
    assert not ExportRecord.objects.exists()


def test_only_the_requester_downloads(privacy_officer, second_officer, claims):
    request = _ask(privacy_officer)
    services.export_request_decide(
        actor=second_officer, request_id=request.pk, approve=True, reason="Needed"
    )

    with pytest.raises(Http404):
        services.export_request_download(actor=second_officer, request_id=request.pk)

    request.refresh_from_db()
    assert request.state == State.APPROVED
    denial = AuditEvent.objects.order_by("-pk").first()
    assert denial is not None
    assert denial.event_code == EventCode.ACCESS_DENIED


def test_another_organizations_request_is_not_found(
    privacy_officer, other_organization, make_member, claims
):
    request = _ask(privacy_officer)
    stranger = make_member(
        Role.PRIVACY_OFFICER, email="po@other.example.test", org=other_organization
    )

    with pytest.raises(Http404):
        services.export_request_decide(
            actor=stranger, request_id=request.pk, approve=True, reason="x"
        )


def test_the_owner_does_not_approve_exports(privacy_officer, owner, claims):
    request = _ask(privacy_officer)

    with pytest.raises(PermissionDenied):
        services.export_request_decide(actor=owner, request_id=request.pk, approve=True, reason="x")


def test_pending_requests_are_obligations_for_officers(privacy_officer, claims):
    request = _ask(privacy_officer)

    found = list(export_request_obligations(privacy_officer.organization))

    assert [o.title for o in found] == [
        f"Decide on export request #{request.pk} ({request.rows_requested} rows)"
    ]
    assert found[0].due_on == dt.date(2025, 3, 4)
    assert found[0] in open_obligations(privacy_officer.organization)


@override_settings(BILLING_EXPORT_ROW_LIMIT=2)
def test_the_page_turns_a_large_export_into_a_request(privacy_officer, claims, login_client):
    client = login_client(privacy_officer)
    reauthenticate(client)
    slug = privacy_officer.organization.slug

    response = client.post(
        reverse("billing:queue-export", args=[slug]),
        {"purpose": "payment", "format": "csv", "recipient": "Clinic", "reason": "Review"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:export-request-mine", args=[slug])
    request = ExportRequest.objects.get()
    assert request.rows_requested == len(claims)
    assert not ExportRecord.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "needs a privacy officer&#x27;s approval" in page
    assert "Waiting for a decision" in page


def test_pages_approve_then_download_once(privacy_officer, second_officer, claims, login_client):
    request = _ask(privacy_officer)
    slug = privacy_officer.organization.slug
    officer = login_client(second_officer)
    reauthenticate(officer)
    requester = login_client(privacy_officer)
    reauthenticate(requester)

    listing = officer.get(reverse("billing:export-request-list", args=[slug]))
    decide = {"request_id": request.pk, "decision": "approve", "reason": "Needed"}
    first = officer.post(reverse("billing:export-request-decide", args=[slug]), decide)
    again = officer.post(reverse("billing:export-request-decide", args=[slug]), decide, follow=True)
    download = reverse("billing:export-request-download", args=[slug])
    got = requester.post(download, {"request_id": request.pk})
    twice = requester.post(download, {"request_id": request.pk}, follow=True)

    assert f"Decision on request #{request.pk}" in listing.content.decode()
    assert first.status_code == 302
    assert "already approved; nothing changed" in again.content.decode()
    assert got.status_code == 200
    assert got["Cache-Control"] == "no-store"
    assert "already downloaded; nothing changed" in twice.content.decode()
    assert ExportRecord.objects.count() == 1


def test_the_approval_page_asks_for_reauthentication(
    privacy_officer, second_officer, claims, login_client
):
    request = _ask(privacy_officer)
    officer = login_client(second_officer)

    response = officer.post(
        reverse("billing:export-request-decide", args=[privacy_officer.organization.slug]),
        {"request_id": request.pk, "decision": "approve", "reason": "Needed"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    request.refresh_from_db()
    assert request.state == State.REQUESTED


def test_the_api_asks_and_lists(privacy_officer, claims):
    _, raw = api_token_create(
        actor=privacy_officer, name="x", scopes=[Capability.BILLING_EXPORT.value], days=1
    )
    headers = {"Authorization": f"Bearer {raw}"}

    created = HttpClient().post(
        "/api/v1/billing/export-requests",
        {"purpose": "payment", "format": "xlsx", "recipient": "Clinic", "reason": "Review"},
        "application/json",
        headers=headers,
    )
    listed = HttpClient().get("/api/v1/billing/export-requests", headers=headers)

    assert created.status_code == 201
    assert created.json()["state"] == "requested"
    assert [r["id"] for r in listed.json()] == [created.json()["id"]]


def test_the_sweep_expires_lapsed_approvals_once_and_audits_each(
    privacy_officer, second_officer, claims
):
    from django.core.management import call_command

    lapsed, fresh = _ask(privacy_officer), _ask(privacy_officer)
    for request in (lapsed, fresh):
        services.export_request_decide(
            actor=second_officer, request_id=request.pk, approve=True, reason="Needed"
        )
    ExportRequest.objects.filter(pk=lapsed.pk).update(expires_at=NOW - dt.timedelta(minutes=1))
    out = io.StringIO()

    call_command("billing_expire_exports", stdout=out)
    call_command("billing_expire_exports", stdout=io.StringIO())

    assert "1 approved export(s) expired" in out.getvalue()
    states = dict(ExportRequest.objects.values_list("pk", "state"))
    assert states == {lapsed.pk: State.EXPIRED, fresh.pk: State.APPROVED}
    events = AuditEvent.objects.filter(event_code=EventCode.BILLING_EXPORT_EXPIRED)
    assert list(events.values_list("target_id", flat=True)) == [str(lapsed.pk)]
