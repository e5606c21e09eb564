"""Self-pay restrictions (45 CFR 164.522(a)(1)(vi)): recording them, and claim data for the
health plan that leaves the restricted lines out."""

from __future__ import annotations

import io
import logging
from decimal import Decimal
from pathlib import Path

import pytest
import pyx12.params  # type: ignore[import-untyped]
import pyx12.x12n_document  # type: ignore[import-untyped]
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from phiwarden.accounts.roles import Role
from phiwarden.accounts.tests.factories import reauthenticate
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing import phi, reemit, selectors, services
from phiwarden.billing.imports import x12_import
from phiwarden.billing.models import Claim, PlanRestriction, ServiceLine
from phiwarden.billing.synthetic import generate_batch
from phiwarden.billing.x12.models import Claim as ParsedClaim
from phiwarden.billing.x12.parser import parse_837
from phiwarden.vault.services import cipher_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims(owner, clients) -> list[Claim]:
    stream = io.BytesIO()
    generate_batch(seed=17, claims=12).write_837p(stream)
    stream.seek(0)
    x12_import(actor=owner, client=clients[0], stream=stream, filename="p.837")
    return list(Claim.objects.order_by("pk"))


@pytest.fixture
def multi_line_claim(claims) -> Claim:
    found: Claim = next(c for c in claims if c.lines.count() >= 2)
    return found


@pytest.fixture
def manager(make_member, clients):
    member = make_member(Role.BILLING_MANAGER, email="manager-restrict@example.test")
    member.clients.set([clients[0]])
    return member


@pytest.fixture
def claims_specialist(make_member, clients):
    member = make_member(Role.CLAIMS_SPECIALIST, email="claims-restrict@example.test")
    member.clients.set([clients[0]])
    return member


def _parsed(content: bytes) -> list[ParsedClaim]:
    return list(parse_837(io.BytesIO(content)))


def _pyx12_errors(path: Path) -> list[str]:
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    report = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(), src_file=str(path), fd_997=None, fd_html=None, fd_json=report
    )
    return [] if valid else [report.getvalue()[:2000]]


def test_record_marks_the_lines_and_keeps_who_and_when(manager, multi_line_claim):
    result = services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[2], note="Paid at the desk"
    )

    assert result.recorded == [2]
    line = ServiceLine.objects.get(claim=multi_line_claim, number=2)
    assert line.restricted_from_plan is True
    assert ServiceLine.objects.get(claim=multi_line_claim, number=1).restricted_from_plan is False
    restriction = PlanRestriction.objects.get()
    assert restriction.line == line
    assert restriction.recorded_by == manager.user
    assert restriction.note_ct is not None
    assert b"Paid at the desk" not in bytes(restriction.note_ct)
    cipher = cipher_for(manager.organization)
    assert phi.open_text(cipher, restriction, "note_ct", restriction.note_ct) == "Paid at the desk"
    event = AuditEvent.objects.get(event_code=EventCode.BILLING_RESTRICTION_RECORDED)
    assert event.data == {"client_id": multi_line_claim.client_id, "lines": [2], "already": []}
    assert list(event.patients.values_list("patient_id", flat=True)) == [
        multi_line_claim.patient_id
    ]


def test_recording_twice_changes_nothing(manager, multi_line_claim):
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
    )
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="already restricted"):
        services.restriction_record(
            actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
        )

    assert PlanRestriction.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_an_unknown_line_is_refused_and_nothing_changes(manager, multi_line_claim):
    with pytest.raises(ValidationError, match="no such service line"):
        services.restriction_record(
            actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1, 99], note=""
        )

    assert not ServiceLine.objects.filter(restricted_from_plan=True).exists()


@pytest.mark.parametrize("role", [Role.CODER, Role.PAYMENT_POSTER, Role.AUDITOR])
def test_roles_without_the_capability_cannot_record(role, make_member, clients, multi_line_claim):
    member = make_member(role, email=f"{role.value}-r@example.test")
    member.clients.set([clients[0]])

    with pytest.raises(PermissionDenied):
        services.restriction_record(
            actor=member, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
        )

    assert not PlanRestriction.objects.exists()


def test_a_claim_of_an_unassigned_client_is_not_found(make_member, clients, multi_line_claim):
    manager = make_member(Role.BILLING_MANAGER, email="other-manager@example.test")
    manager.clients.set([clients[1]])

    with pytest.raises(Http404):
        services.restriction_record(
            actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
        )


def test_the_plan_file_leaves_restricted_lines_out(
    manager, claims_specialist, multi_line_claim, tmp_path
):
    lines = {line.number: line for line in multi_line_claim.lines.all()}
    kept_total = sum((line.charge for n, line in lines.items() if n != 1), Decimal("0"))
    restricted_control = lines[1].line_control_number
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
    )

    plan = selectors.claim_x12_for_plan(membership=claims_specialist, claim_id=multi_line_claim.pk)

    (parsed,) = _parsed(plan.content)
    assert len(parsed.service_lines) == len(lines) - 1
    assert [line.number for line in parsed.service_lines] == list(range(1, len(lines)))
    assert parsed.total_charge == kept_total
    assert restricted_control not in [line.line_control_number for line in parsed.service_lines]
    assert restricted_control.encode() not in plan.content
    assert plan.lines_left_out == 1
    path = tmp_path / "plan.x12"
    path.write_bytes(plan.content)
    assert _pyx12_errors(path) == []
    event = AuditEvent.objects.filter(event_code=EventCode.BILLING_EXPORTED).get()
    assert event.data["view"] == "claim_837_for_plan"
    assert list(event.patients.values_list("patient_id", flat=True)) == [
        multi_line_claim.patient_id
    ]


def test_an_unrestricted_claim_is_sent_as_billed(claims_specialist, multi_line_claim):
    plan = selectors.claim_x12_for_plan(membership=claims_specialist, claim_id=multi_line_claim.pk)

    (parsed,) = _parsed(plan.content)
    assert len(parsed.service_lines) == multi_line_claim.lines.count()
    assert parsed.total_charge == multi_line_claim.total_charge
    assert parsed.subscriber.ssn == ""


def test_a_fully_restricted_claim_is_refused(manager, claims_specialist, multi_line_claim):
    numbers = list(multi_line_claim.lines.values_list("number", flat=True))
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=numbers, note=""
    )
    before = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="nothing to send"):
        selectors.claim_x12_for_plan(membership=claims_specialist, claim_id=multi_line_claim.pk)

    assert AuditEvent.objects.count() == before


def test_a_diagnosis_only_restricted_lines_point_to_is_dropped(claims):
    """Unit test of the re-emission on a parsed claim with pointers built for the purpose."""
    import dataclasses

    from phiwarden.billing.x12.models import Diagnosis

    stream = io.BytesIO()
    generate_batch(seed=17, claims=12).write_837p(stream)
    parsed = next(c for c in _parsed(stream.getvalue()) if len(c.service_lines) >= 2)
    diagnoses = (Diagnosis("ABK", "Z000"), Diagnosis("ABF", "B20"), Diagnosis("ABF", "E119"))
    lines = (
        dataclasses.replace(parsed.service_lines[0], diagnosis_pointers=(1, 2)),
        dataclasses.replace(parsed.service_lines[1], diagnosis_pointers=(1, 3)),
        *parsed.service_lines[2:],
    )
    claim = dataclasses.replace(parsed, diagnoses=diagnoses, service_lines=lines)
    first = claim.service_lines[0].number

    shown = reemit.claim_without_restricted(claim, {first})

    assert [d.code for d in shown.diagnoses] == ["Z000", "E119"]
    assert shown.service_lines[0].diagnosis_pointers == (1, 2)
    assert b"B20" not in reemit.claim_for_plan(claim, {first})


def test_the_principal_diagnosis_moves_when_its_lines_are_restricted(claims):
    import dataclasses

    from phiwarden.billing.x12.models import Diagnosis

    stream = io.BytesIO()
    generate_batch(seed=17, claims=12).write_837p(stream)
    parsed = next(c for c in _parsed(stream.getvalue()) if len(c.service_lines) == 2)
    claim = dataclasses.replace(
        parsed,
        diagnoses=(Diagnosis("ABK", "F329"), Diagnosis("ABF", "J449")),
        service_lines=(
            dataclasses.replace(parsed.service_lines[0], diagnosis_pointers=(1,)),
            dataclasses.replace(parsed.service_lines[1], diagnosis_pointers=(2,)),
        ),
    )

    shown = reemit.claim_without_restricted(claim, {parsed.service_lines[0].number})

    assert shown.diagnoses == (Diagnosis("ABK", "J449"),)
    assert shown.service_lines[0].diagnosis_pointers == (1,)


def test_the_claim_page_records_a_restriction(manager, multi_line_claim, login_client):
    client = login_client(manager)
    url = reverse("billing:claim-restrict", args=[manager.organization.slug, multi_line_claim.pk])

    response = client.post(url, {"line_numbers": ["2"], "paid_in_full": "on", "note": ""})

    assert response.status_code == 302
    assert ServiceLine.objects.get(claim=multi_line_claim, number=2).restricted_from_plan
    page = client.get(response["Location"])
    assert "Restricted from the health plan: line 2" in page.content.decode()
    assert "Self-pay: not sent to the plan" in page.content.decode()


def test_the_claim_page_refuses_without_the_paid_in_full_confirmation(
    manager, multi_line_claim, login_client
):
    client = login_client(manager)
    url = reverse("billing:claim-restrict", args=[manager.organization.slug, multi_line_claim.pk])

    response = client.post(url, {"line_numbers": ["2"]}, follow=True)

    assert "confirm that the patient paid" in response.content.decode()
    assert not ServiceLine.objects.filter(restricted_from_plan=True).exists()


def test_the_page_download_and_the_api_give_the_same_file(
    manager, claims_specialist, multi_line_claim, login_client
):
    from phiwarden.accounts.roles import Capability
    from phiwarden.accounts.services import api_token_create

    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
    )
    client = login_client(claims_specialist)
    reauthenticate(client)
    _, raw = api_token_create(
        actor=claims_specialist,
        name="edi",
        scopes=[Capability.BILLING_WORK_CLAIMS.value],
        days=1,
    )

    page = client.post(
        reverse(
            "billing:claim-plan-837",
            args=[claims_specialist.organization.slug, multi_line_claim.pk],
        )
    )
    api = client.get(
        f"/api/v1/billing/claims/{multi_line_claim.pk}/x12-for-plan",
        headers={"Authorization": f"Bearer {raw}"},
    )

    assert page.status_code == 200
    assert api.status_code == 200
    assert page["Content-Type"] == "application/edi-x12"
    assert page.content == api.content
    (parsed,) = _parsed(page.content)
    assert len(parsed.service_lines) == multi_line_claim.lines.count() - 1


def test_the_api_records_a_restriction_only_when_paid_in_full(manager, multi_line_claim):
    from django.test import Client as HttpClient

    from phiwarden.accounts.roles import Capability
    from phiwarden.accounts.services import api_token_create

    _, raw = api_token_create(
        actor=manager, name="r", scopes=[Capability.BILLING_RECORD_RESTRICTIONS.value], days=1
    )
    url = f"/api/v1/billing/claims/{multi_line_claim.pk}/restrictions"
    headers = {"Authorization": f"Bearer {raw}"}

    refused = HttpClient().post(
        url, {"line_numbers": [1], "paid_in_full": False}, "application/json", headers=headers
    )
    allowed = HttpClient().post(
        url, {"line_numbers": [1], "paid_in_full": True}, "application/json", headers=headers
    )

    assert refused.status_code in (400, 422)
    assert allowed.status_code == 201
    assert allowed.json() == {"claim_id": multi_line_claim.pk, "recorded": [1], "already": []}


def test_a_restriction_ends_only_at_the_patients_request_and_the_plan_sees_the_line_again(
    manager, claims_specialist, multi_line_claim
):
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note="Paid at the desk"
    )
    with pytest.raises(ValidationError) as error:
        services.restriction_lift(
            actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], basis="we decided"
        )
    assert "basis" in error.value.message_dict
    with pytest.raises(ValidationError, match="Only restricted lines"):
        services.restriction_lift(
            actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1, 2], basis="written"
        )
    assert ServiceLine.objects.get(claim=multi_line_claim, number=1).restricted_from_plan

    released = services.restriction_lift(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], basis="written"
    )

    assert released == [1]
    line = ServiceLine.objects.get(claim=multi_line_claim, number=1)
    assert not line.restricted_from_plan
    restriction = PlanRestriction.objects.get(line=line)
    assert (restriction.lift_basis, restriction.lifted_by_id) == ("written", manager.user_id)
    plan = selectors.claim_x12_for_plan(membership=claims_specialist, claim_id=multi_line_claim.pk)
    assert plan.lines_left_out == 0
    event = AuditEvent.objects.get(event_code=EventCode.BILLING_RESTRICTION_LIFTED)
    assert event.data["lines"] == [1]

    # Asked for again later: the same row records the new request.
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note="Paid again"
    )
    restriction.refresh_from_db()
    assert restriction.lifted_at is None
    assert ServiceLine.objects.get(pk=line.pk).restricted_from_plan


def test_roles_without_the_capability_cannot_end_a_restriction(
    manager, claims_specialist, multi_line_claim
):
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[1], note=""
    )
    with pytest.raises(PermissionDenied):
        services.restriction_lift(
            actor=claims_specialist, claim_id=multi_line_claim.pk, line_numbers=[1], basis="oral"
        )
    assert ServiceLine.objects.get(claim=multi_line_claim, number=1).restricted_from_plan


def test_the_claim_page_ends_a_restriction(manager, multi_line_claim, login_client):
    services.restriction_record(
        actor=manager, claim_id=multi_line_claim.pk, line_numbers=[2], note=""
    )
    client = login_client(manager)
    page = client.get(
        reverse("billing:claim-detail", args=[manager.organization.slug, multi_line_claim.pk])
    )
    assert "End the restriction" in page.content.decode()
    url = reverse(
        "billing:claim-restriction-lift", args=[manager.organization.slug, multi_line_claim.pk]
    )

    response = client.post(url, {"line_numbers": ["2"], "basis": "oral"})

    assert response.status_code == 302
    assert not ServiceLine.objects.get(claim=multi_line_claim, number=2).restricted_from_plan
    assert "Restriction ended for line 2" in client.get(response["Location"]).content.decode()
