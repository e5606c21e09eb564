"""Business associate agreements, in both directions (45 CFR 164.502(e), 164.504(e),
164.308(b), 164.314(a)): each client's BAA with us, ours with each vendor, and the
subcontractor BAAs a vendor declares for its own subcontractors (164.504(e)(2)(ii)(D))."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from phiwarden.accounts.models import Client, Organization
from phiwarden.core.clock import DayKind, NoticeWindow, add_months
from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel
from phiwarden.partners.models.parties import Vendor

# Warnings before a BAA ends, in days (the register, reminders and obligations share them).
EXPIRY_WARNING_DAYS: tuple[int, ...] = (90, 60, 30)


class Baa(TimestampedModel):
    """One business associate agreement and the terms that matter day to day."""

    class Direction(models.TextChoices):
        CLIENT = "client", "Client → us (we are their business associate)"
        VENDOR = "vendor", "Us → vendor (our subcontractor)"
        SUBCONTRACTOR = "subcontractor", "Vendor → its subcontractor (declared)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not signed)"
        SIGNED = "signed", "Signed"
        TERMINATED = "terminated", "Terminated"

    class Disposition(models.TextChoices):
        RETURNED = "returned", "PHI returned"
        DESTROYED = "destroyed", "PHI destroyed"
        INFEASIBLE = "infeasible", "Return or destruction infeasible; protections extended"
        NONE_HELD = "none_held", "No PHI was held"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="baas"
    )
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="baas"
    )
    subcontractor_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    signed_on = models.DateField(null=True, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Empty: no fixed end.")
    auto_renews = models.BooleanField(default=False)
    renewal_months = models.PositiveSmallIntegerField(default=12)
    # Breach and security-incident notice owed to the covered entity (or to us, by a vendor):
    # 164.504(e)(2)(ii)(C), 164.314(a)(2)(i)(C); never beyond 60 calendar days, 164.410(b).
    notice_window_days = models.PositiveSmallIntegerField(default=60)
    notice_window_kind = models.CharField(
        max_length=16, choices=[(k.value, k.label) for k in DayKind], default=DayKind.CALENDAR
    )
    notice_content = models.CharField(max_length=500, blank=True)
    notice_channel = models.CharField(max_length=200, blank=True)
    permitted_uses = models.CharField(max_length=500, blank=True)
    subcontractor_flow_down = models.BooleanField(default=True)  # 164.504(e)(2)(ii)(D)
    return_or_destroy = models.BooleanField(default=True)  # 164.504(e)(2)(ii)(J)
    offshore_allowed = models.BooleanField(default=False)
    terminated_on = models.DateField(null=True, blank=True)
    termination_reason = models.CharField(max_length=500, blank=True)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    disposition_certified_on = models.DateField(null=True, blank=True)
    disposition_certificate = models.ForeignKey(
        "vault.EncryptedBlob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The last warning (90, 60 or 30 days) the reminder command sent, so it sends each once.
    expiry_warning_sent_days = models.PositiveSmallIntegerField(null=True, blank=True)
    expiry_warning_end_on = models.DateField(null=True, blank=True)  # the end date warned about
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["Baa"].as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(direction="client", client__isnull=False, vendor__isnull=True)
                    | models.Q(direction="vendor", vendor__isnull=False, client__isnull=True)
                    | (
                        models.Q(direction="subcontractor", vendor__isnull=False)
                        & models.Q(client__isnull=True)
                        & ~models.Q(subcontractor_name="")
                    )
                ),
                name="baa_party_matches_direction",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(signed_on__isnull=False),
                name="baa_signed_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(renewal_months__gte=1), name="baa_renewal_months_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"BAA with {self.party_label}"

    @property
    def party_label(self) -> str:
        if self.direction == self.Direction.CLIENT and self.client is not None:
            return self.client.name
        if self.direction == self.Direction.SUBCONTRACTOR and self.vendor is not None:
            return f"{self.subcontractor_name} (subcontractor of {self.vendor.name})"
        return self.vendor.name if self.vendor is not None else ""

    @property
    def notice_window(self) -> NoticeWindow:
        return NoticeWindow(self.notice_window_days, DayKind(self.notice_window_kind))

    def current_expiry(self, today: dt.date) -> dt.date | None:
        """When the agreement ends as of `today`: an auto-renewing BAA rolls its end date
        forward by whole renewal terms; None means no fixed end."""
        if self.expires_on is None:
            return None
        end, terms = self.expires_on, 0
        if self.auto_renews:
            # Count whole terms from the original end, so a 31 January end renews to the
            # last day of each month instead of drifting (31 Jan, 28 Feb, 28 Mar, ...).
            while end < today:
                terms += 1
                end = add_months(self.expires_on, terms * self.renewal_months)
        return end

    def is_current(self, today: dt.date) -> bool:
        """Signed, in effect and not expired or terminated on `today`."""
        if self.status != self.Status.SIGNED:
            return False
        start = self.effective_on or self.signed_on
        if start is not None and start > today:
            return False
        end = self.current_expiry(today)
        return end is None or end >= today

    def days_to_expiry(self, today: dt.date) -> int | None:
        end = self.current_expiry(today)
        return None if end is None else (end - today).days

    def warning_days(self, today: dt.date) -> int | None:
        """The tightest warning threshold (90, 60, 30) reached, or None if none is."""
        if not self.is_current(today):
            return None
        remaining = self.days_to_expiry(today)
        if remaining is None:
            return None
        reached = [limit for limit in EXPIRY_WARNING_DAYS if remaining <= limit]
        return min(reached) if reached else None


class BaaDocument(TimestampedModel):
    """One version of a BAA's signed document, stored encrypted in the vault. Versions only
    grow: an amendment or a re-signed copy is a new version, the old ones stay."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    baa = models.ForeignKey(Baa, on_delete=models.PROTECT, related_name="documents")
    version = models.PositiveIntegerField()
    blob = models.ForeignKey("vault.EncryptedBlob", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["BaaDocument"].as_manager()

    class Meta:
        ordering = ["baa", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["baa", "version"], name="baa_document_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.baa}, version {self.version}"
