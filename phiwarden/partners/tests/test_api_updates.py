"""PATCH of vendors, BAA terms and flows: only the fields sent change, through the same
services as the edit pages (audited once, with the changed fields), and bad input is 422
with messages naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import services
from phiwarden.partners.models import Baa, Flow, Vendor
from phiwarden.partners.tests.factories import approved_vendor, make_vendor, map_flow, sign_baa

pytestmark = pytest.mark.django_db


def _event(code):
    return AuditEvent.objects.get(event_code=code)


# --- Vendors -------------------------------------------------------------------------------


def test_vendor_patch_changes_only_the_fields_sent(api, officer):
    vendor = make_vendor(
        officer, kind="clearinghouse", services="Claims", phi_classes=["insurance"]
    )

    response = api(
        "PATCH", f"/vendors/{vendor.pk}", {"risk_tier": "moderate", "phi_classes": ["payments"]}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["kind"], body["services"]) == (
        "Synthetic Clearinghouse",
        "clearinghouse",
        "Claims",
    )
    assert (body["risk_tier"], body["phi_classes"]) == ("moderate", ["payments"])
    vendor.refresh_from_db()
    assert (vendor.risk_tier, vendor.phi_classes) == ("moderate", ["payments"])
    event = _event(EventCode.VENDOR_UPDATED)
    assert (event.target_id, event.data, event.actor_id) == (
        str(vendor.pk),
        {"fields": ["phi_classes", "risk_tier"]},
        officer.user_id,
    )


def test_vendor_patch_with_nothing_new_records_nothing(api, officer):
    vendor = make_vendor(officer)

    response = api("PATCH", f"/vendors/{vendor.pk}", {"name": vendor.name})

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(event_code=EventCode.VENDOR_UPDATED).exists()


@pytest.mark.parametrize(
    ("_case", "patch", "message"),
    [
        ("unknown_phi_class", {"phi_classes": ["genome"]}, "phi_classes: Unknown PHI classes"),
        ("unknown_kind", {"kind": "moon"}, "kind: Value 'moon' is not a valid choice."),
        ("blank_name", {"name": "  "}, "name: This field cannot be blank."),
        ("null_name", {"name": None}, "name: may not be null."),
    ],
)
def test_vendor_patch_refuses_bad_values_with_the_field_named(api, officer, _case, patch, message):
    vendor = make_vendor(officer)

    response = api("PATCH", f"/vendors/{vendor.pk}", patch)

    assert response.status_code == 422
    assert any(m.startswith(message) for m in response.json()["detail"]), response.json()
    assert Vendor.objects.get().name == "Synthetic Clearinghouse"
    assert not AuditEvent.objects.filter(event_code=EventCode.VENDOR_UPDATED).exists()


def test_vendor_patch_to_a_taken_name_is_422(api, officer):
    make_vendor(officer, name="Synthetic Printer")
    vendor = make_vendor(officer)

    response = api("PATCH", f"/vendors/{vendor.pk}", {"name": "synthetic printer"})

    assert response.json() == {"detail": ["name: A vendor with this name already exists."]}


def test_vendor_patch_cannot_change_the_status(api, officer):
    """Approval goes through POST …/status, which needs due diligence."""
    vendor = make_vendor(officer)

    api("PATCH", f"/vendors/{vendor.pk}", {"status": "approved"})

    assert Vendor.objects.get().status == "proposed"


def test_vendor_patch_of_another_organization_is_404(officer, outsider, token_caller):
    vendor = make_vendor(officer)

    response = token_caller(outsider)("PATCH", f"/vendors/{vendor.pk}", {"name": "Taken"})

    assert response.status_code == 404
    assert Vendor.objects.get().name == "Synthetic Clearinghouse"


def test_a_reader_cannot_patch(auditor, officer, token_caller):
    vendor = make_vendor(officer)

    response = token_caller(auditor)("PATCH", f"/vendors/{vendor.pk}", {"name": "Renamed"})

    assert response.status_code == 403
    assert Vendor.objects.get().name == "Synthetic Clearinghouse"


# --- BAAs ----------------------------------------------------------------------------------


def test_baa_patch_amends_the_terms_sent(api, officer, clients):
    baa = sign_baa(officer, client=clients[0], notice_window_days=30)

    response = api(
        "PATCH",
        f"/baas/{baa.pk}",
        {"notice_window_days": 5, "notice_window_kind": "business", "expires_on": None},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["notice_window_days"], body["notice_window_kind"], body["ends_on"]) == (
        5,
        "business",
        None,
    )
    assert (body["status"], body["signed_on"], body["client_id"]) == (
        "signed",
        "2025-01-01",
        clients[0].pk,
    )
    baa.refresh_from_db()
    assert (baa.notice_window_days, baa.expires_on) == (5, None)
    assert _event(EventCode.BAA_UPDATED).data == {
        "fields": ["expires_on", "notice_window_days", "notice_window_kind"]
    }


@pytest.mark.parametrize(
    ("_case", "patch", "message"),
    [
        ("ends_before_start", {"expires_on": "2024-12-31"}, "expires_on: The BAA cannot end"),
        ("window_too_long", {"notice_window_days": 400}, "notice_window_days: Choose between"),
        ("unknown_day_kind", {"notice_window_kind": "lunar"}, "notice_window_kind: Choose"),
        ("signed_without_date", {"signed_on": None}, "signed_on: A signed BAA needs"),
        ("terminated_by_patch", {"status": "terminated"}, "status: A BAA is recorded as"),
        ("null_flag", {"auto_renews": None}, "auto_renews: may not be null."),
    ],
)
def test_baa_patch_refuses_bad_terms(api, officer, clients, _case, patch, message):
    baa = sign_baa(officer, client=clients[0])

    response = api("PATCH", f"/baas/{baa.pk}", patch)

    assert response.status_code == 422
    assert any(m.startswith(message) for m in response.json()["detail"]), response.json()
    assert Baa.objects.get().expires_on == baa.expires_on
    assert not AuditEvent.objects.filter(event_code=EventCode.BAA_UPDATED).exists()


def test_a_terminated_baa_cannot_be_patched(api, officer, clients):
    baa = sign_baa(officer, client=clients[0])
    services.baa_terminate(
        actor=officer,
        baa=baa,
        terminated_on=dt.date(2025, 3, 3),
        reason="Ended",
        disposition="none_held",
    )

    response = api("PATCH", f"/baas/{baa.pk}", {"notice_window_days": 3})

    assert response.json() == {"detail": ["A terminated BAA cannot be changed; record a new one."]}


# --- Flows ---------------------------------------------------------------------------------


def test_flow_patch_keeps_the_ends_not_sent(api, officer):
    vendor = approved_vendor(officer)
    flow = map_flow(officer, destination_vendor=vendor)

    response = api("PATCH", f"/flows/{flow.pk}", {"channel": "vpn", "volume": "200 a week"})

    assert response.status_code == 200
    body = response.json()
    assert (body["channel"], body["volume"], body["source"], body["destination"]) == (
        "vpn",
        "200 a week",
        "Billing system",
        vendor.name,
    )
    assert _event(EventCode.FLOW_UPDATED).data == {"fields": ["channel", "volume"]}


def test_flow_patch_replaces_an_end_as_a_whole(api, officer, clients):
    vendor = approved_vendor(officer)
    flow = map_flow(officer, destination_vendor=vendor)

    response = api(
        "PATCH",
        f"/flows/{flow.pk}",
        {"source_client_id": clients[0].pk, "destination_system": "Archive"},
    )

    assert response.status_code == 200
    flow.refresh_from_db()
    assert (flow.source_system, flow.source_client_id, flow.source_vendor_id) == (
        "",
        clients[0].pk,
        None,
    )
    assert (flow.destination_system, flow.destination_vendor_id) == ("Archive", None)


def test_flow_patch_links_and_unlinks_its_baa(api, officer):
    vendor = approved_vendor(officer)
    baa = sign_baa(officer, vendor=vendor)
    flow = map_flow(officer, destination_vendor=vendor)

    linked = api("PATCH", f"/flows/{flow.pk}", {"baa_id": baa.pk})
    unlinked = api("PATCH", f"/flows/{flow.pk}", {"baa_id": None})

    assert (linked.json()["baa_id"], unlinked.json()["baa_id"]) == (baa.pk, None)
    assert Flow.objects.get().baa_id is None


@pytest.mark.parametrize(
    ("_case", "patch", "message"),
    [
        ("unknown_stage", {"stage": "astral"}, "stage: Unknown stage."),
        ("unknown_channel", {"channel": "pigeon"}, "channel: Unknown channel."),
        ("blank_name", {"name": " "}, "name: Name the flow."),
        ("two_sources", {"source_system": "A", "source_vendor_id": 0}, None),
        (
            "no_destination",
            {"destination_system": ""},
            "destination_system: Give the destination as one",
        ),
        ("null_stage", {"stage": None}, "stage: may not be null."),
    ],
)
def test_flow_patch_refuses_bad_values(api, officer, _case, patch, message):
    vendor = approved_vendor(officer)
    flow = map_flow(officer, destination_vendor=vendor)
    if _case == "two_sources":
        patch = {**patch, "source_vendor_id": vendor.pk}
        message = "source_system: Give the source as one"

    response = api("PATCH", f"/flows/{flow.pk}", patch)

    assert response.status_code == 422
    assert any(m.startswith(message) for m in response.json()["detail"]), response.json()
    assert Flow.objects.get().destination_vendor_id == vendor.pk
    assert not AuditEvent.objects.filter(event_code=EventCode.FLOW_UPDATED).exists()


def test_flow_patch_naming_another_organizations_vendor_is_404(api, officer, outsider):
    stranger = make_vendor(outsider, name="Other Organization Vendor")
    flow = map_flow(officer, destination_system="Archive")

    response = api("PATCH", f"/flows/{flow.pk}", {"destination_vendor_id": stranger.pk})

    assert response.status_code == 404
    assert Flow.objects.get().destination_system == "Archive"
