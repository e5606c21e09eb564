from __future__ import annotations

from django.conf import settings
from django.db import models

from phiwarden.audit.codes import EventCode, Outcome
from phiwarden.core.models import OrganizationScopedQuerySet


class AuditEvent(models.Model):
    """One security-relevant thing that happened: who, what, when, where, and the outcome.

    Identifiers only, never PHI values (DESIGN.md, audit trail). Rows are written by
    `audit.services.audit_event_record` and never changed afterwards.
    """

    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        help_text="Empty for events with no tenant, such as a failed log-in by an unknown address.",
    )
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=254, blank=True, help_text="Copied so the row still names the actor later."
    )
    api_token_prefix = models.CharField(max_length=16, blank=True)
    event_code = models.CharField(max_length=64, choices=EventCode.choices, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = OrganizationScopedQuerySet["AuditEvent"].as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "occurred_at", "id"], name="audit_org_time"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        actor = self.actor_label or "system"
        return f"{self.event_code} by {actor} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
