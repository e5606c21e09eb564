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
        db_index=False,  # audit_org_time starts with it; one index less to write per event
    )
    occurred_at = models.DateTimeField(db_index=True)
    # PROTECT: events are append-only, so a user with events is deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # audit_actor_time starts with it
    )
    actor_label = models.CharField(
        max_length=254, blank=True, help_text="Copied so the row still names the actor later."
    )
    api_token_prefix = models.CharField(max_length=16, blank=True)
    # No `choices=` here: every app adds its codes to EventCode, and a code list in the
    # schema would make each addition a migration. The writer accepts only EventCode members.
    event_code = models.CharField(max_length=64)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.ALLOWED)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=32, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
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
            # Plain b-tree indexes: no LIKE queries, so no PostgreSQL *_like twins to write.
            models.Index(fields=["event_code"], name="audit_event_code"),
            models.Index(fields=["request_id"], name="audit_request_id"),
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

    # No single-column indexes on the two keys: audit_patient_unique starts with the event
    # and audit_patient_idx with the organization, so they serve those look-ups, and every
    # audited read writes these rows (two index inserts fewer each).
    event = models.ForeignKey(
        AuditEvent, on_delete=models.PROTECT, related_name="patients", db_index=False
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", db_index=False
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


# --- Reviews of the audit trail (45 CFR 164.308(a)(1)(ii)(D)) ---------------------------


class ReviewCadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


class ReviewFinding(models.TextChoices):
    NO_ISSUES = "no_issues", "Nothing anomalous"
    FOLLOWED_UP = "followed_up", "Anomalies found and followed up"
    OPEN = "open", "Anomalies found, follow-up still open"


class AuditReviewSchedule(models.Model):
    """How often an organization reviews its audit trail, and what counts as after hours."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="audit_review_schedule"
    )
    cadence = models.CharField(
        max_length=8, choices=ReviewCadence.choices, default=ReviewCadence.MONTHLY
    )
    starts_on = models.DateField(help_text="Reviews are due for periods from this date on.")
    time_zone = models.CharField(max_length=64, default="America/New_York")
    business_hours_start = models.PositiveSmallIntegerField(default=7)
    business_hours_end = models.PositiveSmallIntegerField(default=19)
    changed_at = models.DateTimeField(auto_now=True)

    objects = OrganizationScopedQuerySet["AuditReviewSchedule"].as_manager()

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} audit reviews"


class AuditReview(models.Model):
    """A signed review of one period of the audit trail. Final once signed: there is no
    update path, and the sealed log's size and root at signing show what was reviewed."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="audit_reviews"
    )
    cadence = models.CharField(max_length=8, choices=ReviewCadence.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="The day after the period's last day.")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_label = models.CharField(max_length=254)
    signed_at = models.DateTimeField()
    finding = models.CharField(max_length=16, choices=ReviewFinding.choices)
    notes = models.TextField()
    summary = models.JSONField(help_text="The period's summary as the reviewer saw it.")
    tree_size = models.BigIntegerField(help_text="Sealed events in the log when signed.")
    root_hash = models.CharField(max_length=64, blank=True)

    objects = OrganizationScopedQuerySet["AuditReview"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "period_end"], name="audit_review_once"
            )
        ]
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"audit review {self.period_start} to {self.period_end}"


class VerificationRun(models.Model):
    """The outcome of one `audit_verify` run over a log: evidence that the log is intact
    (checklist A4, D4). The problem text names event ids and sequence numbers only."""

    log_id = models.BigIntegerField(help_text=LOG_ID_HELP)
    ran_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    events = models.BigIntegerField()
    problem = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"verification of log {self.log_id}: {'ok' if self.ok else 'FAILED'}"


class PurgeRecord(models.Model):
    """A signed statement that a prefix of a log, past retention, was archived and purged
    (45 CFR 164.316(b)(2)(i)). Verification starts from its frontier, so the log still
    verifies after the purge; the archive bundle's checksum names the file that holds
    the purged events."""

    log_id = models.BigIntegerField(help_text=LOG_ID_HELP)
    first_sequence = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    tree_size = models.BigIntegerField(help_text="Events in the log up to the boundary.")
    root_hash = models.CharField(max_length=64)
    frontier = models.JSONField(help_text="Complete-subtree roots at the boundary.")
    bundle_sha256 = models.CharField(max_length=64)
    purged_at = models.CharField(max_length=40, help_text="ISO 8601 UTC, as signed.")
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["log_id", "tree_size"], name="audit_purge_unique")
        ]
        ordering = ["log_id", "tree_size"]

    def __str__(self) -> str:
        return f"purge of log {self.log_id} up to {self.tree_size}"

    def as_json(self) -> dict[str, Any]:
        return {
            "log": self.log_id,
            "first_seq": self.first_sequence,
            "last_seq": self.last_sequence,
            "tree_size": self.tree_size,
            "root": self.root_hash,
            "frontier": self.frontier,
            "bundle_sha256": self.bundle_sha256,
            "purged_at": self.purged_at,
            "key_id": self.key_id,
            "signature": self.signature,
        }
