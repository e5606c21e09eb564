"""Incidents and breach notification (45 CFR 164.400-164.414; checklist B1-B5, R4).

An incident is reported by anyone, contained (with the one-click actions the system can
take itself), scoped from the audit trail and billing records, assessed on the four
factors of 164.402(2), and, when it is a breach, notified to every client on time. The
narrative a reporter types may name patients, so it is encrypted like billing PHI; the
rest holds identifiers, counts and dates only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from phiwarden.accounts.models import Client, Organization
from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel
from phiwarden.incidents.deadlines import DelayKind, LawEnforcementDelay


class Incident(TimestampedModel):
    """One security incident or suspected breach, from report to close."""

    class Kind(models.TextChoices):
        MISDIRECTED = "misdirected", "Misdirected mail, fax or e-mail"
        LOST_DEVICE = "lost_device", "Lost or stolen device"
        UNAUTHORIZED_ACCESS = "unauthorized_access", "Unauthorized access or snooping"
        COMPROMISED_ACCOUNT = "compromised_account", "Compromised account"
        PHISHING = "phishing", "Phishing"
        VENDOR = "vendor", "Vendor incident"
        RANSOMWARE = "ransomware", "Ransomware or malware"
        IMPROPER_DISPOSAL = "improper_disposal", "Improper disposal"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        REPORTED = "reported", "Reported"
        CONTAINED = "contained", "Contained"
        ASSESSED = "assessed", "Assessed"
        CLOSED = "closed", "Closed"

    class DiscoveryBasis(models.TextChoices):
        # 164.404(a)(2), 164.410(a)(2): the first day known, or that would have been known
        # with reasonable diligence, to anyone in the workforce but the wrongdoer.
        KNOWN = "known", "The first day someone in the workforce knew"
        DILIGENCE = "diligence", "The day it would have been known with reasonable diligence"

    # The HHS breach portal's "Location of breached information" (S3).
    class Location(models.TextChoices):
        DESKTOP = "desktop", "Desktop computer"
        EHR = "ehr", "Electronic medical record"
        EMAIL = "email", "E-mail"
        LAPTOP = "laptop", "Laptop"
        NETWORK_SERVER = "network_server", "Network server"
        PORTABLE = "portable", "Other portable electronic device"
        PAPER = "paper", "Paper or films"
        OTHER = "other", "Other"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(help_text="Per organization: INC-<year>-<number>.")
    row_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(
        max_length=120, help_text="A short label without names or identifiers."
    )
    # What happened, in the reporter's words: encrypted, it may name patients.
    description_ct = models.BinaryField()
    systems = models.CharField(max_length=300, blank=True, help_text="Systems involved.")
    data_involved = models.CharField(
        max_length=300, blank=True, help_text="What data, if known (kinds, not values)."
    )
    location = models.CharField(
        max_length=16, choices=Location.choices, default=Location.OTHER, blank=True
    )
    occurred_on = models.DateField(null=True, blank=True, help_text="When it began, if known.")
    ended_on = models.DateField(null=True, blank=True, help_text="When it ended, if known.")
    discovered_on = models.DateField()
    discovery_basis = models.CharField(
        max_length=16, choices=DiscoveryBasis.choices, default=DiscoveryBasis.KNOWN
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    officers_notified_at = models.DateTimeField(null=True, blank=True)
    vendor = models.ForeignKey(
        "partners.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    vendor_baa = models.ForeignKey(
        "partners.Baa", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clients = models.ManyToManyField(Client, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REPORTED)
    # 164.412: a law-enforcement statement that notice would impede an investigation.
    delay_kind = models.CharField(
        max_length=8, choices=[(k.value, k.value.title()) for k in DelayKind], blank=True
    )
    delay_stated_on = models.DateField(null=True, blank=True)
    delay_until = models.DateField(null=True, blank=True)
    delay_written_received_on = models.DateField(null=True, blank=True)
    delay_agency = models.CharField(max_length=200, blank=True)
    root_cause = models.TextField(blank=True)
    safeguards_before = models.TextField(
        blank=True, help_text="Safeguards in place before the incident (HHS portal)."
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["Incident"].as_manager()

    class Meta:
        ordering = ["-discovered_on", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="incidents_incident_number_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(occurred_on__isnull=True)
                | models.Q(ended_on__gte=models.F("occurred_on")),
                name="incidents_incident_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"INC-{self.discovered_on:%Y}-{self.number:04d}"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    def law_enforcement_delay(self) -> LawEnforcementDelay | None:
        if not self.delay_kind or self.delay_stated_on is None:
            return None
        return LawEnforcementDelay(
            kind=DelayKind(self.delay_kind),
            stated_on=self.delay_stated_on,
            written_until=self.delay_until,
            written_received_on=self.delay_written_received_on,
        )


class ContainmentStep(models.Model):
    """One step of the containment checklist for the incident's kind, with when it was done
    and by whom. Steps the system can do itself (`action`) are done by one click."""

    class Action(models.TextChoices):
        NONE = "", "Done by hand"
        DEACTIVATE_MEMBER = "deactivate_member", "Deactivate the member"
        END_SESSIONS = "end_sessions", "End the member's sessions"
        REVOKE_TOKENS = "revoke_tokens", "Revoke the member's API tokens"
        SUSPEND_VENDOR = "suspend_vendor", "Suspend the vendor's PHI flows"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="steps")
    key = models.SlugField(max_length=48)
    title = models.CharField(max_length=200)
    action = models.CharField(max_length=24, choices=Action.choices, blank=True)
    # The member or vendor the action was taken on (ids, not names).
    target_membership = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_vendor = models.ForeignKey(
        "partners.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    objects = OrganizationScopedQuerySet["ContainmentStep"].as_manager()

    class Meta:
        ordering = ["incident", "position", "pk"]

    def __str__(self) -> str:
        return self.title


class EvidenceSnapshot(models.Model):
    """What was known when: the signed tree head at the moment of the snapshot and the ids of
    the audit events in scope, with a digest over them, so a later review can prove the log
    it relied on (164.312(b); checklist B1)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="snapshots")
    taken_at = models.DateTimeField(auto_now_add=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    query = models.JSONField(help_text="The members, tokens and window the snapshot covers.")
    tree_head = models.ForeignKey(
        "audit.TreeHead", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tree_size = models.BigIntegerField(default=0)
    root_hash_hex = models.CharField(max_length=64, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    # Event ids as [first, last] runs (contiguous ranges compress a busy member's log).
    event_id_ranges = models.JSONField(default=list)
    events_digest = models.CharField(max_length=64, help_text="SHA-256 over the sorted event ids.")
    events_unsealed = models.PositiveIntegerField(
        default=0, help_text="Events in scope not yet under the tree head when taken."
    )

    objects = OrganizationScopedQuerySet["EvidenceSnapshot"].as_manager()

    class Meta:
        ordering = ["-taken_at", "-pk"]

    def __str__(self) -> str:
        return f"Evidence snapshot {self.pk} of {self.incident}"


class ScopingRun(models.Model):
    """The result of one breach scoping, stored with the query that produced it."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="scopings")
    computed_at = models.DateTimeField(auto_now_add=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    query = models.JSONField()
    individuals = models.PositiveIntegerField()
    events = models.PositiveIntegerField(default=0)
    viewed_events = models.PositiveIntegerField(
        default=0, help_text="Events in scope that disclosed PHI fields (acquired or viewed)."
    )
    by_client = models.JSONField(default=dict, help_text="{client id: individuals}")
    by_state = models.JSONField(default=dict, help_text="{state: residents}")
    by_client_state = models.JSONField(
        default=dict, help_text="{client id: {state: residents}} (media notices per client)"
    )
    phi_classes = models.JSONField(default=list)
    # Internal patient ids (not PHI values): the notice to each client lists its patients.
    patient_ids = models.JSONField(default=list)

    objects = OrganizationScopedQuerySet["ScopingRun"].as_manager()

    class Meta:
        ordering = ["-computed_at", "-pk"]

    def __str__(self) -> str:
        return f"Scoping {self.pk} of {self.incident}"

    def client_ids(self) -> list[int]:
        return sorted(int(key) for key in self.by_client)


class Assessment(models.Model):
    """The four-factor risk assessment of 45 CFR 164.402(2), with the exceptions of
    164.402(1). Signing locks a version; a change after signing is a new version."""

    class Exception_(models.TextChoices):
        NONE = "", "No exception applies"
        GOOD_FAITH_WORKFORCE = (
            "good_faith_workforce",
            "Unintentional, good-faith access by a workforce member within their authority, "
            "not further used or disclosed (164.402(1)(i))",
        )
        INADVERTENT_AUTHORIZED = (
            "inadvertent_authorized",
            "Inadvertent disclosure between people authorized at the same covered entity, "
            "business associate or OHCA, not further used or disclosed (164.402(1)(ii))",
        )
        COULD_NOT_RETAIN = (
            "could_not_retain",
            "Good-faith belief the recipient could not reasonably have retained it "
            "(164.402(1)(iii))",
        )

    class Decision(models.TextChoices):
        UNDECIDED = "", "Not decided"
        BREACH = "breach", "Breach of unsecured PHI: notify"
        NOT_BREACH = "not_breach", "Not a breach (an exception applies, or PHI was secured)"
        LOW_PROBABILITY = "low_probability", "Low probability that the PHI was compromised"

    class Acquired(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        YES = "yes", "Yes, acquired or viewed"
        NO = "no", "No, not acquired or viewed"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="assessments")
    version = models.PositiveSmallIntegerField(default=1)
    scoping = models.ForeignKey(
        ScopingRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 164.402(2)(i)-(iv)
    nature_extent = models.TextField(blank=True)
    recipient = models.TextField(blank=True)
    acquired = models.CharField(max_length=8, choices=Acquired.choices, default=Acquired.UNKNOWN)
    acquired_notes = models.TextField(blank=True)
    mitigation = models.TextField(blank=True)
    phi_secured = models.BooleanField(
        default=False,
        help_text="Encrypted per HHS guidance with the key not compromised, or destroyed.",
    )
    exception = models.CharField(max_length=24, choices=Exception_.choices, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    reasons = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["Assessment"].as_manager()

    class Meta:
        ordering = ["incident", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "version"], name="incidents_assessment_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Assessment v{self.version} of {self.incident}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_breach(self) -> bool:
        return self.is_signed and self.decision == self.Decision.BREACH


class Notice(models.Model):
    """A notice owed for a breach: ours to each client (164.410), and the client's own
    notices we track for it (individuals 164.404, HHS 164.408, media 164.406)."""

    class Recipient(models.TextChoices):
        CLIENT = "client", "Covered-entity client"
        INDIVIDUALS = "individuals", "Affected individuals (by the client)"
        HHS = "hhs", "HHS (by the client)"
        MEDIA = "media", "Media (by the client)"

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notices")
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=2, blank=True, help_text="For media notices.")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+")
    scoping = models.ForeignKey(ScopingRun, on_delete=models.PROTECT, related_name="+")
    individuals = models.PositiveIntegerField(default=0)
    due_on = models.DateField()
    citation = models.CharField(max_length=60)
    letter = models.ForeignKey(
        "vault.EncryptedBlob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient_list = models.ForeignKey(
        "vault.EncryptedBlob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_method = models.CharField(max_length=100, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_note = models.CharField(max_length=300, blank=True)

    objects = OrganizationScopedQuerySet["Notice"].as_manager()

    class Meta:
        ordering = ["incident", "due_on", "recipient", "client", "state"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "recipient", "client", "state"],
                name="incidents_notice_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_recipient_display()} notice for {self.incident}"

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    def sent_on_time(self) -> bool | None:
        if self.sent_at is None:
            return None
        return self.sent_at.date() <= self.due_on


class CorrectiveAction(TimestampedModel):
    """A corrective action with an owner and a due date, verified before the incident closes
    (checklist B5; 164.308(a)(1)(ii)(B) risk management)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    risk_reference = models.CharField(
        max_length=100, blank=True, help_text="The risk analysis entry it addresses, if any."
    )
    done_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification = models.CharField(max_length=500, blank=True)

    objects = OrganizationScopedQuerySet["CorrectiveAction"].as_manager()

    class Meta:
        ordering = ["incident", "due_on", "pk"]

    def __str__(self) -> str:
        return self.description

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
