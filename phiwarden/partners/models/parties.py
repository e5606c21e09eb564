"""The parties PHI reaches: covered-entity clients (their compliance profile) and vendors,
with the due diligence that must precede sharing PHI with a vendor (45 CFR 164.308(b)(1),
164.314(a)(1); checklist K5)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from phiwarden.accounts.models import Client, Organization
from phiwarden.core.clock import add_months
from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel


class ClientProfile(TimestampedModel):
    """What the compliance program needs to know about a covered-entity client: who to call,
    whom breach notices go to (45 CFR 164.410(a)), and the states it serves (state breach
    laws add their own notices)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="profile")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    privacy_officer_name = models.CharField(max_length=200, blank=True)
    privacy_officer_email = models.EmailField(blank=True)
    privacy_officer_phone = models.CharField(max_length=40, blank=True)
    states_served = models.JSONField(default=list, blank=True, help_text="Two-letter codes.")

    objects = OrganizationScopedQuerySet["ClientProfile"].as_manager()

    def __str__(self) -> str:
        return f"Profile of {self.client}"

    @property
    def has_breach_contact(self) -> bool:
        return bool(self.privacy_officer_name and self.privacy_officer_email)


class Vendor(TimestampedModel):
    """A business (or its subcontractor) the billing company uses: clearinghouse, mail
    house, cloud or e-mail provider, shredding company, IT support, payer portal. One that
    handles PHI is a subcontractor business associate and needs a BAA (164.502(e)(1)(ii))."""

    class Kind(models.TextChoices):
        CLEARINGHOUSE = "clearinghouse", "Clearinghouse"
        STATEMENT_PRINTER = "statement_printer", "Statement printer or mail house"
        CLOUD = "cloud", "Cloud hosting or storage"
        EMAIL = "email", "E-mail provider"
        SHREDDING = "shredding", "Shredding and disposal"
        IT_SUPPORT = "it_support", "IT support"
        PAYER_PORTAL = "payer_portal", "Payer portal"
        SOFTWARE = "software", "Software (SaaS)"
        OTHER = "other", "Other"

    class RiskTier(models.TextChoices):
        LOW = "low", "Low"
        MODERATE = "moderate", "Moderate"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed (no PHI yet)"
        APPROVED = "approved", "Approved for PHI"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    # Months between due-diligence reviews, by risk tier.
    REVIEW_MONTHS: dict[str, int] = {RiskTier.HIGH: 12, RiskTier.MODERATE: 24, RiskTier.LOW: 36}

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER)
    services = models.CharField(max_length=500, blank=True, help_text="What they do for us.")
    phi_classes = models.JSONField(default=list, blank=True)
    handles_phi = models.BooleanField(default=True)
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, default=RiskTier.HIGH)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet["Vendor"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="vendor_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def review_months(self) -> int:
        return self.REVIEW_MONTHS.get(self.risk_tier, 12)


class DiligenceReview(TimestampedModel):
    """One due-diligence review of a vendor's safeguards: the questionnaire answers, their
    score, and the reviewer's decision. A vendor is approved for PHI only after one
    (45 CFR 164.308(b)(1) satisfactory assurances; checklist K5)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CONDITIONAL = "conditional", "Approved with conditions"
        REJECTED = "rejected", "Rejected"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="reviews")
    answers = models.JSONField(default=dict)
    score = models.PositiveSmallIntegerField(help_text="0-100, weighted.")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    decided_on = models.DateField()
    next_review_on = models.DateField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)

    objects = OrganizationScopedQuerySet["DiligenceReview"].as_manager()

    class Meta:
        ordering = ["-decided_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__lte=100), name="diligence_score_range")
        ]

    def __str__(self) -> str:
        return f"Due diligence of {self.vendor} on {self.decided_on}"

    @property
    def is_favourable(self) -> bool:
        return self.decision in (self.Decision.APPROVED, self.Decision.CONDITIONAL)

    @staticmethod
    def next_review_for(vendor: Vendor, decided_on: dt.date) -> dt.date:
        return add_months(decided_on, vendor.review_months)


class Attestation(TimestampedModel):
    """Evidence of a vendor's safeguards from outside (SOC 2 report, HITRUST certification,
    ISO 27001 certificate, penetration test), valid until it expires."""

    class Kind(models.TextChoices):
        SOC2_TYPE2 = "soc2_type2", "SOC 2 Type II"
        SOC2_TYPE1 = "soc2_type1", "SOC 2 Type I"
        HITRUST = "hitrust", "HITRUST CSF"
        ISO27001 = "iso27001", "ISO/IEC 27001"
        PENTEST = "pentest", "Penetration test"
        OTHER = "other", "Other"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="attestations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    document = models.ForeignKey(
        "vault.EncryptedBlob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["Attestation"].as_manager()

    class Meta:
        ordering = ["-expires_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("issued_on")),
                name="attestation_expires_after_issue",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.vendor}"

    def is_current(self, today: dt.date) -> bool:
        return self.expires_on >= today
