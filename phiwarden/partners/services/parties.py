"""Writes for client profiles, vendors, due diligence and attestations."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.audit.codes import EventCode
from phiwarden.partners import diligence
from phiwarden.partners.checks import diligence_current
from phiwarden.partners.models import Attestation, ClientProfile, DiligenceReview, PhiClass, Vendor
from phiwarden.partners.services.events import changed_fields, manager_require, record

# The states, DC and the territories, by USPS code (for the states a client serves).
# fmt: off
US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
))
# fmt: on


def clean_states(states: list[str]) -> list[str]:
    codes = sorted({s.strip().upper() for s in states if s.strip()})
    unknown = [c for c in codes if c not in US_STATES]
    if unknown:
        raise ValidationError({"states_served": f"Unknown state codes: {', '.join(unknown)}."})
    return codes


def clean_phi_classes(values: list[str]) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v.strip()})
    unknown = [v for v in cleaned if v not in PhiClass.values]
    if unknown:
        raise ValidationError({"phi_classes": f"Unknown PHI classes: {', '.join(unknown)}."})
    return cleaned


# --- Client profiles ------------------------------------------------------------------


@dataclass
class ClientProfileData:
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    privacy_officer_name: str = ""
    privacy_officer_email: str = ""
    privacy_officer_phone: str = ""
    states_served: list[str] = field(default_factory=list)


def client_profile_get_or_new(client: Client) -> ClientProfile:
    profile = ClientProfile.objects.filter(client=client).first()
    return profile or ClientProfile(organization_id=client.organization_id, client=client)


def client_profile_update(
    *, actor: Membership, client: Client, data: ClientProfileData
) -> ClientProfile:
    manager_require(actor)
    if client.organization_id != actor.organization_id:
        raise ValidationError("The client belongs to another organization.")
    values = asdict(data)
    values["states_served"] = clean_states(data.states_served)
    with transaction.atomic():
        profile = client_profile_get_or_new(client)
        changed = changed_fields(profile, values)
        if profile.pk is not None and not changed:
            return profile
        profile.full_clean()
        profile.save()
        record(
            actor,
            actor.organization,
            EventCode.CLIENT_PROFILE_UPDATED,
            client,
            {"fields": sorted(changed)},
        )
    return profile


# --- Vendors ----------------------------------------------------------------------------


@dataclass
class VendorData:
    name: str
    kind: str = Vendor.Kind.OTHER
    services: str = ""
    phi_classes: list[str] = field(default_factory=list)
    handles_phi: bool = True
    risk_tier: str = Vendor.RiskTier.HIGH
    contact_name: str = ""
    contact_email: str = ""

    def cleaned(self) -> dict[str, object]:
        values = asdict(self)
        values["name"] = self.name.strip()
        values["phi_classes"] = clean_phi_classes(self.phi_classes)
        return values


def _vendor_validate(vendor: Vendor) -> None:
    try:
        vendor.full_clean(validate_constraints=False)
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    clash = Vendor.objects.for_organization(vendor.organization_id).filter(name__iexact=vendor.name)
    if clash.exclude(pk=vendor.pk).exists():
        raise ValidationError({"name": "A vendor with this name already exists."})


def vendor_create(*, actor: Membership, data: VendorData) -> Vendor:
    manager_require(actor)
    vendor = Vendor(organization=actor.organization, **data.cleaned())
    _vendor_validate(vendor)
    with transaction.atomic():
        vendor.save()
        record(actor, actor.organization, EventCode.VENDOR_CREATED, vendor)
    return vendor


def vendor_update(*, actor: Membership, vendor: Vendor, data: VendorData) -> Vendor:
    manager_require(actor)
    changed = changed_fields(vendor, data.cleaned())
    if not changed:
        return vendor
    _vendor_validate(vendor)
    with transaction.atomic():
        vendor.save(update_fields=[*changed, "updated_at"])
        record(actor, actor.organization, EventCode.VENDOR_UPDATED, vendor, {"fields": changed})
    return vendor


def vendor_set_status(*, actor: Membership, vendor: Vendor, status: str) -> Vendor:
    """Change a vendor's standing. Approval for PHI needs current, favourable due diligence
    first: satisfactory assurances before PHI is shared (45 CFR 164.308(b)(1), 164.314(a))."""
    manager_require(actor)
    if status not in Vendor.Status.values:
        raise ValidationError({"status": "Unknown status."})
    if status == vendor.status:
        return vendor
    if status == Vendor.Status.APPROVED:
        reviews = list(vendor.reviews.all())
        if diligence_current(reviews, timezone.localdate()) is None:
            raise ValidationError(
                "Record a favourable due-diligence review before approving this vendor "
                "for PHI (45 CFR 164.308(b)(1))."
            )
    old = vendor.status
    with transaction.atomic():
        vendor.status = status
        vendor.approved_at = timezone.now() if status == Vendor.Status.APPROVED else None
        vendor.save(update_fields=["status", "approved_at", "updated_at"])
        record(
            actor,
            actor.organization,
            EventCode.VENDOR_STATUS_CHANGED,
            vendor,
            {"old_status": old, "status": status},
        )
    return vendor


# --- Due diligence and attestations -----------------------------------------------------


def diligence_record(
    *,
    actor: Membership,
    vendor: Vendor,
    answers: dict[str, str],
    decision: str,
    decided_on: dt.date,
    notes: str = "",
) -> DiligenceReview:
    """Record a review. A favourable decision is refused while a required safeguard is
    missing, and one below the passing score must be "with conditions"."""
    manager_require(actor)
    try:
        clean = diligence.validate_answers(answers)
    except ValueError as error:
        raise ValidationError({"answers": str(error)}) from None
    if decision not in DiligenceReview.Decision.values:
        raise ValidationError({"decision": "Unknown decision."})
    points = diligence.score(clean)
    favourable = decision != DiligenceReview.Decision.REJECTED
    missing = diligence.missing_required(clean)
    if favourable and missing:
        names = ", ".join(q.text.lower() for q in missing)
        raise ValidationError({"decision": f"Cannot approve without: {names}."})
    if decision == DiligenceReview.Decision.APPROVED and points < diligence.PASSING_SCORE:
        raise ValidationError(
            {
                "decision": f"Score {points} is below {diligence.PASSING_SCORE}: approve with "
                "conditions, or reject."
            }
        )
    with transaction.atomic():
        review = DiligenceReview.objects.create(
            organization=actor.organization,
            vendor=vendor,
            answers=clean,
            score=points,
            decision=decision,
            decided_on=decided_on,
            next_review_on=DiligenceReview.next_review_for(vendor, decided_on),
            reviewer=actor.user,
            notes=notes,
        )
        record(
            actor,
            actor.organization,
            EventCode.DILIGENCE_RECORDED,
            review,
            {"vendor_id": vendor.pk, "score": points, "decision": decision},
        )
    return review


def attestation_record(
    *,
    actor: Membership,
    vendor: Vendor,
    kind: str,
    title: str,
    issued_on: dt.date,
    expires_on: dt.date,
    document: UploadedFile | None = None,
) -> Attestation:
    """Record a SOC 2 report, HITRUST certificate or the like, its PDF stored encrypted."""
    from phiwarden.partners.services.documents import document_store

    manager_require(actor)
    if kind not in Attestation.Kind.values:
        raise ValidationError({"kind": "Unknown attestation kind."})
    if expires_on < issued_on:
        raise ValidationError({"expires_on": "An attestation cannot expire before it is issued."})
    with transaction.atomic():
        attestation = Attestation.objects.create(
            organization=actor.organization,
            vendor=vendor,
            kind=kind,
            title=title.strip(),
            issued_on=issued_on,
            expires_on=expires_on,
            recorded_by=actor.user,
            document=(
                document_store(actor=actor, upload=document, purpose="attestation")
                if document is not None
                else None
            ),
        )
        record(
            actor,
            actor.organization,
            EventCode.ATTESTATION_RECORDED,
            attestation,
            {"vendor_id": vendor.pk, "kind": kind},
        )
    return attestation
