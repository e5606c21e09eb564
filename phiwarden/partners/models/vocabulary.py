"""The shared words of the partners app: lifecycle stages, transfer channels, PHI classes."""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    """Where in the billing lifecycle PHI moves (checklist P1), plus storage and its end."""

    INTAKE = "intake", "Intake"
    CODING = "coding", "Coding"
    CLAIMS = "claims", "Claims"
    CLEARINGHOUSE = "clearinghouse", "Clearinghouse"
    REMITS = "remits", "Remittances"
    STATEMENTS = "statements", "Patient statements"
    STORAGE = "storage", "Storage"
    BACKUP = "backup", "Backup"
    DISPOSAL = "disposal", "Disposal"


# The six stages checklist item P1 names; storage, backup and disposal are mapped but optional.
LIFECYCLE_STAGES: tuple[Stage, ...] = (
    Stage.INTAKE,
    Stage.CODING,
    Stage.CLAIMS,
    Stage.CLEARINGHOUSE,
    Stage.REMITS,
    Stage.STATEMENTS,
)


class Channel(models.TextChoices):
    """How PHI travels. Which ones are acceptable is each organization's approved list (A3)."""

    SFTP = "sftp", "SFTP"
    API_TLS = "api_tls", "API over TLS"
    SECURE_PORTAL = "secure_portal", "Secure portal"
    VPN = "vpn", "VPN"
    ENCRYPTED_EMAIL = "encrypted_email", "Encrypted e-mail"
    FAX = "fax", "Fax"
    MAIL = "mail", "Mail (paper)"
    EMAIL = "email", "Unencrypted e-mail"
    REMOVABLE_MEDIA = "removable_media", "Removable media"
    COURIER = "courier", "Courier (paper, bonded)"
    IN_HOUSE = "in_house", "Within our own systems"


class PhiClass(models.TextChoices):
    """Kinds of PHI a flow or a party handles (categories, never values)."""

    DEMOGRAPHICS = "demographics", "Demographics (name, birth date, address)"
    CONTACT = "contact", "Contact details (phone, e-mail)"
    GOVERNMENT_IDS = "government_ids", "Government identifiers (SSN, MBI)"
    INSURANCE = "insurance", "Insurance and member identifiers"
    DIAGNOSES = "diagnoses", "Diagnoses (ICD-10)"
    PROCEDURES = "procedures", "Procedures and services (CPT, HCPCS)"
    CLINICAL = "clinical", "Clinical documents"
    PAYMENTS = "payments", "Charges, payments and balances"


def labels_of(choices: type[models.TextChoices], values: list[str]) -> list[str]:
    """Human labels of stored choice values, in the order given; unknown values as they are."""
    names = dict(choices.choices)
    return [str(names.get(value, value)) for value in values]
