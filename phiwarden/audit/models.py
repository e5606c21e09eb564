from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from phiwarden.audit.codes import Outcome
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
    # PROTECT: events are append-only, so a user with events is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=254, blank=True, help_text="Copied so the row still names the actor later."
    )
    api_token_prefix = models.CharField(max_length=16, blank=True)
    # No `choices=` here: every app adds its codes to EventCode, and a code list in the
    # schema would make each addition a migration. The writer accepts only EventCode members.
    event_code = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    via = models.CharField(max_length=32, blank=True)
    data = models.JSONField(default=dict, blank=True)
    fields_disclosed = models.JSONField(
        default=list, blank=True, help_text="Names of the PHI fields a read returned."
    )

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


# Each organization has its own log; events with no organization (a failed log-in by an
# unknown address) go to the installation-wide log 0.
INSTALLATION_LOG = 0
LOG_ID_HELP = "The organization's id, or 0 for the installation-wide log."


def log_id_for(organization_id: int | None) -> int:
    return organization_id or INSTALLATION_LOG


class AuditEventPatient(models.Model):
    """One patient an event touched: the index that breach scoping and disclosure
    accounting search (45 CFR 164.404, 164.528). Only the patient's id, never PHI."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="patients")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    patient_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "patient_id"], name="audit_patient_unique")
        ]
        indexes = [
            models.Index(fields=["organization", "patient_id", "event"], name="audit_patient_idx")
        ]

    def __str__(self) -> str:
        return f"patient {self.patient_id} in event {self.event_id}"


class PendingSeal(models.Model):
    """An event written but not yet sealed. The writer adds one in the event's own
    transaction, so an event that commits late is still found by the next seal; the
    sealer removes it in the transaction that seals the event. audit_verify treats an
    event with neither a leaf nor a pending row as tampering."""

    event = models.OneToOneField(
        AuditEvent, on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    log_id = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"pending seal of event {self.event_id}"


class SealedLeaf(models.Model):
    """An event's place in its organization's Merkle log: sequence number and leaf hash.

    Append-only like the events."""

    event = models.OneToOneField(
        AuditEvent, on_delete=models.PROTECT, primary_key=True, related_name="leaf"
    )
    log_id = models.BigIntegerField(help_text=LOG_ID_HELP)
    sequence = models.BigIntegerField(help_text="0-based position in the log.")
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log_id", "sequence"], name="audit_leaf_seq_unique")
        ]

    def __str__(self) -> str:
        return f"leaf {self.sequence} (event {self.event_id})"


class TreeHead(models.Model):
    """A signed statement: "the organization's log had `tree_size` events, with this root,
    at this time". Sent outside the database as it is made, so that rewriting history
    needs more than database access."""

    log_id = models.BigIntegerField(help_text=LOG_ID_HELP)
    tree_size = models.BigIntegerField()
    root_hash = models.BinaryField(max_length=32)
    issued_at = models.CharField(max_length=40, help_text="ISO 8601 UTC, as signed.")
    key_id = models.CharField(max_length=16)
    signature = models.BinaryField(max_length=64)
    frontier = models.JSONField(help_text="Complete-subtree roots, to extend the tree cheaply.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log_id", "tree_size"], name="audit_tree_head_unique")
        ]
        ordering = ["log_id", "tree_size"]

    def __str__(self) -> str:
        return f"tree head {self.tree_size} of log {self.log_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "log": self.log_id,
            "tree_size": self.tree_size,
            "root": bytes(self.root_hash).hex(),
            "issued_at": self.issued_at,
            "key_id": self.key_id,
            "signature": bytes(self.signature).hex(),
        }
