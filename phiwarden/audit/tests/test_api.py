from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from phiwarden.accounts.roles import Role
from phiwarden.accounts.services import api_token_create
from phiwarden.audit import merkle
from phiwarden.audit.models import AuditEvent, TreeHead
from phiwarden.audit.tests.helpers import sealed_log


def bearer(membership):
    scopes = [c.value for c in membership.capabilities]
    _token, raw = api_token_create(actor=membership, name="test", scopes=scopes, days=1)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def log(organization, owner):
    return sealed_log(organization, owner.user, sizes=(6, 5))


def test_search_pages_through_every_event_once_newest_first(log, privacy_officer):
    headers = bearer(privacy_officer)
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit/events?limit=4&event_code=core.access.denied"
        response = HttpClient().get(url + (f"&cursor={cursor}" if cursor else ""), **headers)
        assert response.status_code == 200
        body = response.json()
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = list(
        AuditEvent.objects.filter(event_code="core.access.denied").order_by("-occurred_at", "-id")
    )
    assert seen == [e.pk for e in expected]


def test_patient_ids_are_shown_only_to_officers(log, privacy_officer, make_member):
    auditor = make_member(Role.AUDITOR, email="auditor2@example.test")

    officer_view = (
        HttpClient().get("/api/v1/audit/events?limit=50", **bearer(privacy_officer)).json()
    )
    auditor_view = HttpClient().get("/api/v1/audit/events?limit=50", **bearer(auditor)).json()

    assert any(e["patient_ids"] for e in officer_view["events"])
    assert all(e["patient_ids"] is None for e in auditor_view["events"])
    refused = HttpClient().get("/api/v1/audit/events?patient_id=1001", **bearer(auditor))
    assert refused.status_code == 403


def test_search_by_patient_finds_the_events_that_touched_them(log, privacy_officer):
    body = (
        HttpClient().get("/api/v1/audit/events?patient_id=1003", **bearer(privacy_officer)).json()
    )

    assert [e["target_id"] for e in body["events"]] == ["3"]


def test_bad_cursor_is_a_clear_error(log, privacy_officer):
    response = HttpClient().get("/api/v1/audit/events?cursor=!!!", **bearer(privacy_officer))

    assert response.status_code == 422
    assert "cursor" in response.content.decode()


def test_inclusion_proof_verifies_against_the_signed_root(log, privacy_officer, organization):
    event = AuditEvent.objects.filter(organization=organization).order_by("pk")[3]

    proof = (
        HttpClient()
        .get(f"/api/v1/audit/events/{event.pk}/inclusion-proof", **bearer(privacy_officer))
        .json()
    )

    head = TreeHead.objects.get(log_id=organization.pk, tree_size=proof["tree_size"])
    assert merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]), proof["sequence"], proof["tree_size"],
        [bytes.fromhex(p) for p in proof["path"]], bytes(head.root_hash),
    )  # fmt: skip


def test_consistency_proof_links_two_tree_heads(log, privacy_officer):
    proof = (
        HttpClient()
        .get("/api/v1/audit/consistency-proof?old_size=6&new_size=11", **bearer(privacy_officer))
        .json()
    )

    assert merkle.verify_consistency(
        6, 11, bytes.fromhex(proof["old_root"]), bytes.fromhex(proof["new_root"]),
        [bytes.fromhex(p) for p in proof["path"]],
    )  # fmt: skip


def test_outsider_gets_404_for_another_organizations_event_proof(log, outsider, organization):
    event = AuditEvent.objects.filter(organization=organization).earliest("pk")

    response = HttpClient().get(
        f"/api/v1/audit/events/{event.pk}/inclusion-proof", **bearer(outsider)
    )

    assert response.status_code == 404


def test_billing_staff_cannot_search(log, biller):
    response = HttpClient().get("/api/v1/audit/events", **bearer(biller))

    assert response.status_code == 403
