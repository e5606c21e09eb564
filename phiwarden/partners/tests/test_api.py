"""The partners API: the same services as the pages, explicit shapes, 422 on bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.partners.diligence import QUESTION_CODES
from phiwarden.partners.models import Flow, Vendor
from phiwarden.partners.tests.factories import approved_vendor, map_flow, sign_baa

pytestmark = pytest.mark.django_db
D = dt.date


def test_vendor_create_then_diligence_then_list(api, officer):
    created = api(
        "POST",
        "/vendors",
        {"name": "Synthetic API Vendor", "kind": "cloud", "phi_classes": ["demographics"]},
    )
    assert created.status_code == 201
    vendor_id = created.json()["id"]
    review = api(
        "POST",
        f"/vendors/{vendor_id}/diligence",
        {
            "answers": dict.fromkeys(QUESTION_CODES, "yes"),
            "decision": "approved",
            "decided_on": "2025-03-01",
        },
    )
    assert (review.status_code, review.json()["score"], review.json()["next_review_on"]) == (
        201,
        100,
        "2026-03-01",
    )
    [listed] = api("GET", "/vendors").json()
    assert listed == {
        "id": vendor_id,
        "name": "Synthetic API Vendor",
        "kind": "cloud",
        "services": "",
        "phi_classes": ["demographics"],
        "handles_phi": True,
        "risk_tier": "high",
        "status": "proposed",
        "baa": {
            "state": "missing",
            "label": "Missing",
            "baa_id": None,
            "expires_on": None,
            "warning_days": None,
        },
        "diligence_done": True,
        "next_diligence_review_on": "2026-03-01",
    }


def test_invalid_input_is_422_and_writes_nothing(api):
    response = api("POST", "/vendors", {"name": "Bad", "phi_classes": ["genome"]})
    assert response.status_code == 422
    assert not Vendor.objects.exists()


def test_baa_create_and_client_check(api, clients):
    response = api(
        "POST",
        "/baas",
        {
            "client_id": clients[0].pk,
            "status": "signed",
            "signed_on": "2025-01-01",
            "expires_on": "2025-04-01",
            "notice_window_days": 5,
            "notice_window_kind": "business",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["direction"], body["in_force"], body["ends_on"], body["document_versions"]) == (
        "client",
        True,
        "2025-04-01",
        0,
    )
    check = api("GET", f"/clients/{clients[0].pk}/baa-check").json()
    assert (check["state"], check["warning_days"]) == ("expiring", 30)


def test_baa_create_with_another_organizations_client_is_404(api, other_organization):
    from phiwarden.accounts.models import Client

    stranger = Client.objects.create(organization=other_organization, name="Other Clinic")
    assert api("POST", "/baas", {"client_id": stranger.pk}).status_code == 404


def test_flows_carry_their_flags(api, officer):
    vendor = approved_vendor(officer)
    sign_baa(officer, vendor=vendor)
    map_flow(officer, destination_vendor=vendor, channel="fax")
    [flow] = api("GET", "/flows").json()
    assert flow["flags"] == [
        {
            "kind": "unapproved_channel",
            "detail": "Fax is not approved",
            "citation": "45 CFR 164.312(e)(1)",
        }
    ]


def test_flow_create_and_confirm(api, officer, clients):
    vendor = approved_vendor(officer)
    response = api(
        "POST",
        "/flows",
        {
            "stage": "clearinghouse",
            "name": "Claims out",
            "channel": "sftp",
            "source_system": "Billing",
            "destination_vendor_id": vendor.pk,
            "phi_classes": ["insurance"],
        },
    )
    assert response.status_code == 201
    assert response.json()["destination"] == vendor.name
    from phiwarden.partners.services import flow_observed

    suggested = flow_observed(officer.organization, clients[0], "sftp", "intake")
    assert api("POST", f"/flows/{suggested.pk}/confirm").json()["status"] == "confirmed"
    assert api("POST", f"/flows/{suggested.pk}/confirm").status_code == 422
    assert Flow.objects.filter(status="confirmed").count() == 2


def test_import_dry_run_and_errors(api):
    dry = api("POST", "/import", {"kind": "vendors", "csv": "name,kind\nA,cloud\nB,moon\n"}).json()
    assert (dry["applied"], dry["errors"][0]["row"], dry["errors"][0]["column"]) == (
        False,
        3,
        "kind",
    )
    applied = api(
        "POST", "/import", {"kind": "vendors", "csv": "name,kind\nA,cloud\n", "dry_run": False}
    ).json()
    assert (applied["applied"], applied["created"]) == (True, 1)
    assert Vendor.objects.get().name == "A"


def test_vendor_status_attestation_and_the_diligence_gate(api, officer):
    vendor_id = api("POST", "/vendors", {"name": "Synthetic Gate"}).json()["id"]
    refused = api("POST", f"/vendors/{vendor_id}/status", {"status": "approved"})
    assert refused.status_code == 422
    assert "164.308(b)(1)" in refused.json()["detail"][0]
    attestation = api(
        "POST",
        f"/vendors/{vendor_id}/attestations",
        {"kind": "hitrust", "issued_on": "2025-01-01", "expires_on": "2027-01-01"},
    )
    assert attestation.status_code == 201
    assert attestation.json()["has_document"] is False


def test_client_profile_channels_review_and_termination(api, officer, clients):
    profile = api(
        "PUT",
        f"/clients/{clients[0].pk}/profile",
        {"privacy_officer_name": "Pat Example", "states_served": ["oh"]},
    )
    assert profile.json()["states_served"] == ["OH"]
    assert api("PUT", "/approved-channels", {"channels": ["vpn", "sftp"]}).json() == {
        "channels": ["sftp", "vpn"]
    }
    assert api("GET", "/approved-channels").json() == {"channels": ["sftp", "vpn"]}
    review = api("POST", "/flow-map/reviews", {"reviewed_on": "2025-03-03"})
    assert (review.status_code, review.json()["flow_count"]) == (201, 0)
    baa = sign_baa(officer, client=clients[0])
    form = {"terminated_on": "2025-03-03", "reason": "Ended", "disposition": "returned"}
    ended = api("POST", f"/baas/{baa.pk}/terminate", files=form)
    assert ended.status_code == 422  # returned PHI needs its certificate date
    assert ended.json() == {
        "detail": [
            "disposition_certified_on: Give the date of the return or destruction certificate."
        ]
    }
    ended = api(
        "POST",
        f"/baas/{baa.pk}/terminate",
        files={**form, "disposition_certified_on": "2025-03-03"},
    )
    assert (ended.json()["status"], ended.json()["in_force"]) == ("terminated", False)
    assert ended.json()["certificate_document_id"] is None
