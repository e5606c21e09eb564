"""Evidence for the partner items: P1 (flow map), P2 (BAAs), K5 (vendor diligence before
PHI, attestations) and A3 (approved channels).

45 CFR 164.502(e), 164.504(e), 164.308(b), 164.314(a) (BAAs and satisfactory assurances);
164.308(a)(1)(ii)(A) (knowing where ePHI is); 164.312(e)(1) (transmission security).
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Client, Organization
from phiwarden.compliance.registry import Evidence, EvidenceLink, Status, evidence_for
from phiwarden.core.clock import add_years
from phiwarden.partners.checks import FlagKind, PartnerIndex, flows_checked
from phiwarden.partners.models import Attestation, Flow, FlowMapReview, Vendor
from phiwarden.partners.models.vocabulary import LIFECYCLE_STAGES

Facts = dict[str, int | float | str | bool]


def _link(organization: Organization, label: str, name: str) -> EvidenceLink:
    return EvidenceLink(label, reverse(f"partners:{name}", kwargs={"org_slug": organization.slug}))


def _status(good: int, total: int) -> Status:
    if total and good == total:
        return Status.MET
    return Status.PARTIAL if good else Status.NOT_MET


@evidence_for("P1")
def flow_map_coverage(organization: Organization, today: dt.date | None = None) -> Evidence:
    today = today or timezone.localdate()
    flows = list(Flow.objects.for_organization(organization).active())
    confirmed = [f for f in flows if f.status == Flow.Status.CONFIRMED]
    stages = {f.stage for f in confirmed}
    missing_stages = [s.label for s in LIFECYCLE_STAGES if s.value not in stages]
    incomplete = [f for f in confirmed if not f.phi_classes or not f.channel]
    last = FlowMapReview.objects.for_organization(organization).first()
    reviewed = last is not None and add_years(last.reviewed_on, 1) >= today
    facts: Facts = {
        "flows": len(confirmed),
        "suggested_flows": len(flows) - len(confirmed),
        "stages_mapped": len(LIFECYCLE_STAGES) - len(missing_stages),
        "stages": len(LIFECYCLE_STAGES),
        "flows_missing_phi_classes": len(incomplete),
        "last_review": last.reviewed_on.isoformat() if last else "",
    }
    links = (_link(organization, "PHI flow map", "flow-map"),)
    if not confirmed:
        return Evidence(Status.NOT_MET, "No PHI flow is mapped yet.", facts, links)
    parts = [
        f"{facts['stages_mapped']} of {len(LIFECYCLE_STAGES)} lifecycle stages mapped"
        + (f" (missing: {', '.join(missing_stages)})" if missing_stages else ""),
        f"{len(incomplete)} flows without PHI classes" if incomplete else "every flow complete",
        f"reviewed on {last.reviewed_on:%Y-%m-%d}"
        if reviewed and last
        else "not reviewed within 12 months",
    ]
    met = not missing_stages and not incomplete and reviewed
    return Evidence(Status.MET if met else Status.PARTIAL, "; ".join(parts) + ".", facts, links)


@evidence_for("P2")
def baa_coverage(organization: Organization, today: dt.date | None = None) -> Evidence:
    today = today or timezone.localdate()
    index = PartnerIndex.load(organization, today)
    clients = list(Client.objects.for_organization(organization).filter(is_active=True))
    vendors = list(
        Vendor.objects.for_organization(organization)
        .filter(handles_phi=True)
        .exclude(status=Vendor.Status.TERMINATED)
    )
    covered_clients = sum(1 for c in clients if index.client_check(c).state.in_force)
    covered_vendors = sum(1 for v in vendors if index.vendor_check(v).state.in_force)
    parties, covered = len(clients) + len(vendors), covered_clients + covered_vendors
    checked = flows_checked(organization, today)
    uncovered_flows = sum(
        1 for c in checked if any(f.kind is FlagKind.NO_CURRENT_BAA for f in c.flags)
    )
    facts: Facts = {
        "clients": len(clients),
        "clients_with_current_baa": covered_clients,
        "phi_vendors": len(vendors),
        "phi_vendors_with_current_baa": covered_vendors,
        "share_covered": round(covered / parties, 3) if parties else 0.0,
        "flows_to_parties_without_baa": uncovered_flows,
    }
    links = (_link(organization, "BAA register", "baa-list"),)
    if not parties:
        return Evidence(Status.NOT_MET, "No clients or PHI vendors recorded.", facts, links)
    summary = (
        f"{covered_clients} of {len(clients)} active clients and {covered_vendors} of "
        f"{len(vendors)} PHI vendors have a signed, unexpired BAA; {uncovered_flows} flows "
        "reach a party without one."
    )
    status = _status(covered, parties)
    if status is Status.MET and uncovered_flows:
        status = Status.PARTIAL
    return Evidence(status, summary, facts, links)


@evidence_for("K5")
def vendor_diligence(organization: Organization, today: dt.date | None = None) -> Evidence:
    today = today or timezone.localdate()
    index = PartnerIndex.load(organization, today)
    vendors = list(
        Vendor.objects.for_organization(organization)
        .filter(handles_phi=True)
        .exclude(status=Vendor.Status.TERMINATED)
    )
    first_flow: dict[int, dt.date] = {}
    for flow in Flow.objects.for_organization(organization).exclude(destination_vendor=None):
        assert flow.destination_vendor_id is not None  # noqa: S101  (excluded above)
        day = flow.created_at.date()
        first_flow[flow.destination_vendor_id] = min(
            day, first_flow.get(flow.destination_vendor_id, day)
        )
    current = before_flow = 0
    for vendor in vendors:
        if index.vendor_diligence(vendor) is not None:
            current += 1
        favourable = [r.decided_on for r in index.reviews.get(vendor.pk, []) if r.is_favourable]
        started = first_flow.get(vendor.pk)
        if favourable and (started is None or min(favourable) <= started):
            before_flow += 1
    latest: dict[tuple[int, str], dt.date] = {}
    vendor_ids = [v.pk for v in vendors]
    for attestation in Attestation.objects.for_organization(organization).filter(
        vendor_id__in=vendor_ids
    ):
        key = (attestation.vendor_id, attestation.kind)
        latest[key] = max(attestation.expires_on, latest.get(key, attestation.expires_on))
    expired = sum(1 for end in latest.values() if end < today)
    facts: Facts = {
        "phi_vendors": len(vendors),
        "diligence_current": current,
        "diligence_before_first_flow": before_flow,
        "attestations": len(latest),
        "attestations_expired": expired,
    }
    links = (_link(organization, "Vendors and their due diligence", "vendor-list"),)
    if not vendors:
        return Evidence(Status.NOT_MET, "No PHI vendors recorded yet.", facts, links)
    summary = (
        f"{current} of {len(vendors)} PHI vendors have current due diligence; "
        f"{before_flow} had it before PHI first flowed to them; "
        f"{expired} of {len(latest)} attestations expired."
    )
    if current == before_flow == len(vendors) and not expired:
        status = Status.MET
    elif current or before_flow:
        status = Status.PARTIAL
    else:
        status = Status.NOT_MET
    return Evidence(status, summary, facts, links)


@evidence_for("A3")
def approved_channels(organization: Organization, today: dt.date | None = None) -> Evidence:
    today = today or timezone.localdate()
    checked = flows_checked(organization, today)
    index = PartnerIndex.load(organization, today)
    on_list = sum(
        1 for c in checked if not any(f.kind is FlagKind.UNAPPROVED_CHANNEL for f in c.flags)
    )
    facts: Facts = {
        "approved_channels": len(index.approved_channels),
        "flows": len(checked),
        "flows_on_approved_channels": on_list,
    }
    links = (_link(organization, "PHI flow map and approved channels", "flow-map"),)
    if not index.approved_channels:
        return Evidence(Status.NOT_MET, "No approved-channel list is set.", facts, links)
    if not checked:
        return Evidence(Status.NOT_MET, "No PHI flow is mapped yet.", facts, links)
    summary = (
        f"{on_list} of {len(checked)} flows use an approved channel. "
        "Disclosures are not measured yet."
    )
    status = _status(on_list, len(checked))
    if status is Status.MET:
        status = Status.PARTIAL  # full marks need the disclosures module's channels too
    return Evidence(status, summary, facts, links)
