"""The PHI flow map: where PHI goes at each stage of the billing lifecycle, how, and under
which BAA (checklist P1, A3; 45 CFR 164.308(a)(1)(ii)(A) requires knowing where ePHI is)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from phiwarden.accounts.models import Client, Organization
from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel
from phiwarden.partners.models.baas import Baa
from phiwarden.partners.models.parties import Vendor
from phiwarden.partners.models.vocabulary import Channel, Stage


class ApprovedChannel(TimestampedModel):
    """A transfer channel the organization allows for PHI (checklist A3; 164.312(e)(1))."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=32, choices=Channel.choices)

    objects = OrganizationScopedQuerySet["ApprovedChannel"].as_manager()

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel"], name="approved_channel_unique"
            )
        ]

    def __str__(self) -> str:
        return self.get_channel_display()


class FlowQuerySet(OrganizationScopedQuerySet["Flow"]):
    def active(self) -> FlowQuerySet:
        return self.exclude(status=Flow.Status.RETIRED)

    def with_parties(self) -> FlowQuerySet:
        return self.select_related(
            "source_client", "source_vendor", "destination_client", "destination_vendor", "baa"
        )


class Flow(TimestampedModel):
    """One movement of PHI: from a source to a destination (an internal system, a client or
    a vendor), at one lifecycle stage, over one channel, carrying some classes of PHI."""

    class Status(models.TextChoices):
        SUGGESTED = "suggested", "Suggested (observed, not confirmed)"
        CONFIRMED = "confirmed", "Confirmed"
        RETIRED = "retired", "Retired"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices)
    name = models.CharField(max_length=200)
    source_system = models.CharField(max_length=200, blank=True)
    source_client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destination_system = models.CharField(max_length=200, blank=True)
    destination_client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destination_vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phi_classes = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=32, choices=Channel.choices)
    encrypted_in_transit = models.BooleanField(default=True)
    encrypted_at_rest = models.BooleanField(default=True)
    volume = models.CharField(max_length=100, blank=True, help_text="e.g. 2,000 claims a month")
    baa = models.ForeignKey(
        Baa, null=True, blank=True, on_delete=models.SET_NULL, related_name="flows"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    observed_count = models.PositiveIntegerField(default=0)
    last_observed_on = models.DateField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    objects = FlowQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source_client__isnull=True)
                | models.Q(source_vendor__isnull=True),
                name="flow_one_source_party",
            ),
            models.CheckConstraint(
                condition=models.Q(destination_client__isnull=True)
                | models.Q(destination_vendor__isnull=True),
                name="flow_one_destination_party",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def source_label(self) -> str:
        party = self.source_client or self.source_vendor
        return party.name if party is not None else self.source_system

    @property
    def destination_label(self) -> str:
        party = self.destination_client or self.destination_vendor
        return party.name if party is not None else self.destination_system


class FlowMapReview(TimestampedModel):
    """The yearly review of the whole map, signed off by the reviewer (checklist P1)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    reviewed_on = models.DateField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    flow_count = models.PositiveIntegerField()
    flagged_count = models.PositiveIntegerField()

    objects = OrganizationScopedQuerySet["FlowMapReview"].as_manager()

    class Meta:
        ordering = ["-reviewed_on", "-pk"]

    def __str__(self) -> str:
        return f"Flow map review on {self.reviewed_on}"
