"""Minimum necessary: which PHI fields each (role, purpose) pair may see.

45 CFR 164.502(b) and 164.514(d): a covered entity (and its business associate) limits
uses and disclosures of PHI to the minimum necessary, with role-based policies that name
the classes of PHI each class of workforce needs. This table is that policy; the PHI
door (billing.selectors) projects every record through it and the audit event lists the
fields it disclosed. Defaults follow ../shared/reference/x12-phi-map.md §6.

A pair that is not in the table sees nothing (fail closed). Disclosures that the rule
excepts from minimum necessary (to the individual, 164.502(b)(2)(ii); required by law,
(v)) are still limited to the record fields we hold, and still audited.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models

from phiwarden.accounts.roles import Role


class Purpose(models.TextChoices):
    """The purposes of use a billing company has (45 CFR 164.506 TPO; 164.502(b)(2))."""

    PAYMENT = "payment", "Payment (claims, posting, follow-up)"
    OPERATIONS = "operations", "Health care operations (review, compliance)"
    INDIVIDUAL = "individual", "Disclosure to the individual"
    REQUIRED_BY_LAW = "required_by_law", "Required by law"


class PhiField(StrEnum):
    PATIENT_NAME = "patient.name"
    PATIENT_BIRTH_DATE = "patient.birth_date"
    PATIENT_AGE = "patient.age"  # derived: whole years, 90+ collapsed (Safe Harbor)
    PATIENT_SEX = "patient.sex"
    PATIENT_ADDRESS = "patient.address"
    PATIENT_PHONE = "patient.phone"
    PATIENT_SSN = "patient.ssn"
    MEMBER_ID = "coverage.member_id"
    GROUP_NUMBER = "coverage.group_number"
    PAYER = "coverage.payer"
    ACCOUNT_NUMBER = "claim.account_number"
    PAYER_CLAIM_NUMBER = "claim.payer_claim_number"
    DIAGNOSES = "claim.diagnoses"
    PRIOR_AUTHORIZATION = "claim.prior_authorization"
    PROCEDURES = "claim.procedures"
    SERVICE_DATES = "claim.service_dates"
    AMOUNTS = "claim.amounts"
    STATUS = "claim.status"
    PROVIDER = "claim.provider"
    FACILITY = "claim.facility_code"
    ADJUSTMENTS = "payment.adjustments"  # CARC/RARC with amounts


F = PhiField

EVERYTHING = frozenset(F)
# The subscriber's SSN is no longer needed on 5010 claims; no routine purpose sees it.
ALL_BUT_SSN = EVERYTHING - {F.PATIENT_SSN}

_CLAIM_WORK = frozenset({F.ACCOUNT_NUMBER, F.PAYER_CLAIM_NUMBER, F.STATUS, F.AMOUNTS, F.PAYER})

PROJECTIONS: dict[tuple[Role, Purpose], frozenset[PhiField]] = {
    # Charge entry and coding review: clinical content, age not DOB, no identifiers.
    (Role.CODER, Purpose.PAYMENT): frozenset(
        {F.DIAGNOSES, F.PROCEDURES, F.FACILITY, F.SERVICE_DATES, F.PATIENT_AGE, F.PATIENT_SEX}
        | {F.PAYER, F.PROVIDER, F.STATUS, F.ACCOUNT_NUMBER}
    ),
    # Claim submission and EDI operations: the 837 as sent (transmission for payment).
    (Role.CLAIMS_SPECIALIST, Purpose.PAYMENT): ALL_BUT_SSN,
    # Eligibility: who is covered by which plan; no diagnoses or procedures.
    (Role.ELIGIBILITY_SPECIALIST, Purpose.PAYMENT): frozenset(
        {F.PATIENT_NAME, F.PATIENT_BIRTH_DATE, F.PATIENT_SEX, F.MEMBER_ID, F.GROUP_NUMBER}
        | {F.PAYER, F.SERVICE_DATES, F.ACCOUNT_NUMBER}
    ),
    # Payment posting: the 835 view; no DOB, SSN or addresses.
    (Role.PAYMENT_POSTER, Purpose.PAYMENT): _CLAIM_WORK
    | {F.PATIENT_NAME, F.SERVICE_DATES, F.ADJUSTMENTS, F.PROCEDURES, F.PROVIDER},
    # A/R follow-up and denials: claim numbers, dates, amounts, name, age not DOB.
    (Role.AR_SPECIALIST, Purpose.PAYMENT): _CLAIM_WORK
    | {F.PATIENT_NAME, F.PATIENT_AGE, F.SERVICE_DATES, F.ADJUSTMENTS, F.PROCEDURES}
    | {F.PROVIDER, F.PRIOR_AUTHORIZATION, F.MEMBER_ID},
    # Managers run the queues and statements: no clinical content, no SSN.
    (Role.BILLING_MANAGER, Purpose.PAYMENT): _CLAIM_WORK
    | {F.PATIENT_NAME, F.PATIENT_AGE, F.PATIENT_ADDRESS, F.SERVICE_DATES, F.ADJUSTMENTS}
    | {F.PROVIDER, F.MEMBER_ID},
    (Role.BILLING_MANAGER, Purpose.OPERATIONS): _CLAIM_WORK
    | {F.PATIENT_AGE, F.SERVICE_DATES, F.ADJUSTMENTS, F.PROVIDER},
}

# Officers and owners: compliance review (operations) without the SSN; a request by the
# individual or a legal requirement gets the whole record (164.502(b)(2)(ii), (v)).
for _role in (Role.OWNER, Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER):
    PROJECTIONS[(_role, Purpose.OPERATIONS)] = ALL_BUT_SSN
    PROJECTIONS[(_role, Purpose.INDIVIDUAL)] = EVERYTHING
    PROJECTIONS[(_role, Purpose.REQUIRED_BY_LAW)] = EVERYTHING
    PROJECTIONS[(_role, Purpose.PAYMENT)] = ALL_BUT_SSN


def allowed_fields(role: str, purpose: str) -> frozenset[PhiField]:
    """The fields the pair may see; an unknown role or purpose sees none (fail closed)."""
    try:
        return PROJECTIONS.get((Role(role), Purpose(purpose)), frozenset())
    except ValueError:
        return frozenset()


def purposes_for(role: str) -> list[Purpose]:
    """The purposes a role may read for, in the order offered on the pages."""
    return [p for p in Purpose if allowed_fields(role, p)]


WITHHELD_REASON = (
    "Not needed for {purpose} by your role (minimum necessary, 45 CFR 164.502(b)). "
    "Ask a privacy officer if your work needs it."
)
