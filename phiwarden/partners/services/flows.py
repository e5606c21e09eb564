"""Writes for the PHI flow map: flows, approved channels, import observations and the
yearly review with sign-off (checklist P1, A3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.audit.codes import EventCode
from phiwarden.partners.checks import flows_checked
from phiwarden.partners.models import (
    ApprovedChannel,
    Baa,
    Channel,
    Flow,
    FlowMapReview,
    Stage,
    Vendor,
)
from phiwarden.partners.services.events import changed_fields, manager_require, record
from phiwarden.partners.services.parties import clean_phi_classes

# Where an import's files land: the internal end of an observed flow.
BILLING_SYSTEM = "PHI Warden billing"


@dataclass
class FlowData:
    stage: str
    name: str
    channel: str
    source_system: str = ""
    source_client: Client | None = None
    source_vendor: Vendor | None = None
    destination_system: str = ""
    destination_client: Client | None = None
    destination_vendor: Vendor | None = None
    phi_classes: list[str] = field(default_factory=list)
    encrypted_in_transit: bool = True
    encrypted_at_rest: bool = True
    volume: str = ""
    baa: Baa | None = None


def _flow_values(organization: Organization, data: FlowData) -> dict[str, object]:
    errors: dict[str, str] = {}
    if data.stage not in Stage.values:
        errors["stage"] = "Unknown stage."
    if data.channel not in Channel.values:
        errors["channel"] = "Unknown channel."
    if not data.name.strip():
        errors["name"] = "Name the flow."
    for end in ("source", "destination"):
        system = getattr(data, f"{end}_system").strip()
        parties = [getattr(data, f"{end}_client"), getattr(data, f"{end}_vendor")]
        named = [p for p in parties if p is not None]
        if len(named) + bool(system) != 1:
            errors[f"{end}_system"] = f"Give the {end} as one internal system, client or vendor."
        if any(p.organization_id != organization.pk for p in named):
            errors[f"{end}_system"] = f"The {end} belongs to another organization."
    if data.baa is not None and data.baa.organization_id != organization.pk:
        errors["baa"] = "The BAA belongs to another organization."
    if errors:
        raise ValidationError(errors)
    return {
        "stage": data.stage,
        "name": data.name.strip(),
        "channel": data.channel,
        "source_system": data.source_system.strip(),
        "source_client": data.source_client,
        "source_vendor": data.source_vendor,
        "destination_system": data.destination_system.strip(),
        "destination_client": data.destination_client,
        "destination_vendor": data.destination_vendor,
        "phi_classes": clean_phi_classes(data.phi_classes),
        "encrypted_in_transit": data.encrypted_in_transit,
        "encrypted_at_rest": data.encrypted_at_rest,
        "volume": data.volume.strip(),
        "baa": data.baa,
    }


def flow_create(*, actor: Membership, data: FlowData) -> Flow:
    manager_require(actor)
    values = _flow_values(actor.organization, data)
    with transaction.atomic():
        flow = Flow.objects.create(
            organization=actor.organization,
            status=Flow.Status.CONFIRMED,
            confirmed_at=timezone.now(),
            **values,
        )
        record(actor, actor.organization, EventCode.FLOW_CREATED, flow, {"stage": flow.stage})
    return flow


def flow_update(*, actor: Membership, flow: Flow, data: FlowData) -> Flow:
    manager_require(actor)
    changed = changed_fields(flow, _flow_values(actor.organization, data))
    if not changed:
        return flow
    with transaction.atomic():
        flow.save(update_fields=[*changed, "updated_at"])
        record(actor, actor.organization, EventCode.FLOW_UPDATED, flow, {"fields": sorted(changed)})
    return flow


def flow_confirm(*, actor: Membership, flow: Flow) -> Flow:
    """A person confirms a flow that an import observed (it then counts on the map as real)."""
    manager_require(actor)
    if flow.status != Flow.Status.SUGGESTED:
        raise ValidationError("Only a suggested flow can be confirmed.")
    with transaction.atomic():
        flow.status = Flow.Status.CONFIRMED
        flow.confirmed_at = timezone.now()
        flow.save(update_fields=["status", "confirmed_at", "updated_at"])
        record(actor, actor.organization, EventCode.FLOW_CONFIRMED, flow)
    return flow


def flow_retire(*, actor: Membership, flow: Flow) -> Flow:
    manager_require(actor)
    if flow.status == Flow.Status.RETIRED:
        raise ValidationError("This flow is already retired.")
    with transaction.atomic():
        flow.status = Flow.Status.RETIRED
        flow.save(update_fields=["status", "updated_at"])
        record(actor, actor.organization, EventCode.FLOW_RETIRED, flow)
    return flow


def flow_observed(
    organization: Organization,
    client: Client,
    channel: str,
    stage: str,
    *,
    destination_system: str = BILLING_SYSTEM,
    phi_classes: list[str] | None = None,
    observed_on: dt.date | None = None,
) -> Flow:
    """Called by the billing import when files arrive from a client through a channel.

    Creates a *suggested* flow the first time (a person confirms it on the map) and, after
    that, only counts the observation: calling it again for the same client, channel, stage
    and destination changes no flow but its counter and date. Retired flows are not revived;
    a new suggestion is made instead.
    """
    if client.organization_id != organization.pk:
        raise ValidationError("The client belongs to another organization.")
    if channel not in Channel.values or stage not in Stage.values:
        raise ValidationError("Unknown channel or stage.")
    day = observed_on or timezone.localdate()
    classes = clean_phi_classes(phi_classes or [])
    with transaction.atomic():
        existing = (
            Flow.objects.for_organization(organization)
            .active()
            .select_for_update()
            .filter(
                source_client=client,
                channel=channel,
                stage=stage,
                destination_system=destination_system,
                destination_client__isnull=True,
                destination_vendor__isnull=True,
            )
            .order_by("pk")
            .first()
        )
        if existing is None:
            flow = Flow.objects.create(
                organization=organization,
                stage=stage,
                name=f"Files from {client.name}",
                source_client=client,
                destination_system=destination_system,
                channel=channel,
                phi_classes=classes,
                status=Flow.Status.SUGGESTED,
                observed_count=1,
                last_observed_on=day,
            )
            record(None, organization, EventCode.FLOW_OBSERVED, flow, {"new": True})
            return flow
        existing.observed_count += 1
        existing.last_observed_on = max(day, existing.last_observed_on or day)
        existing.phi_classes = sorted(set(existing.phi_classes) | set(classes))
        existing.save(
            update_fields=["observed_count", "last_observed_on", "phi_classes", "updated_at"]
        )
        return existing


def channels_set(*, actor: Membership, channels: list[str]) -> list[str]:
    """Replace the organization's approved-channel list (checklist A3; 164.312(e)(1))."""
    manager_require(actor)
    wanted = sorted(set(channels))
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ValidationError({"channels": f"Unknown channels: {', '.join(unknown)}."})
    current = ApprovedChannel.objects.for_organization(actor.organization)
    before = sorted(current.values_list("channel", flat=True))
    if before == wanted:
        return wanted
    with transaction.atomic():
        current.exclude(channel__in=wanted).delete()
        ApprovedChannel.objects.bulk_create(
            [
                ApprovedChannel(organization=actor.organization, channel=c)
                for c in wanted
                if c not in before
            ]
        )
        record(
            actor,
            actor.organization,
            EventCode.CHANNELS_CHANGED,
            None,
            {
                "added": [c for c in wanted if c not in before],
                "removed": [c for c in before if c not in wanted],
            },
        )
    return wanted


def flow_map_review_record(
    *, actor: Membership, reviewed_on: dt.date, notes: str = ""
) -> FlowMapReview:
    """The reviewer signs off the whole map as it stands; the counts are frozen with it."""
    manager_require(actor)
    checked = flows_checked(actor.organization, reviewed_on)
    with transaction.atomic():
        review = FlowMapReview.objects.create(
            organization=actor.organization,
            reviewed_on=reviewed_on,
            reviewer=actor.user,
            notes=notes.strip(),
            flow_count=len(checked),
            flagged_count=sum(1 for c in checked if c.flags),
        )
        record(
            actor,
            actor.organization,
            EventCode.FLOW_MAP_REVIEWED,
            review,
            {"flows": review.flow_count, "flagged": review.flagged_count},
        )
    return review
