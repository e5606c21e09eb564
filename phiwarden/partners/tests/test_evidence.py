"""Checklist evidence for P1, P2, K5 and A3, measured from the data."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from phiwarden.compliance.evidence.partners import (
    approved_channels,
    baa_coverage,
    flow_map_coverage,
    vendor_diligence,
)
from phiwarden.compliance.registry import Status, checklist_measure
from phiwarden.partners import services
from phiwarden.partners.models import Attestation
from phiwarden.partners.models.vocabulary import LIFECYCLE_STAGES
from phiwarden.partners.tests.factories import (
    approved_vendor,
    make_vendor,
    map_flow,
    pass_diligence,
    sign_baa,
)

pytestmark = pytest.mark.django_db
D = dt.date


def test_every_partner_item_is_not_met_for_an_empty_organization(organization):
    results = {r.item.id: r.evidence for r in checklist_measure(organization)}
    for item in ("P1", "P2", "K5", "A3"):
        assert results[item].status is Status.NOT_MET, item


def test_p1_met_when_every_stage_is_mapped_complete_and_reviewed(officer):
    for stage in LIFECYCLE_STAGES:
        map_flow(
            officer, stage=stage.value, name=f"{stage.label} flow", destination_system="Archive"
        )
    assert flow_map_coverage(officer.organization).status is Status.PARTIAL  # not reviewed
    services.flow_map_review_record(actor=officer, reviewed_on=D(2025, 3, 1))
    evidence = flow_map_coverage(officer.organization)
    assert evidence.status is Status.MET
    assert evidence.facts["stages_mapped"] == 6
    assert evidence.links[0].url.endswith("/partners/flows/")


def test_p1_partial_with_a_missing_stage_or_classes_or_an_old_review(officer):
    for stage in LIFECYCLE_STAGES[1:]:
        map_flow(officer, stage=stage.value, name=stage.label, destination_system="Archive")
    map_flow(
        officer, stage="intake", name="No classes", destination_system="Archive", phi_classes=[]
    )
    services.flow_map_review_record(actor=officer, reviewed_on=D(2024, 3, 2))
    evidence = flow_map_coverage(officer.organization)
    assert evidence.status is Status.PARTIAL
    assert "1 flows without PHI classes" in evidence.summary
    assert "not reviewed within 12 months" in evidence.summary


def test_p1_ignores_suggested_flows(officer, clients):
    services.flow_observed(officer.organization, clients[0], "sftp", "intake")
    evidence = flow_map_coverage(officer.organization)
    assert (evidence.status, evidence.facts["suggested_flows"]) == (Status.NOT_MET, 1)


def test_p2_measures_the_share_of_parties_with_a_current_baa(officer, clients):
    vendor = approved_vendor(officer)
    make_vendor(officer, "Synthetic Toner", handles_phi=False)  # needs no BAA
    sign_baa(officer, client=clients[0])
    evidence = baa_coverage(officer.organization)
    assert evidence.status is Status.PARTIAL
    assert evidence.facts["share_covered"] == round(1 / 3, 3)
    sign_baa(officer, client=clients[1])
    sign_baa(officer, vendor=vendor)
    assert baa_coverage(officer.organization).status is Status.MET


def test_p2_partial_when_a_flow_reaches_a_party_without_a_baa(officer, clients):
    vendor = approved_vendor(officer)
    for client in clients:
        sign_baa(officer, client=client)
    sign_baa(officer, vendor=vendor)
    other = approved_vendor(officer, "Synthetic Old Vendor")
    sign_baa(officer, vendor=other)
    map_flow(officer, destination_vendor=other)
    services.vendor_set_status(
        actor=officer, vendor=other, status="terminated"
    )  # leaves P2's parties
    other.baas.update(status="terminated", terminated_on=D(2025, 3, 1), disposition="returned")
    evidence = baa_coverage(officer.organization)
    assert (evidence.status, evidence.facts["flows_to_parties_without_baa"]) == (Status.PARTIAL, 1)


def test_k5_needs_diligence_before_the_first_flow_and_unexpired_attestations(officer):
    early = approved_vendor(officer, "Synthetic Early")  # diligence 2025-01-10
    map_flow(officer, destination_vendor=early)  # flow on 2025-03-03: after
    assert vendor_diligence(officer.organization).status is Status.MET

    late = make_vendor(officer, "Synthetic Late")
    map_flow(officer, name="Too early", destination_vendor=late)
    with time_machine.travel(dt.datetime(2025, 3, 10, tzinfo=dt.UTC), tick=False):
        pass_diligence(officer, late, on=D(2025, 3, 10))
        evidence = vendor_diligence(officer.organization)
    assert evidence.status is Status.PARTIAL
    assert (evidence.facts["diligence_current"], evidence.facts["diligence_before_first_flow"]) == (
        2,
        1,
    )


def test_k5_partial_when_an_attestation_expired(officer):
    vendor = approved_vendor(officer)
    services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="soc2_type2",
        title="",
        issued_on=D(2024, 1, 1),
        expires_on=D(2025, 1, 1),
    )
    evidence = vendor_diligence(officer.organization)
    assert (evidence.status, evidence.facts["attestations_expired"]) == (Status.PARTIAL, 1)
    services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="soc2_type2",
        title="",
        issued_on=D(2025, 1, 2),
        expires_on=D(2026, 1, 1),
    )
    assert vendor_diligence(officer.organization).status is Status.MET
    assert Attestation.objects.count() == 2


def test_a3_counts_flows_on_approved_channels(officer):
    map_flow(officer, destination_system="Archive", channel="sftp")
    map_flow(officer, name="Faxes", destination_system="Archive", channel="fax")
    assert approved_channels(officer.organization).status is Status.NOT_MET  # no list yet
    services.channels_set(actor=officer, channels=["sftp"])
    evidence = approved_channels(officer.organization)
    assert (evidence.status, evidence.facts["flows_on_approved_channels"]) == (Status.PARTIAL, 1)
    services.channels_set(actor=officer, channels=["sftp", "fax"])
    evidence = approved_channels(officer.organization)
    # All flows pass; disclosures are not measured yet, so the item stays partly met.
    assert (evidence.status, evidence.facts["flows_on_approved_channels"]) == (Status.PARTIAL, 2)
