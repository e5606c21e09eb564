"""Obligations: BAA renewals, diligence re-reviews, attestation expiries, the map review."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwarden.core.obligations import Urgency, open_obligations, provider_names
from phiwarden.partners import services
from phiwarden.partners.obligations import partner_obligations_on
from phiwarden.partners.tests.factories import (
    approved_vendor,
    make_vendor,
    map_flow,
    pass_diligence,
    sign_baa,
)

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2025, 3, 3)


def by_kind(organization, kind, today=TODAY):
    return [o for o in partner_obligations_on(organization, today) if o.kind == kind]


def test_the_provider_is_registered_and_reaches_the_shared_list(officer):
    assert "partners" in provider_names()
    kinds = [o.kind for o in open_obligations(officer.organization)]
    assert "partners.flow_map_review" in kinds


def test_baa_renewal_appears_ninety_days_before_the_end(officer, clients):
    baa = sign_baa(officer, client=clients[0], expires_on=D(2025, 6, 2))  # 91 days away
    assert by_kind(officer.organization, "partners.baa_renewal") == []
    [obligation] = by_kind(officer.organization, "partners.baa_renewal", D(2025, 3, 4))
    assert obligation.title == "Renew the BAA with Synthetic Family Practice (ends within 90 days)"
    assert (obligation.due_on, obligation.citation) == (
        D(2025, 6, 2),
        "45 CFR 164.502(e), 164.504(e), 164.314(a)",
    )
    assert obligation.url.endswith(f"/partners/baas/{baa.pk}/")
    assert obligation.urgency(D(2025, 3, 4)) is Urgency.UPCOMING
    [soon] = by_kind(officer.organization, "partners.baa_renewal", D(2025, 5, 25))
    assert "within 30 days" in soon.title
    assert soon.urgency(D(2025, 5, 25)) is Urgency.DUE_SOON


def test_an_expired_baa_stays_overdue_until_replaced(officer, clients):
    sign_baa(officer, client=clients[0], expires_on=D(2025, 2, 1))
    [obligation] = by_kind(officer.organization, "partners.baa_renewal")
    assert obligation.urgency(TODAY) is Urgency.OVERDUE
    assert obligation.title.startswith("BAA with Synthetic Family Practice expired")
    sign_baa(officer, client=clients[0], signed_on=D(2025, 2, 1), expires_on=D(2027, 2, 1))
    assert by_kind(officer.organization, "partners.baa_renewal") == []


def test_auto_renewing_baa_asks_for_a_review_before_it_renews(officer, clients):
    sign_baa(
        officer,
        client=clients[0],
        signed_on=D(2023, 4, 1),
        expires_on=D(2024, 4, 1),
        auto_renews=True,
    )
    [obligation] = by_kind(officer.organization, "partners.baa_renewal")
    assert obligation.due_on == D(2025, 4, 1)
    assert "renews automatically" in obligation.title


def test_diligence_re_review_of_approved_vendors(officer):
    vendor = approved_vendor(officer, risk_tier="high")  # reviewed 2025-01-10: due 2026-01-10
    assert by_kind(officer.organization, "partners.diligence_review") == []
    [obligation] = by_kind(officer.organization, "partners.diligence_review", D(2025, 10, 15))
    assert (obligation.due_on, obligation.title) == (
        D(2026, 1, 10),
        f"Re-review the due diligence of {vendor.name}",
    )
    make_vendor(officer, "Synthetic Unapproved")  # not approved: nothing to re-review
    pass_diligence(officer, vendor, on=D(2025, 10, 1))
    assert by_kind(officer.organization, "partners.diligence_review", D(2025, 10, 15)) == []


def test_attestation_expiry_uses_the_latest_of_each_kind(officer):
    vendor = approved_vendor(officer)
    services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="soc2_type2",
        title="",
        issued_on=D(2024, 4, 1),
        expires_on=D(2025, 4, 1),
    )
    [obligation] = by_kind(officer.organization, "partners.attestation_expiry")
    assert (obligation.due_on, obligation.title) == (
        D(2025, 4, 1),
        f"Obtain a new SOC 2 Type II from {vendor.name}",
    )
    services.attestation_record(
        actor=officer,
        vendor=vendor,
        kind="soc2_type2",
        title="",
        issued_on=D(2025, 3, 1),
        expires_on=D(2026, 3, 1),
    )
    assert by_kind(officer.organization, "partners.attestation_expiry") == []


def test_flow_map_review_is_due_yearly(officer):
    [never] = by_kind(officer.organization, "partners.flow_map_review")
    assert (never.due_on, never.title) == (
        TODAY,
        "Review and sign off the PHI flow map (never reviewed)",
    )
    services.flow_map_review_record(actor=officer, reviewed_on=D(2024, 2, 29))
    [due] = by_kind(officer.organization, "partners.flow_map_review")
    assert due.due_on == D(2025, 2, 28)
    assert due.urgency(TODAY) is Urgency.OVERDUE


def test_a_flagged_flow_is_work_due_today_until_its_gap_closes(officer):
    vendor = make_vendor(officer, "Synthetic Printer")
    map_flow(officer, stage="statements", name="Statements", destination_vendor=vendor)
    [gap] = by_kind(officer.organization, "partners.flow_gap")
    assert gap.title == (
        "Close the gaps on the flow 'Statements': Channel not on the approved list; "
        "No current BAA; Vendor due diligence not done; Vendor not approved for PHI"
    )
    assert (gap.due_on, gap.urgency(TODAY)) == (TODAY, Urgency.DUE_SOON)
