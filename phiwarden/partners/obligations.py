"""The partners app's open obligations: BAA renewals and expiries (warned 90, 60 and 30
days ahead), vendor due-diligence re-reviews, attestation expiries, flows with a gap, and
the yearly review of the PHI flow map. Registered with core.obligations from
PartnersConfig.ready()."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Organization
from phiwarden.core.clock import add_years
from phiwarden.core.obligations import Obligation, obligation_provider
from phiwarden.partners.checks import PartnerIndex
from phiwarden.partners.models import Attestation, Baa, Flow, FlowMapReview, Vendor
from phiwarden.partners.models.baas import EXPIRY_WARNING_DAYS

# Obligations appear this many days before they fall due (the first BAA warning).
WINDOW_DAYS = max(EXPIRY_WARNING_DAYS)
BAA_CITATION = "45 CFR 164.502(e), 164.504(e), 164.314(a)"
DILIGENCE_CITATION = "45 CFR 164.308(b)(1), 164.314(a)"
FLOW_MAP_CITATION = "45 CFR 164.308(a)(1)(ii)(A); 164.316(b)(2)(iii)"


def _url(organization: Organization, name: str, **kwargs: int) -> str:
    return reverse(f"partners:{name}", kwargs={"org_slug": organization.slug, **kwargs})


def _baa_obligations(organization: Organization, index: PartnerIndex) -> Iterator[Obligation]:
    today = index.today
    horizon = today + dt.timedelta(days=WINDOW_DAYS)
    for party_baas in (*index.client_baas.values(), *index.vendor_baas.values()):
        signed = [b for b in party_baas if b.status == Baa.Status.SIGNED]
        ends = [(b, b.current_expiry(today)) for b in signed]
        if not ends or any(end is None for _, end in ends):
            continue  # nothing signed, or one BAA without a fixed end covers the party
        baa, end = max(ends, key=lambda pair: pair[1] or dt.date.max)
        if end is None or end > horizon:
            continue
        if end < today:
            title = f"BAA with {baa.party_label} expired: sign a new one or stop the PHI"
        elif baa.auto_renews:
            title = f"BAA with {baa.party_label} renews automatically: review it or give notice"
        else:
            warning = baa.warning_days(today)
            title = f"Renew the BAA with {baa.party_label} (ends within {warning} days)"
        yield Obligation(
            kind="partners.baa_renewal",
            title=title,
            due_on=end,
            url=_url(organization, "baa-detail", baa_id=baa.pk),
            citation=BAA_CITATION,
            owner="Privacy officer",
        )


def _diligence_obligations(organization: Organization, index: PartnerIndex) -> Iterator[Obligation]:
    horizon = index.today + dt.timedelta(days=WINDOW_DAYS)
    vendors = Vendor.objects.for_organization(organization).filter(status=Vendor.Status.APPROVED)
    for vendor in vendors:
        reviews = index.reviews.get(vendor.pk, [])
        if not reviews:
            continue
        latest = max(reviews, key=lambda r: (r.decided_on, r.pk))
        if latest.next_review_on <= horizon:
            yield Obligation(
                kind="partners.diligence_review",
                title=f"Re-review the due diligence of {vendor.name}",
                due_on=latest.next_review_on,
                url=_url(organization, "vendor-detail", vendor_id=vendor.pk),
                citation=DILIGENCE_CITATION,
                owner="Security officer",
            )


def _attestation_obligations(
    organization: Organization, index: PartnerIndex
) -> Iterator[Obligation]:
    horizon = index.today + dt.timedelta(days=WINDOW_DAYS)
    latest: dict[tuple[int, str], Attestation] = {}
    attestations = (
        Attestation.objects.for_organization(organization)
        .exclude(vendor__status=Vendor.Status.TERMINATED)
        .select_related("vendor")
        .order_by("expires_on", "pk")
    )
    for attestation in attestations:
        latest[(attestation.vendor_id, attestation.kind)] = attestation
    for attestation in latest.values():
        if attestation.expires_on <= horizon:
            yield Obligation(
                kind="partners.attestation_expiry",
                title=(
                    f"Obtain a new {attestation.get_kind_display()} from {attestation.vendor.name}"
                ),
                due_on=attestation.expires_on,
                url=_url(organization, "vendor-detail", vendor_id=attestation.vendor_id),
                citation=DILIGENCE_CITATION,
                owner="Security officer",
            )


def _flow_map_obligation(organization: Organization, index: PartnerIndex) -> Obligation:
    last = FlowMapReview.objects.for_organization(organization).first()
    return Obligation(
        kind="partners.flow_map_review",
        title="Review and sign off the PHI flow map" + ("" if last else " (never reviewed)"),
        due_on=add_years(last.reviewed_on, 1) if last else index.today,
        url=_url(organization, "flow-review"),
        citation=FLOW_MAP_CITATION,
        owner="Privacy officer",
    )


def _flow_gap_obligations(organization: Organization, index: PartnerIndex) -> Iterator[Obligation]:
    """A flagged flow is work to do now: it shows on the dashboard until the gap closes."""
    flows = Flow.objects.for_organization(organization).active().with_parties()
    for flow in flows:
        flags = index.flow_flags(flow)
        if flags:
            labels = sorted({f.kind.label for f in flags})
            yield Obligation(
                kind="partners.flow_gap",
                title=f"Close the gaps on the flow '{flow.name}': {'; '.join(labels)}",
                due_on=index.today,
                url=_url(organization, "flow-map"),
                citation=flags[0].kind.citation,
                owner="Privacy officer",
            )


def partner_obligations_on(organization: Organization, today: dt.date) -> list[Obligation]:
    """The partners app's open obligations as of `today`."""
    index = PartnerIndex.load(organization, today)
    return [
        *_baa_obligations(organization, index),
        *_diligence_obligations(organization, index),
        *_attestation_obligations(organization, index),
        *_flow_gap_obligations(organization, index),
        _flow_map_obligation(organization, index),
    ]


@obligation_provider("partners")
def partner_obligations(organization: Organization) -> list[Obligation]:
    return partner_obligations_on(organization, timezone.localdate())
