"""Reporting an incident (anyone, in two minutes) and correcting its facts (officers).

The privacy and security officers are told at once, by e-mail after the report commits,
and the time they were told is kept (checklist B2). The discovery date is the law's: the
first day the incident was known, or would have been known with reasonable diligence, to
anyone in the workforce but the wrongdoer (45 CFR 164.404(a)(2), 164.410(a)(2)).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from phiwarden.accounts.models import Client, Membership
from phiwarden.accounts.roles import Capability, Role
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import audit_event_record
from phiwarden.incidents.deadlines import DelayKind
from phiwarden.incidents.models import ContainmentStep, Incident
from phiwarden.incidents.services.containment import checklist_for
from phiwarden.partners.models import Baa, Vendor
from phiwarden.vault.registry import table_name
from phiwarden.vault.services import cipher_for

OFFICER_ROLES = (Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER)
DESCRIPTION_MAX = 5000


@dataclass(frozen=True)
class ReportData:
    kind: str
    title: str
    description: str
    discovered_on: dt.date
    discovery_basis: str = Incident.DiscoveryBasis.KNOWN
    occurred_on: dt.date | None = None
    systems: str = ""
    data_involved: str = ""
    vendor_id: int | None = None
    client_ids: list[int] = field(default_factory=list)


def _encrypt_description(incident: Incident, text: str) -> bytes:
    return cipher_for(incident.organization).encrypt_text(
        text, table=table_name(Incident), column="description_ct", row_key=incident.row_key
    )


def _validate_report(actor: Membership, data: ReportData) -> None:
    errors: dict[str, str] = {}
    if data.kind not in Incident.Kind.values:
        errors["kind"] = "Choose what kind of incident this is."
    if not data.title.strip():
        errors["title"] = "Give the incident a short label."
    if not data.description.strip():
        errors["description"] = "Say what happened."
    elif len(data.description) > DESCRIPTION_MAX:
        errors["description"] = f"Keep it under {DESCRIPTION_MAX} characters."
    today = timezone.localdate()
    if data.discovered_on > today:
        errors["discovered_on"] = "The discovery date cannot be in the future."
    if data.occurred_on is not None and data.occurred_on > data.discovered_on:
        errors["occurred_on"] = "It cannot have begun after it was discovered."
    if data.discovery_basis not in Incident.DiscoveryBasis.values:
        errors["discovery_basis"] = "Unknown basis."
    if data.kind == Incident.Kind.VENDOR and data.vendor_id is None:
        errors["vendor"] = "Name the vendor (its BAA sets what it owes us)."
    if errors:
        raise ValidationError(errors)


def _vendor_and_baa(actor: Membership, vendor_id: int | None) -> tuple[Vendor | None, Baa | None]:
    if vendor_id is None:
        return None, None
    vendor = Vendor.objects.for_organization(actor.organization).filter(pk=vendor_id).first()
    if vendor is None:
        raise ValidationError({"vendor": "Unknown vendor."})
    # The vendor's BAA in force, so its notice terms (164.314(a)(2)(i)(C)) are at hand.
    from phiwarden.partners.checks import baa_check

    baas = list(Baa.objects.for_organization(actor.organization).filter(vendor=vendor))
    return vendor, baa_check(baas, timezone.localdate()).baa


def _clients(actor: Membership, client_ids: list[int]) -> list[Client]:
    clients = list(Client.objects.for_organization(actor.organization).filter(pk__in=client_ids))
    if len(clients) != len(set(client_ids)):
        raise ValidationError({"clients": "Unknown client."})
    return clients


def incident_report(*, actor: Membership, data: ReportData) -> Incident:
    """Record a new incident with its containment checklist, and tell the officers."""
    capability_require(actor, Capability.INCIDENTS_REPORT)
    _validate_report(actor, data)
    vendor, baa = _vendor_and_baa(actor, data.vendor_id)
    clients = _clients(actor, data.client_ids)
    organization = actor.organization
    with transaction.atomic():
        # Numbers are per organization; the unique constraint stops a race from doubling one.
        last = (
            Incident.objects.select_for_update()
            .for_organization(organization)
            .aggregate(Max("number"))["number__max"]
        )
        incident = Incident(
            organization=organization,
            number=(last or 0) + 1,
            kind=data.kind,
            title=data.title.strip(),
            systems=data.systems.strip(),
            data_involved=data.data_involved.strip(),
            occurred_on=data.occurred_on,
            discovered_on=data.discovered_on,
            discovery_basis=data.discovery_basis,
            reported_by=actor.user,
            vendor=vendor,
            vendor_baa=baa,
            location=_location_for(data.kind),
        )
        incident.description_ct = _encrypt_description(incident, data.description.strip())
        incident.save()
        incident.clients.set(clients)
        ContainmentStep.objects.bulk_create(
            ContainmentStep(
                organization=organization,
                incident=incident,
                key=step.key,
                title=step.title,
                action=step.action,
                position=position,
            )
            for position, step in enumerate(checklist_for(incident.kind))
        )
        audit_event_record(
            actor=actor.user,
            organization=organization,
            event_code=EventCode.INCIDENT_REPORTED,
            target=incident,
            data={"kind": incident.kind, "vendor": vendor.pk if vendor else None},
        )
        transaction.on_commit(lambda: _notify_officers(incident.pk))
    return incident


def _location_for(kind: str) -> str:
    return {
        Incident.Kind.MISDIRECTED: Incident.Location.PAPER,
        Incident.Kind.LOST_DEVICE: Incident.Location.LAPTOP,
        Incident.Kind.PHISHING: Incident.Location.EMAIL,
        Incident.Kind.RANSOMWARE: Incident.Location.NETWORK_SERVER,
        Incident.Kind.IMPROPER_DISPOSAL: Incident.Location.PAPER,
    }.get(Incident.Kind(kind), Incident.Location.OTHER)


def _notify_officers(incident_id: int) -> None:
    """E-mail every active privacy and security officer (the owner too if there is none),
    then record when they were told. The mail names the incident and its kind only."""
    incident = Incident.objects.select_related("organization").get(pk=incident_id)
    members = Membership.objects.filter(organization=incident.organization).active()
    officers = list(members.filter(role__in=OFFICER_ROLES).select_related("user"))
    if not officers:
        officers = list(members.filter(role=Role.OWNER).select_related("user"))
    path = reverse(
        "incidents:detail",
        kwargs={"org_slug": incident.organization.slug, "incident_id": incident.pk},
    )
    send_mail(
        subject=f"[PHI Warden] Incident {incident.reference} reported",
        message=(
            f"A {incident.get_kind_display().lower()} incident was reported in "
            f"{incident.organization.name}: {incident.reference}.\n"
            f"Discovered on {incident.discovered_on:%Y-%m-%d}. Open it to contain and assess "
            f"it: {getattr(settings, 'SITE_URL', '')}{path}\n"
        ),
        from_email=None,
        recipient_list=[m.user.email for m in officers],
    )
    with transaction.atomic():
        Incident.objects.filter(pk=incident.pk, officers_notified_at__isnull=True).update(
            officers_notified_at=timezone.now()
        )
        audit_event_record(
            actor=None,
            organization=incident.organization,
            event_code=EventCode.INCIDENT_OFFICERS_NOTIFIED,
            target=incident,
            data={"officers": len(officers)},
        )


def incident_description(*, actor: Membership, incident: Incident) -> str:
    """The reporter's narrative, for officers and the reporter themself; the read is audited."""
    if incident.organization_id != actor.organization_id:
        raise PermissionDenied
    if incident.reported_by_id != actor.user_id:
        capability_require(actor, Capability.INCIDENTS_MANAGE)
    with transaction.atomic():
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_VIEWED,
            target=incident,
        )
    return cipher_for(incident.organization).decrypt_text(
        bytes(incident.description_ct),
        table=table_name(Incident),
        column="description_ct",
        row_key=incident.row_key,
    )


@dataclass(frozen=True)
class IncidentFacts:
    """What an officer may correct as the investigation learns more."""

    kind: str
    title: str
    discovered_on: dt.date
    discovery_basis: str
    occurred_on: dt.date | None = None
    ended_on: dt.date | None = None
    location: str = Incident.Location.OTHER
    systems: str = ""
    data_involved: str = ""
    client_ids: list[int] = field(default_factory=list)
    delay_kind: str = ""
    delay_stated_on: dt.date | None = None
    delay_until: dt.date | None = None
    delay_written_received_on: dt.date | None = None
    delay_agency: str = ""
    safeguards_before: str = ""


def _validate_facts(facts: IncidentFacts) -> None:
    errors: dict[str, str] = {}
    if facts.kind not in Incident.Kind.values:
        errors["kind"] = "Unknown kind."
    if not facts.title.strip():
        errors["title"] = "Give the incident a short label."
    if facts.discovered_on > timezone.localdate():
        errors["discovered_on"] = "The discovery date cannot be in the future."
    if facts.discovery_basis not in Incident.DiscoveryBasis.values:
        errors["discovery_basis"] = "Unknown basis."
    if facts.location and facts.location not in Incident.Location.values:
        errors["location"] = "Unknown location."
    if facts.occurred_on and facts.occurred_on > facts.discovered_on:
        errors["occurred_on"] = "It cannot have begun after it was discovered."
    if facts.occurred_on and facts.ended_on and facts.ended_on < facts.occurred_on:
        errors["ended_on"] = "It cannot end before it began."
    if facts.delay_kind:
        if facts.delay_kind not in DelayKind.__members__.values():
            errors["delay_kind"] = "A statement is written or oral."
        elif facts.delay_stated_on is None:
            errors["delay_stated_on"] = "Give the day law enforcement made the statement."
        elif facts.delay_kind == DelayKind.WRITTEN and facts.delay_until is None:
            errors["delay_until"] = "A written statement specifies how long notice must wait."
        elif facts.delay_until and facts.delay_until < facts.delay_stated_on:
            errors["delay_until"] = "The delay cannot end before the statement."
    if errors:
        raise ValidationError(errors)


def incident_update(*, actor: Membership, incident: Incident, facts: IncidentFacts) -> Incident:
    """Correct the facts; the audit event names the fields that changed (not their text)."""
    capability_require(actor, Capability.INCIDENTS_MANAGE)
    if incident.organization_id != actor.organization_id:
        raise PermissionDenied
    if incident.is_closed:
        raise ValidationError("This incident is closed; its record no longer changes.")
    _validate_facts(facts)
    clients = _clients(actor, facts.client_ids)
    values = {
        "kind": facts.kind,
        "title": facts.title.strip(),
        "discovered_on": facts.discovered_on,
        "discovery_basis": facts.discovery_basis,
        "occurred_on": facts.occurred_on,
        "ended_on": facts.ended_on,
        "location": facts.location,
        "systems": facts.systems.strip(),
        "data_involved": facts.data_involved.strip(),
        "delay_kind": facts.delay_kind,
        "delay_stated_on": facts.delay_stated_on if facts.delay_kind else None,
        "delay_until": facts.delay_until if facts.delay_kind else None,
        "delay_written_received_on": (
            facts.delay_written_received_on if facts.delay_kind else None
        ),
        "delay_agency": facts.delay_agency.strip() if facts.delay_kind else "",
        "safeguards_before": facts.safeguards_before.strip(),
    }
    changed = [name for name, value in values.items() if getattr(incident, name) != value]
    old_dates = {"discovered_on": incident.discovered_on.isoformat()}
    for name in changed:
        setattr(incident, name, values[name])
    old_clients = set(incident.clients.values_list("pk", flat=True))
    clients_changed = old_clients != {c.pk for c in clients}
    if not changed and not clients_changed:
        return incident
    with transaction.atomic():
        if changed:
            incident.save(update_fields=[*changed, "updated_at"])
        if clients_changed:
            incident.clients.set(clients)
        data: dict[str, object] = {"fields": changed + (["clients"] if clients_changed else [])}
        if "discovered_on" in changed:
            data["old_discovered_on"] = old_dates["discovered_on"]
            data["discovered_on"] = incident.discovered_on.isoformat()
        audit_event_record(
            actor=actor.user,
            organization=actor.organization,
            event_code=EventCode.INCIDENT_UPDATED,
            target=incident,
            data=data,  # type: ignore[arg-type]
        )
    return incident
