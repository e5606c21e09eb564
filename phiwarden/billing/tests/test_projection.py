"""Minimum necessary through the PHI door: for every role and purpose, the claim page, the
API and the export show exactly the allowed fields, and the audit event lists them
(45 CFR 164.502(b), 164.514(d); 164.312(b))."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability, Role, role_has
from phiwarden.accounts.services import api_token_create
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.billing import selectors
from phiwarden.billing.imports import x12_import
from phiwarden.billing.minimum_necessary import (
    PROJECTIONS,
    PhiField,
    Purpose,
    allowed_fields,
)
from phiwarden.billing.models import Claim
from phiwarden.billing.synthetic import generate_batch

pytestmark = pytest.mark.django_db

F = PhiField
READERS = [role for role in Role if role_has(role, Capability.BILLING_VIEW_PHI)]
PAIRS = [(role, purpose) for role in Role for purpose in Purpose]


@pytest.fixture
def claim(owner, clients) -> Claim:
    stream = io.BytesIO()
    generate_batch(seed=11, claims=4).write_837p(stream)
    stream.seek(0)
    x12_import(actor=owner, client=clients[0], stream=stream, filename="p.837")
    return Claim.objects.order_by("pk").first()  # type: ignore[return-value]


def _member(make_member, clients, role: Role) -> Membership:
    member: Membership = make_member(role, email=f"{role.value}-projection@example.test")
    member.clients.set([clients[0]])
    return member


def _last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-pk").first()  # type: ignore[return-value]


def test_the_table_never_lets_a_routine_purpose_see_the_ssn():
    for (role, purpose), fields in PROJECTIONS.items():
        if purpose in (Purpose.PAYMENT, Purpose.OPERATIONS):
            assert F.PATIENT_SSN not in fields, (role, purpose)


def test_roles_without_phi_access_have_no_projection():
    for role in Role:
        if not role_has(role, Capability.BILLING_VIEW_PHI):
            assert all(not allowed_fields(role, p) for p in Purpose), role
    assert allowed_fields("no-such-role", "payment") == frozenset()
    assert allowed_fields(Role.CODER, "marketing") == frozenset()


@pytest.mark.parametrize(("role", "purpose"), PAIRS, ids=lambda v: str(v))
def test_claim_detail_shows_exactly_the_allowed_fields(role, purpose, claim, make_member, clients):
    member = _member(make_member, clients, role)
    allowed = allowed_fields(role, purpose)
    before = AuditEvent.objects.count()

    if not role_has(role, Capability.BILLING_VIEW_PHI) or not allowed:
        with pytest.raises(PermissionDenied):
            selectors.claim_detail(membership=member, claim_id=claim.pk, purpose=purpose)
        denial = _last_event()
        assert denial.event_code == EventCode.ACCESS_DENIED
        assert AuditEvent.objects.count() == before + 1
        return

    with CaptureQueriesContext(connection) as queries:
        detail = selectors.claim_detail(membership=member, claim_id=claim.pk, purpose=purpose)

    # The lines with the claim (and the key rows) and the audit write (one statement on
    # PostgreSQL): every projection reads with the same queries, none loads a withheld
    # field later...
    assert len(queries) == (2 if connection.vendor == "postgresql" else 3)
    # ... and a withheld field's columns are not even read from the database.
    read_sql = next(q["sql"] for q in queries if 'FROM "billing_serviceline"' in q["sql"])
    columns = {
        f: {c.rsplit("__", 1)[-1] for c in (*selectors._DETAIL_COLUMNS[f], *line_columns)}
        for f in F
        for line_columns in [selectors._LINE_COLUMNS.get(f, ())]
    }
    needed = set().union(*(columns[f] for f in allowed))
    for withheld in set(F) - allowed:
        for column in columns[withheld] - needed - {"name"}:  # client/payer/provider "name"
            assert f'."{column}"' not in read_sql, (withheld, column)

    record_fields = {f.value for f in allowed if f not in (F.PROCEDURES, F.ADJUSTMENTS)}
    assert set(detail.projected.values) == record_fields
    assert set(detail.projected.withheld) == {
        f.value for f in F if f not in allowed and f not in (F.PROCEDURES, F.ADJUSTMENTS)
    }
    assert all("procedure" in line for line in detail.lines) == (F.PROCEDURES in allowed)
    event = _last_event()
    assert event.event_code == EventCode.BILLING_PHI_VIEWED
    assert event.purpose == purpose
    assert set(event.fields_disclosed) <= {f.value for f in allowed}
    assert set(event.fields_disclosed) >= {
        name for name, value in detail.projected.values.items() if value not in ("", None)
    }
    assert list(event.patients.values_list("patient_id", flat=True)) == [claim.patient_id]


def test_a_claim_of_an_unassigned_client_is_not_found(claim, make_member, clients):
    coder = make_member(Role.CODER)
    coder.clients.set([clients[1]])

    with pytest.raises(Http404):
        selectors.claim_detail(membership=coder, claim_id=claim.pk, purpose=Purpose.PAYMENT)


def test_a_claim_of_another_organization_is_not_found(claim, outsider):
    with pytest.raises(Http404):
        selectors.claim_detail(membership=outsider, claim_id=claim.pk, purpose=Purpose.PAYMENT)


def _api_claim(member: Membership, claim: Claim, purpose: str) -> dict[str, Any]:
    _, raw = api_token_create(
        actor=member, name="projection", scopes=[Capability.BILLING_VIEW_PHI.value], days=1
    )
    response = HttpClient().get(
        f"/api/v1/billing/claims/{claim.pk}",
        {"purpose": purpose},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.content[:300]
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("role", [Role.CODER, Role.PAYMENT_POSTER, Role.ELIGIBILITY_SPECIALIST])
def test_the_api_projects_like_the_selector(role, claim, make_member, clients):
    member = _member(make_member, clients, role)
    allowed = allowed_fields(role, Purpose.PAYMENT)

    body = _api_claim(member, claim, Purpose.PAYMENT)

    expected = {f.value for f in allowed if f not in (F.PROCEDURES, F.ADJUSTMENTS)}
    assert set(body["projected"]["values"]) == expected
    event = _last_event()
    assert event.api_token_prefix
    assert set(event.fields_disclosed) <= {f.value for f in allowed}


@pytest.mark.parametrize("role", [Role.CODER, Role.AR_SPECIALIST, Role.PAYMENT_POSTER])
def test_the_page_shows_no_withheld_value(role, claim, make_member, clients, login_client):
    member = _member(make_member, clients, role)
    unrestricted = selectors.claim_detail(
        membership=_member(make_member, clients, Role.PRIVACY_OFFICER),
        claim_id=claim.pk,
        purpose=Purpose.INDIVIDUAL,
    )
    allowed = allowed_fields(role, Purpose.PAYMENT)
    client = login_client(member)

    response = client.get(
        reverse("billing:claim-detail", args=[member.organization.slug, claim.pk]),
        {"purpose": Purpose.PAYMENT},
    )

    assert response.status_code == 200
    body = response.content.decode()
    values = unrestricted.projected.values
    if F.PATIENT_NAME not in allowed:
        assert values["patient.name"].split(",")[0] not in body
    if F.MEMBER_ID not in allowed:
        assert values["coverage.member_id"] not in body
    if F.PATIENT_BIRTH_DATE not in allowed:
        assert values["patient.birth_date"].isoformat() not in body
    if F.PATIENT_ADDRESS not in allowed:
        assert values["patient.address"]["line1"] not in body
    assert "withheld for this purpose" in body


def test_the_export_holds_only_queue_fields_the_role_may_see(
    claim, make_member, clients, login_client
):
    from phiwarden.accounts.tests.factories import reauthenticate

    officer = _member(make_member, clients, Role.PRIVACY_OFFICER)
    client = login_client(officer)
    reauthenticate(client)

    response = client.post(
        reverse("billing:queue-export", args=[officer.organization.slug]),
        {
            "purpose": "operations",
            "format": "csv",
            "recipient": "Clinic manager",
            "reason": "Monthly A/R review",
        },
    )

    assert response.status_code == 200
    header = response.content.decode().splitlines()[0].split(",")
    allowed = allowed_fields(Role.PRIVACY_OFFICER, Purpose.OPERATIONS)
    assert set(header[3:]) == {f.value for f in selectors.QUEUE_FIELDS if f in allowed}
    event = _last_event()
    assert event.event_code == EventCode.BILLING_EXPORTED
    assert event.patients.count() >= 1
