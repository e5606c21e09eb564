"""Writes for BAAs: record, amend, terminate (with return or destruction of PHI), and the
expiry warnings sent 90, 60 and 30 days ahead (45 CFR 164.502(e), 164.504(e), 164.314(a))."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction

from phiwarden.accounts.models import Client, Membership, Organization
from phiwarden.accounts.roles import Capability
from phiwarden.audit.codes import EventCode
from phiwarden.core.clock import DayKind
from phiwarden.partners.models import Baa, Vendor
from phiwarden.partners.services.documents import document_store
from phiwarden.partners.services.events import changed_fields, manager_require, record

# A window as written in the contract; deadlines never pass 60 calendar days (164.410(b)).
MAX_NOTICE_WINDOW_DAYS = 365


@dataclass
class BaaTerms:
    """Everything about a BAA but its parties and termination."""

    status: str = Baa.Status.DRAFT
    signed_on: dt.date | None = None
    effective_on: dt.date | None = None
    expires_on: dt.date | None = None
    auto_renews: bool = False
    renewal_months: int = 12
    notice_window_days: int = 60
    notice_window_kind: str = DayKind.CALENDAR
    notice_content: str = ""
    notice_channel: str = ""
    permitted_uses: str = ""
    subcontractor_flow_down: bool = True
    return_or_destroy: bool = True
    offshore_allowed: bool = False


def _terms_check(terms: BaaTerms) -> None:
    errors: dict[str, str] = {}
    if terms.status not in (Baa.Status.DRAFT, Baa.Status.SIGNED):
        errors["status"] = "A BAA is recorded as a draft or as signed; end it by terminating."
    if terms.status == Baa.Status.SIGNED and terms.signed_on is None:
        errors["signed_on"] = "A signed BAA needs its signing date."
    start = terms.effective_on or terms.signed_on
    if terms.expires_on is not None and start is not None and terms.expires_on < start:
        errors["expires_on"] = "The BAA cannot end before it starts."
    if terms.notice_window_kind not in DayKind.__members__.values():
        errors["notice_window_kind"] = "Choose calendar or business days."
    if not 0 <= terms.notice_window_days <= MAX_NOTICE_WINDOW_DAYS:
        errors["notice_window_days"] = f"Choose between 0 and {MAX_NOTICE_WINDOW_DAYS} days."
    if not 1 <= terms.renewal_months <= 120:
        errors["renewal_months"] = "Choose between 1 and 120 months."
    if errors:
        raise ValidationError(errors)


def baa_create(
    *,
    actor: Membership,
    terms: BaaTerms,
    client: Client | None = None,
    vendor: Vendor | None = None,
    subcontractor_name: str = "",
) -> Baa:
    """Record a BAA with a client (we are its BA), a vendor (our subcontractor), or a
    vendor's own subcontractor as the vendor declared it (164.504(e)(2)(ii)(D))."""
    manager_require(actor)
    _terms_check(terms)
    subcontractor_name = subcontractor_name.strip()
    if client is not None and vendor is None and not subcontractor_name:
        direction = Baa.Direction.CLIENT
    elif vendor is not None and client is None:
        direction = Baa.Direction.SUBCONTRACTOR if subcontractor_name else Baa.Direction.VENDOR
    else:
        raise ValidationError(
            "Name either one client, or one vendor (and optionally its subcontractor)."
        )
    for party in (client, vendor):
        if party is not None and party.organization_id != actor.organization_id:
            raise ValidationError("The party belongs to another organization.")
    with transaction.atomic():
        baa = Baa.objects.create(
            organization=actor.organization,
            direction=direction,
            client=client,
            vendor=vendor,
            subcontractor_name=subcontractor_name,
            created_by=actor.user,
            **asdict(terms),
        )
        record(
            actor,
            actor.organization,
            EventCode.BAA_CREATED,
            baa,
            {"direction": direction, "status": baa.status},
        )
    return baa


def baa_update(*, actor: Membership, baa: Baa, terms: BaaTerms) -> Baa:
    manager_require(actor)
    if baa.status == Baa.Status.TERMINATED:
        raise ValidationError("A terminated BAA cannot be changed; record a new one.")
    _terms_check(terms)
    changed = changed_fields(baa, asdict(terms))
    if not changed:
        return baa
    with transaction.atomic():
        baa.save(update_fields=[*changed, "updated_at"])
        record(actor, actor.organization, EventCode.BAA_UPDATED, baa, {"fields": sorted(changed)})
    return baa


def baa_terminate(
    *,
    actor: Membership,
    baa: Baa,
    terminated_on: dt.date,
    reason: str,
    disposition: str,
    disposition_certified_on: dt.date | None = None,
    certificate: UploadedFile | None = None,
) -> Baa:
    """End a BAA and record what became of the PHI: returned or destroyed, with the date of
    the certificate, or why that is infeasible (45 CFR 164.504(e)(2)(ii)(J))."""
    manager_require(actor)
    if baa.status == Baa.Status.TERMINATED:
        raise ValidationError("This BAA is already terminated.")
    errors: dict[str, str] = {}
    if disposition not in Baa.Disposition.values:
        errors["disposition"] = "Say what became of the PHI."
    if (
        disposition in (Baa.Disposition.RETURNED, Baa.Disposition.DESTROYED)
        and disposition_certified_on is None
    ):
        errors["disposition_certified_on"] = (
            "Give the date of the return or destruction certificate."
        )
    if not reason.strip():
        errors["reason"] = "Give the reason for termination."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if certificate is not None:
            baa.disposition_certificate = document_store(
                actor=actor, upload=certificate, purpose="baa_certificate"
            )
        baa.status = Baa.Status.TERMINATED
        baa.terminated_on = terminated_on
        baa.termination_reason = reason.strip()
        baa.disposition = disposition
        baa.disposition_certified_on = disposition_certified_on
        baa.save(
            update_fields=[
                "status",
                "terminated_on",
                "termination_reason",
                "disposition",
                "disposition_certified_on",
                "disposition_certificate",
                "updated_at",
            ]
        )
        record(
            actor, actor.organization, EventCode.BAA_TERMINATED, baa, {"disposition": disposition}
        )
    return baa


def baa_expiry_warnings_send(*, organization: Organization, today: dt.date) -> list[Baa]:
    """E-mail the officers once per threshold (90, 60, 30 days) as each BAA nears its end.
    Idempotent: a threshold already warned about is not sent again."""
    from phiwarden.accounts.models import Membership as Member

    officers = [
        m.user.email
        for m in Member.objects.active().for_organization(organization).select_related("user")
        if m.can(Capability.PARTNERS_MANAGE)
    ]
    warned: list[Baa] = []
    baas = Baa.objects.for_organization(organization).filter(status=Baa.Status.SIGNED)
    for baa in baas.select_related("client", "vendor"):
        level, end = baa.warning_days(today), baa.current_expiry(today)
        already = (
            baa.expiry_warning_end_on == end
            and baa.expiry_warning_sent_days is not None
            and baa.expiry_warning_sent_days <= (level or 0)
        )
        if level is None or end is None or already:
            continue
        with transaction.atomic():
            baa.expiry_warning_sent_days = level
            baa.expiry_warning_end_on = end
            baa.save(
                update_fields=["expiry_warning_sent_days", "expiry_warning_end_on", "updated_at"]
            )
            record(None, organization, EventCode.BAA_EXPIRY_WARNED, baa, {"days": level})
            subject = f"BAA ends within {level} days: {baa.party_label}"
            body = (
                f"The BAA with {baa.party_label} ends on {end:%Y-%m-%d}"
                f"{' and renews automatically' if baa.auto_renews else ''}.\n"
                "Renew it, or plan its termination and the return or destruction of PHI "
                "(45 CFR 164.504(e)(2)(ii)(J)).\n"
            )
            if officers:
                transaction.on_commit(
                    lambda s=subject, b=body: send_mail(s, b, None, officers)  # type: ignore[misc]
                )
        warned.append(baa)
    return warned
