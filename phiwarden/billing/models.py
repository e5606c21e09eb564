"""Billing records: patients, coverages, claims, service lines, remittances, X12 files.

PHI values live only in `*_ct` columns, encrypted with the organization's data key
(phiwarden.vault; AES-256-GCM bound to table, column and the row's `row_key`), and are
read only through `billing.selectors` (the PHI door: capability, client assignment,
minimum-necessary projection, audit, then data). Exact-match search uses `*_bidx` blind
indexes. What stays in clear, and why, is listed in docs/adr/0006-billing-records.md:
statuses, amounts, service dates (work queues sort and age on them), the patient's state
of residence (breach notices are counted per state, 45 CFR 164.406), codes of payers and
providers (not about the individual).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models

from phiwarden.core.models import OrganizationScopedQuerySet, TimestampedModel

BIDX = 16  # hex characters of a blind index (vault: 8 bytes of HMAC-SHA256)


def _row_key() -> uuid.UUID:
    return uuid.uuid4()


class ClaimKind(models.TextChoices):
    PROFESSIONAL = "837P", "Professional (837P)"
    INSTITUTIONAL = "837I", "Institutional (837I)"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    PAID = "paid", "Paid"
    PARTIALLY_PAID = "partially_paid", "Partly paid"
    DENIED = "denied", "Denied"
    REVERSED = "reversed", "Reversed"
    VOID = "void", "Void"


class FileKind(models.TextChoices):
    CLAIMS_837P = "837P", "837P claims"
    CLAIMS_837I = "837I", "837I claims"
    REMITTANCE_835 = "835", "835 remittance"


class OrgOwned(TimestampedModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True


class Payer(OrgOwned):
    """A health plan, as the X12 files name it (not about any individual)."""

    name = models.CharField(max_length=120)
    payer_id = models.CharField(max_length=80)

    objects = OrganizationScopedQuerySet["Payer"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "payer_id"], name="billing_payer_once")
        ]

    def __str__(self) -> str:
        return self.name


class Provider(OrgOwned):
    """A billing or rendering provider of a client. The tax id may be a person's SSN
    (REF*SY), so it is encrypted."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    npi = models.CharField(max_length=10)
    name = models.CharField(max_length=120)
    taxonomy = models.CharField(max_length=10, blank=True)
    tax_id_ct = models.BinaryField(null=True)

    objects = OrganizationScopedQuerySet["Provider"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "npi"], name="billing_provider_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.npi})"


class X12File(OrgOwned):
    """An imported interchange, kept encrypted (vault blob) with its checksum, for
    re-emission and retention. The same file twice is refused as a duplicate."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=4, choices=FileKind.choices)
    blob = models.OneToOneField("vault.EncryptedBlob", on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    interchange_control_number = models.CharField(max_length=9)
    sender_id = models.CharField(max_length=15)
    usage_indicator = models.CharField(max_length=1)
    transactions = models.PositiveIntegerField(default=0)
    claims = models.PositiveIntegerField(default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["X12File"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"], name="billing_file_once"),
            models.UniqueConstraint(
                fields=["organization", "sender_id", "interchange_control_number", "kind"],
                name="billing_interchange_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} interchange {self.interchange_control_number}"


class Patient(OrgOwned):
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    # Encrypted: {"last", "first", "middle", "suffix"} as JSON; ISO date; F/M/U;
    # {"line1", "line2", "city", "state", "postal_code"} as JSON; digits; digits.
    name_ct = models.BinaryField()
    birth_date_ct = models.BinaryField(null=True)
    sex_ct = models.BinaryField(null=True)
    address_ct = models.BinaryField(null=True)
    phone_ct = models.BinaryField(null=True)
    ssn_ct = models.BinaryField(null=True)
    # Blind indexes: last name + first name + date of birth; the client's account number.
    name_dob_bidx = models.CharField(max_length=BIDX, db_index=True)
    state = models.CharField(
        max_length=2, blank=True, help_text="State of residence (breach counts per state)."
    )
    is_synthetic = models.BooleanField(default=False)

    objects = OrganizationScopedQuerySet["Patient"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "name_dob_bidx"], name="billing_patient_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"patient {self.pk}"  # never a name


class Coverage(OrgOwned):
    """A patient's plan membership: the member id is PHI (encrypted, blind-indexed)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coverages")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    member_id_ct = models.BinaryField()
    member_id_bidx = models.CharField(max_length=BIDX, db_index=True)
    group_number_ct = models.BinaryField(null=True)
    responsibility = models.CharField(max_length=1, default="P", help_text="SBR01: P, S, T")
    relationship = models.CharField(max_length=2, blank=True, help_text="SBR02 / PAT01")
    filing_indicator = models.CharField(max_length=2, blank=True)

    objects = OrganizationScopedQuerySet["Coverage"].as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "payer", "member_id_bidx"], name="billing_coverage_once"
            )
        ]

    def __str__(self) -> str:
        return f"coverage {self.pk}"


class Claim(OrgOwned):
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="claims")
    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="claims")
    billing_provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    source_file = models.ForeignKey(X12File, on_delete=models.PROTECT, related_name="+")
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    kind = models.CharField(max_length=4, choices=ClaimKind.choices)
    # CLM01, the client's patient account number: encrypted and blind-indexed.
    account_number_ct = models.BinaryField()
    account_number_bidx = models.CharField(max_length=BIDX, db_index=True)
    payer_claim_number_ct = models.BinaryField(null=True)
    payer_claim_number_bidx = models.CharField(max_length=BIDX, blank=True, db_index=True)
    diagnoses_ct = models.BinaryField(help_text="JSON list of [qualifier, code].")
    prior_authorization_ct = models.BinaryField(null=True)
    frequency_code = models.CharField(max_length=1)
    facility_code = models.CharField(max_length=3, help_text="Place of service or bill type.")
    total_charge = models.DecimalField(max_digits=12, decimal_places=2)
    service_from = models.DateField(null=True)
    service_to = models.DateField(null=True)
    status = models.CharField(
        max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED, db_index=True
    )
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    is_synthetic = models.BooleanField(default=False)

    objects = OrganizationScopedQuerySet["Claim"].as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["organization", "status", "service_from"], name="billing_queue")
        ]

    def __str__(self) -> str:
        return f"claim {self.pk}"


class ServiceLine(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    number = models.PositiveSmallIntegerField()
    procedure_ct = models.BinaryField(help_text="JSON [qualifier, code, [modifiers]].")
    revenue_code = models.CharField(max_length=4, blank=True)
    charge = models.DecimalField(max_digits=12, decimal_places=2)
    units = models.DecimalField(max_digits=9, decimal_places=3)
    service_date = models.DateField(null=True)
    line_control_number = models.CharField(max_length=50, blank=True)
    # 45 CFR 164.522(a)(1)(vi): paid in full out of pocket and the patient asked that the
    # health plan not be told. Outgoing claim data for the plan leaves these lines out.
    restricted_from_plan = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["claim", "number"], name="billing_line_once")
        ]
        ordering = ["claim", "number"]

    def __str__(self) -> str:
        return f"line {self.number} of claim {self.claim_id}"


class Remittance(OrgOwned):
    """One 835 transaction: a payment (or a zero-pay explanation) from a payer."""

    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="+")
    source_file = models.ForeignKey(X12File, on_delete=models.PROTECT, related_name="+")
    trace_number = models.CharField(max_length=50, help_text="TRN02: check or EFT number.")
    payment_amount = models.DecimalField(max_digits=12, decimal_places=2)
    payment_method = models.CharField(max_length=3)
    payment_date = models.DateField(null=True)

    objects = OrganizationScopedQuerySet["Remittance"].as_manager()

    def __str__(self) -> str:
        return f"remittance {self.trace_number}"


class ClaimPayment(models.Model):
    """An 835 CLP loop. `claim` is empty until matched (by account number and payer claim
    number); unmatched payments wait in the posters' queue."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="payments")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    account_number_ct = models.BinaryField()
    account_number_bidx = models.CharField(max_length=BIDX, db_index=True)
    payer_claim_number_ct = models.BinaryField(null=True)
    payer_claim_number_bidx = models.CharField(max_length=BIDX, blank=True, db_index=True)
    patient_name_ct = models.BinaryField(null=True)
    member_id_ct = models.BinaryField(null=True)
    status_code = models.CharField(max_length=2)
    charge = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.DecimalField(max_digits=12, decimal_places=2)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    objects = OrganizationScopedQuerySet["ClaimPayment"].as_manager()

    def __str__(self) -> str:
        return f"payment {self.pk}"


class Adjustment(models.Model):
    """A CAS adjustment: group code, CARC, amount; at claim level or for one service line."""

    payment = models.ForeignKey(ClaimPayment, on_delete=models.CASCADE, related_name="adjustments")
    line_number = models.PositiveSmallIntegerField(null=True, blank=True)
    group_code = models.CharField(max_length=2)
    reason_code = models.CharField(max_length=5)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.DecimalField(max_digits=9, decimal_places=3, null=True)

    def __str__(self) -> str:
        return f"{self.group_code}-{self.reason_code}"


class RemarkCode(models.Model):
    payment = models.ForeignKey(ClaimPayment, on_delete=models.CASCADE, related_name="remarks")
    line_number = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.CharField(max_length=8)

    def __str__(self) -> str:
        return self.code


class ProviderAdjustment(models.Model):
    """PLB: an adjustment to the whole payment, not to one claim."""

    remittance = models.ForeignKey(
        Remittance, on_delete=models.CASCADE, related_name="provider_adjustments"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    reason_code = models.CharField(max_length=2)
    # Often the account or payer claim number of a recouped claim: encrypted.
    reference_ct = models.BinaryField(null=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"PLB {self.reason_code}"


class ExportRecord(OrgOwned):
    """One export of billing PHI: who took which fields of how many rows, for whom and
    why. Downloads to personal devices cannot be detected, so the recipient and reason are
    asked for and kept (45 CFR 164.312(b), 164.530(j) documentation)."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=32)
    queue = models.CharField(max_length=32)
    file_format = models.CharField(max_length=4)
    rows = models.PositiveIntegerField()
    fields = models.JSONField(default=list)
    recipient = models.CharField(max_length=120)
    reason = models.CharField(max_length=200)
    # Set when the export needed a privacy officer's approval.
    request = models.ForeignKey(
        "ExportRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = OrganizationScopedQuerySet["ExportRecord"].as_manager()

    def __str__(self) -> str:
        return f"export {self.pk}"


class ExportRequest(OrgOwned):
    """A request to export more rows of a work queue than the member's limit allows.

    Two people (45 CFR 164.312(b), 164.502(b); 164.308(a)(4) access authorization): a
    privacy officer other than the requester approves or denies it with a reason; the
    approved file can then be downloaded once, by the requester, before `expires_at`. The
    rows are read through the PHI door at download time, not stored in between.
    """

    class State(models.TextChoices):
        REQUESTED = "requested", "Waiting for a decision"
        APPROVED = "approved", "Approved, ready to download"
        DENIED = "denied", "Denied"
        DOWNLOADED = "downloaded", "Downloaded"
        EXPIRED = "expired", "Expired before download"

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The queue, as it was asked for: purpose, status, client.
    purpose = models.CharField(max_length=32)
    queue_status = models.CharField(max_length=16, blank=True)
    client = models.ForeignKey(
        "accounts.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file_format = models.CharField(max_length=4)
    recipient = models.CharField(max_length=120)
    reason = models.CharField(max_length=200)
    rows_requested = models.PositiveIntegerField(help_text="Rows in the queue when asked.")
    state = models.CharField(
        max_length=12, choices=State.choices, default=State.REQUESTED, db_index=True
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    objects = OrganizationScopedQuerySet["ExportRequest"].as_manager()

    class Meta:
        constraints = [
            # Two people: whoever decides is never the person who asked.
            models.CheckConstraint(
                condition=~models.Q(approver=models.F("requester")),
                name="billing_export_request_two_people",
            ),
            models.CheckConstraint(
                condition=models.Q(state="requested")
                | models.Q(approver__isnull=False, decided_at__isnull=False),
                name="billing_export_request_decided_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"export request {self.pk}"

    def is_expired(self, now: dt.datetime) -> bool:
        return self.state == self.State.APPROVED and (
            self.expires_at is None or self.expires_at <= now
        )

    def shown_state(self, now: dt.datetime) -> str:
        """The state as a person should read it: an approval past its window has expired,
        even before anything marks it so."""
        if self.is_expired(now):
            return str(self.State.EXPIRED.label)
        return str(self.get_state_display())


class LiftBasis(models.TextChoices):
    WRITTEN = "written", "The patient asked in writing to end it (164.522(a)(2)(i))"
    ORAL = "oral", "The patient agreed orally; documented (164.522(a)(2)(ii))"


class PlanRestriction(models.Model):
    """A patient's restriction of disclosure to their health plan of a service paid in
    full out of pocket (45 CFR 164.522(a)(1)(vi)): which line, who recorded it, when, and
    a note (encrypted: it may name the patient's words or the payment)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    line = models.OneToOneField(ServiceLine, on_delete=models.PROTECT, related_name="restriction")
    row_key = models.UUIDField(default=_row_key, unique=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    note_ct = models.BinaryField(null=True)
    # Ended at the patient's written request or documented oral agreement (164.522(a)(2)(i),
    # (ii)); a covered entity cannot end a (vi) restriction on its own (164.522(a)(2)(iii)).
    # The row stays, so the record shows it ended; the audit trail keeps every change.
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lift_basis = models.CharField(max_length=16, choices=LiftBasis.choices, blank=True)

    objects = OrganizationScopedQuerySet["PlanRestriction"].as_manager()

    def __str__(self) -> str:
        return f"restriction of line {self.line_id}"
