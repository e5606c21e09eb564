"""Questions about a party or a flow that the register, the map, the checklist and the
obligations all ask: does this party have a current BAA, is this vendor's diligence done,
what is wrong with this flow. Pure reads of one organization, computed for a given day.

45 CFR 164.502(e)(1) and 164.504(e): PHI reaches a business associate (or a subcontractor)
only under a written BAA; 164.308(b)(1) and 164.314(a): satisfactory assurances first,
which is why a vendor's due diligence must be done before PHI flows to it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from phiwarden.accounts.models import Client, Organization
from phiwarden.partners.models import ApprovedChannel, Baa, DiligenceReview, Flow, Vendor


class BaaState(StrEnum):
    CURRENT = "current"
    EXPIRING = "expiring"
    NOT_YET_EFFECTIVE = "not_yet_effective"
    UNSIGNED = "unsigned"
    EXPIRED = "expired"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return {
            BaaState.CURRENT: "Current",
            BaaState.EXPIRING: "Expiring",
            BaaState.NOT_YET_EFFECTIVE: "Signed, not yet in effect",
            BaaState.UNSIGNED: "Not signed",
            BaaState.EXPIRED: "Expired or terminated",
            BaaState.MISSING: "Missing",
        }[self]

    @property
    def in_force(self) -> bool:
        return self in (BaaState.CURRENT, BaaState.EXPIRING)

    @property
    def status_class(self) -> str:
        """The CSS status colour shared with the checklist."""
        if self is BaaState.CURRENT:
            return "met"
        return "partial" if self is BaaState.EXPIRING else "not_met"


@dataclass(frozen=True)
class BaaCheck:
    """The answer for one party: its state and the BAA it rests on (if any)."""

    state: BaaState
    baa: Baa | None = None
    expires_on: dt.date | None = None
    warning_days: int | None = None

    @property
    def summary(self) -> str:
        if self.state is BaaState.EXPIRING and self.expires_on is not None:
            return f"Expires on {self.expires_on:%Y-%m-%d} (within {self.warning_days} days)"
        if self.state is BaaState.CURRENT and self.expires_on is not None:
            return f"Current until {self.expires_on:%Y-%m-%d}"
        return self.state.label


def baa_check(baas: list[Baa], today: dt.date) -> BaaCheck:
    """The best standing among a party's BAAs: current beats pending beats unsigned."""
    current = [b for b in baas if b.is_current(today)]
    if current:
        # The one that lasts longest (no fixed end lasts forever).
        best = max(current, key=lambda b: b.current_expiry(today) or dt.date.max)
        warning = best.warning_days(today)
        return BaaCheck(
            state=BaaState.EXPIRING if warning is not None else BaaState.CURRENT,
            baa=best,
            expires_on=best.current_expiry(today),
            warning_days=warning,
        )
    signed = [b for b in baas if b.status == Baa.Status.SIGNED]
    pending = [b for b in signed if (b.effective_on or b.signed_on or today) > today]
    if pending:
        return BaaCheck(BaaState.NOT_YET_EFFECTIVE, pending[0])
    drafts = [b for b in baas if b.status == Baa.Status.DRAFT]
    if drafts:
        return BaaCheck(BaaState.UNSIGNED, drafts[-1])
    if baas:
        return BaaCheck(BaaState.EXPIRED, baas[-1], expires_on=baas[-1].current_expiry(today))
    return BaaCheck(BaaState.MISSING)


def baa_check_for_client(client: Client, today: dt.date) -> BaaCheck:
    baas = Baa.objects.filter(
        organization_id=client.organization_id, direction=Baa.Direction.CLIENT, client=client
    ).select_related("client")
    return baa_check(list(baas), today)


def baa_check_for_vendor(vendor: Vendor, today: dt.date) -> BaaCheck:
    baas = Baa.objects.filter(
        organization_id=vendor.organization_id, direction=Baa.Direction.VENDOR, vendor=vendor
    ).select_related("vendor")
    return baa_check(list(baas), today)


def diligence_current(reviews: list[DiligenceReview], today: dt.date) -> DiligenceReview | None:
    """The latest review, if it approved the vendor and its re-review date has not passed."""
    if not reviews:
        return None
    latest = max(reviews, key=lambda r: (r.decided_on, r.pk))
    if latest.is_favourable and latest.next_review_on >= today:
        return latest
    return None


class FlagKind(StrEnum):
    UNAPPROVED_CHANNEL = "unapproved_channel"
    NO_CURRENT_BAA = "no_current_baa"
    DILIGENCE_NOT_DONE = "diligence_not_done"
    VENDOR_NOT_APPROVED = "vendor_not_approved"

    @property
    def label(self) -> str:
        return {
            FlagKind.UNAPPROVED_CHANNEL: "Channel not on the approved list",
            FlagKind.NO_CURRENT_BAA: "No current BAA",
            FlagKind.DILIGENCE_NOT_DONE: "Vendor due diligence not done",
            FlagKind.VENDOR_NOT_APPROVED: "Vendor not approved for PHI",
        }[self]

    @property
    def citation(self) -> str:
        return {
            FlagKind.UNAPPROVED_CHANNEL: "45 CFR 164.312(e)(1)",
            FlagKind.NO_CURRENT_BAA: "45 CFR 164.502(e), 164.504(e)",
            FlagKind.DILIGENCE_NOT_DONE: "45 CFR 164.308(b)(1), 164.314(a)",
            FlagKind.VENDOR_NOT_APPROVED: "45 CFR 164.308(b)(1)",
        }[self]


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    detail: str
    party: str = ""  # the node the gap belongs to ("client:3", "vendor:5"), if any


@dataclass
class PartnerIndex:
    """One organization's channels, BAAs and diligence, loaded once for checking many flows."""

    organization: Organization
    today: dt.date
    approved_channels: frozenset[str]
    client_baas: dict[int, list[Baa]] = field(default_factory=dict)
    vendor_baas: dict[int, list[Baa]] = field(default_factory=dict)
    reviews: dict[int, list[DiligenceReview]] = field(default_factory=dict)

    @classmethod
    def load(cls, organization: Organization, today: dt.date) -> PartnerIndex:
        channels = ApprovedChannel.objects.for_organization(organization)
        client_baas: dict[int, list[Baa]] = defaultdict(list)
        vendor_baas: dict[int, list[Baa]] = defaultdict(list)
        baas = Baa.objects.for_organization(organization).select_related("client", "vendor")
        for baa in baas.order_by("pk"):
            if baa.direction == Baa.Direction.CLIENT and baa.client_id is not None:
                client_baas[baa.client_id].append(baa)
            elif baa.direction == Baa.Direction.VENDOR and baa.vendor_id is not None:
                vendor_baas[baa.vendor_id].append(baa)
        reviews: dict[int, list[DiligenceReview]] = defaultdict(list)
        for review in DiligenceReview.objects.for_organization(organization):
            reviews[review.vendor_id].append(review)
        return cls(
            organization=organization,
            today=today,
            approved_channels=frozenset(channels.values_list("channel", flat=True)),
            client_baas=dict(client_baas),
            vendor_baas=dict(vendor_baas),
            reviews=dict(reviews),
        )

    def client_check(self, client: Client) -> BaaCheck:
        return baa_check(self.client_baas.get(client.pk, []), self.today)

    def vendor_check(self, vendor: Vendor) -> BaaCheck:
        return baa_check(self.vendor_baas.get(vendor.pk, []), self.today)

    def vendor_diligence(self, vendor: Vendor) -> DiligenceReview | None:
        return diligence_current(self.reviews.get(vendor.pk, []), self.today)

    def flow_flags(self, flow: Flow) -> list[Flag]:
        """Everything wrong with one flow, in a stable order."""
        flags: list[Flag] = []
        if flow.channel not in self.approved_channels:
            flags.append(
                Flag(FlagKind.UNAPPROVED_CHANNEL, f"{flow.get_channel_display()} is not approved")
            )
        for client in (flow.source_client, flow.destination_client):
            if client is not None and not self.client_check(client).state.in_force:
                flags.append(
                    Flag(
                        FlagKind.NO_CURRENT_BAA,
                        f"{client.name}: no current BAA",
                        f"client:{client.pk}",
                    )
                )
        for vendor in (flow.source_vendor, flow.destination_vendor):
            if vendor is None:
                continue
            key = f"vendor:{vendor.pk}"
            if not self.vendor_check(vendor).state.in_force:
                flags.append(Flag(FlagKind.NO_CURRENT_BAA, f"{vendor.name}: no current BAA", key))
            if self.vendor_diligence(vendor) is None:
                flags.append(
                    Flag(FlagKind.DILIGENCE_NOT_DONE, f"{vendor.name}: due diligence not done", key)
                )
            if vendor.status != Vendor.Status.APPROVED:
                status = vendor.get_status_display().lower()
                flags.append(Flag(FlagKind.VENDOR_NOT_APPROVED, f"{vendor.name}: {status}", key))
        if flow.baa is not None and not flow.baa.is_current(self.today):
            flags.append(Flag(FlagKind.NO_CURRENT_BAA, "the BAA named on the flow is not current"))
        return flags


@dataclass(frozen=True)
class CheckedFlow:
    flow: Flow
    flags: list[Flag]


def flows_checked(organization: Organization, today: dt.date) -> list[CheckedFlow]:
    """Every active flow of the organization with its flags."""
    index = PartnerIndex.load(organization, today)
    flows = Flow.objects.for_organization(organization).active().with_parties()
    return [CheckedFlow(flow, index.flow_flags(flow)) for flow in flows]
