"""Flows: every kind of gap is flagged, observed flows are suggested once, channels, review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from phiwarden.accounts.models import Client
from phiwarden.audit.codes import EventCode
from phiwarden.audit.models import AuditEvent
from phiwarden.partners import services
from phiwarden.partners.checks import FlagKind, PartnerIndex, flows_checked
from phiwarden.partners.models import ApprovedChannel, Flow, FlowMapReview
from phiwarden.partners.tests.factories import approved_vendor, make_vendor, map_flow, sign_baa

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2025, 3, 3)


def kinds(flow: Flow) -> list[str]:
    index = PartnerIndex.load(flow.organization, TODAY)
    return [f.kind.value for f in index.flow_flags(flow)]


@pytest.fixture
def covered_vendor(officer):
    vendor = approved_vendor(officer)
    sign_baa(officer, vendor=vendor)
    services.channels_set(actor=officer, channels=["sftp", "api_tls"])
    return vendor


def test_a_flow_to_a_covered_approved_vendor_on_an_approved_channel_has_no_flag(
    officer, covered_vendor
):
    flow = map_flow(officer, destination_vendor=covered_vendor)
    assert kinds(flow) == []


def test_unapproved_channel_is_flagged(officer, covered_vendor):
    flow = map_flow(officer, destination_vendor=covered_vendor, channel="email")
    assert kinds(flow) == [FlagKind.UNAPPROVED_CHANNEL]


def test_vendor_without_a_current_baa_is_flagged(officer, covered_vendor):
    other = approved_vendor(officer, "Synthetic Statement Printer")
    flow = map_flow(officer, stage="statements", destination_vendor=other)
    assert kinds(flow) == [FlagKind.NO_CURRENT_BAA]


def test_vendor_with_an_expired_baa_is_flagged(officer, covered_vendor):
    other = approved_vendor(officer, "Synthetic Shredder")
    sign_baa(officer, vendor=other, expires_on=D(2025, 3, 2))
    flow = map_flow(officer, stage="disposal", destination_vendor=other)
    assert kinds(flow) == [FlagKind.NO_CURRENT_BAA]


def test_vendor_with_diligence_not_done_is_flagged_twice_over(officer, covered_vendor):
    other = make_vendor(officer, "Synthetic Cloud")
    sign_baa(officer, vendor=other)
    flow = map_flow(officer, stage="storage", destination_vendor=other)
    assert kinds(flow) == [FlagKind.DILIGENCE_NOT_DONE, FlagKind.VENDOR_NOT_APPROVED]


def test_vendor_whose_review_lapsed_is_flagged(officer, covered_vendor):
    from phiwarden.partners.models import DiligenceReview

    DiligenceReview.objects.filter(vendor=covered_vendor).update(next_review_on=D(2025, 3, 2))
    flow = map_flow(officer, destination_vendor=covered_vendor)
    assert kinds(flow) == [FlagKind.DILIGENCE_NOT_DONE]


def test_client_without_a_current_baa_is_flagged(officer, clients, covered_vendor):
    flow = map_flow(
        officer,
        stage="intake",
        source_system="",
        source_client=clients[0],
        destination_system="Billing system",
    )
    assert kinds(flow) == [FlagKind.NO_CURRENT_BAA]
    assert PartnerIndex.load(officer.organization, TODAY).flow_flags(flow)[0].party == (
        f"client:{clients[0].pk}"
    )
    sign_baa(officer, client=clients[0])
    assert kinds(flow) == []


def test_a_named_baa_that_is_not_current_is_flagged(officer, clients, covered_vendor):
    sign_baa(officer, client=clients[0])
    draft = services.baa_create(actor=officer, terms=services.BaaTerms(), client=clients[0])
    flow = map_flow(
        officer,
        stage="intake",
        source_system="",
        source_client=clients[0],
        destination_system="Billing system",
        baa=draft,
    )
    assert kinds(flow) == [FlagKind.NO_CURRENT_BAA]


def test_every_gap_at_once(officer, clients):
    vendor = make_vendor(officer, "Synthetic Fax Service")
    flow = map_flow(
        officer,
        source_system="",
        source_client=clients[0],
        destination_system="",
        destination_vendor=vendor,
        channel="fax",
    )
    assert kinds(flow) == [
        FlagKind.UNAPPROVED_CHANNEL,
        FlagKind.NO_CURRENT_BAA,
        FlagKind.NO_CURRENT_BAA,
        FlagKind.DILIGENCE_NOT_DONE,
        FlagKind.VENDOR_NOT_APPROVED,
    ]


@pytest.mark.parametrize(
    ("_case", "fields"),
    [
        ("no-source", {"source_system": ""}),
        ("two-sources", {"source_client": "client"}),
        ("unknown-stage", {"stage": "billing"}),
        ("unknown-channel", {"channel": "carrier-pigeon"}),
        ("no-name", {"name": "  "}),
    ],
)
def test_flow_create_refuses_incomplete_flows(_case, fields, officer, clients):
    if fields.get("source_client") == "client":
        fields = {"source_client": clients[0]}
    with pytest.raises(ValidationError):
        map_flow(officer, destination_system="Archive", **fields)
    assert not Flow.objects.exists()


def test_flow_create_refuses_another_organizations_vendor(officer, outsider):
    stranger = make_vendor(outsider, "Other Vendor")
    with pytest.raises(ValidationError):
        map_flow(officer, destination_vendor=stranger)


def test_flow_observed_suggests_once_and_then_counts(officer, clients):
    organization = officer.organization
    first = services.flow_observed(
        organization, clients[0], "sftp", "intake", observed_on=D(2025, 3, 1)
    )
    again = services.flow_observed(
        organization,
        clients[0],
        "sftp",
        "intake",
        phi_classes=["insurance"],
        observed_on=D(2025, 3, 2),
    )

    assert first.pk == again.pk
    flow = Flow.objects.get()
    assert (flow.status, flow.observed_count, flow.last_observed_on, flow.phi_classes) == (
        "suggested",
        2,
        D(2025, 3, 2),
        ["insurance"],
    )
    assert (flow.source_client, flow.destination_system) == (clients[0], services.BILLING_SYSTEM)
    assert AuditEvent.objects.filter(event_code=EventCode.FLOW_OBSERVED).count() == 1


def test_flow_observed_keeps_a_confirmed_flow_confirmed(officer, clients):
    organization = officer.organization
    flow = services.flow_observed(organization, clients[0], "sftp", "intake")
    services.flow_confirm(actor=officer, flow=flow)
    services.flow_observed(organization, clients[0], "sftp", "intake")
    flow.refresh_from_db()
    assert (flow.status, flow.observed_count) == ("confirmed", 2)


def test_flow_observed_on_another_channel_or_after_retirement_is_a_new_suggestion(officer, clients):
    organization = officer.organization
    flow = services.flow_observed(organization, clients[0], "sftp", "intake")
    services.flow_observed(organization, clients[0], "secure_portal", "intake")
    services.flow_retire(actor=officer, flow=flow)
    services.flow_observed(organization, clients[0], "sftp", "intake")
    assert Flow.objects.filter(status="suggested").count() == 2
    assert Flow.objects.filter(status="retired").count() == 1


def test_flow_observed_refuses_another_organizations_client(officer, other_organization):
    stranger = Client.objects.create(organization=other_organization, name="Other Clinic")
    with pytest.raises(ValidationError):
        services.flow_observed(officer.organization, stranger, "sftp", "intake")


def test_only_suggested_flows_can_be_confirmed(officer):
    flow = map_flow(officer, destination_system="Archive")
    with pytest.raises(ValidationError):
        services.flow_confirm(actor=officer, flow=flow)


def test_channels_set_replaces_the_list_and_audits_the_difference(officer):
    services.channels_set(actor=officer, channels=["sftp", "fax"])
    services.channels_set(actor=officer, channels=["sftp", "vpn"])
    services.channels_set(actor=officer, channels=["vpn", "sftp"])  # same set: no event
    assert sorted(ApprovedChannel.objects.values_list("channel", flat=True)) == ["sftp", "vpn"]
    events = AuditEvent.objects.filter(event_code=EventCode.CHANNELS_CHANGED).order_by("pk")
    assert [e.data for e in events] == [
        {"added": ["fax", "sftp"], "removed": []},
        {"added": ["vpn"], "removed": ["fax"]},
    ]


def test_flow_map_review_freezes_the_counts(officer, covered_vendor):
    map_flow(officer, destination_vendor=covered_vendor)
    map_flow(officer, stage="statements", destination_system="Archive", channel="mail")
    review = services.flow_map_review_record(actor=officer, reviewed_on=TODAY, notes="Yearly")
    assert (review.flow_count, review.flagged_count) == (2, 1)
    assert FlowMapReview.objects.get().reviewer == officer.user
    assert len(flows_checked(officer.organization, TODAY)) == 2
