"""Roles and the capabilities they grant: the one reviewed place for both.

Code checks capabilities, never role names (DESIGN.md, roles and capabilities).
The auditor sees evidence but no PHI; the workforce member sees training and
policies only (45 CFR 164.308(a)(3)(ii)(A) authorization, 164.308(a)(4)
information access management, 164.502(b) minimum necessary).
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    SECURITY_OFFICER = "security_officer", "Security officer"
    BILLING_MANAGER = "billing_manager", "Billing manager"
    ELIGIBILITY_SPECIALIST = "eligibility_specialist", "Eligibility specialist"
    CODER = "coder", "Coder"
    CLAIMS_SPECIALIST = "claims_specialist", "Claims specialist"
    PAYMENT_POSTER = "payment_poster", "Payment poster"
    AR_SPECIALIST = "ar_specialist", "A/R and denials specialist"
    AUDITOR = "auditor", "Auditor (evidence only)"
    WORKFORCE_MEMBER = "workforce_member", "Workforce member"


class Capability(StrEnum):
    # Organization and people
    DASHBOARD_VIEW = "org.view_dashboard"
    MEMBERS_VIEW = "org.view_members"
    MEMBERS_MANAGE = "org.manage_members"
    SECURITY_SETTINGS_MANAGE = "org.manage_security"
    CLIENTS_VIEW = "org.view_clients"
    CLIENTS_MANAGE = "org.manage_clients"
    API_TOKENS_USE = "api.use_tokens"
    # Compliance evidence
    CHECKLIST_VIEW = "compliance.view_checklist"
    # Audit trail (45 CFR 164.312(b)); patient ids in audit events need an officer
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VIEW_PATIENT_IDS = "audit.view_patient_ids"
    AUDIT_REVIEW = "audit.review"
    # Billing PHI (the door itself applies minimum necessary per role and purpose)
    BILLING_VIEW_PHI = "billing.view_phi"
    BILLING_IMPORT = "billing.import"
    BILLING_EXPORT = "billing.export"
    BILLING_WORK_CLAIMS = "billing.work_claims"
    BILLING_POST_PAYMENTS = "billing.post_payments"
    # Two-person control of large exports (45 CFR 164.312(b), 164.502(b)): the approver
    BILLING_APPROVE_EXPORTS = "billing.approve_exports"
    # Self-pay restrictions on disclosure to a health plan (45 CFR 164.522(a)(1)(vi))
    BILLING_RECORD_RESTRICTIONS = "billing.record_restrictions"
    # The program
    INCIDENTS_REPORT = "incidents.report"
    INCIDENTS_MANAGE = "incidents.manage"
    PARTNERS_VIEW = "partners.view"
    PARTNERS_MANAGE = "partners.manage"
    POLICIES_READ = "program.read_policies"
    TRAINING_TAKE = "workforce.take_training"


C = Capability

_EVERY_MEMBER = frozenset({C.DASHBOARD_VIEW, C.POLICIES_READ, C.TRAINING_TAKE, C.INCIDENTS_REPORT})
_BILLING_STAFF = _EVERY_MEMBER | {C.BILLING_VIEW_PHI, C.CLIENTS_VIEW, C.API_TOKENS_USE}
_OFFICER = (
    _EVERY_MEMBER
    | {C.MEMBERS_VIEW, C.MEMBERS_MANAGE, C.SECURITY_SETTINGS_MANAGE, C.CLIENTS_VIEW}
    | {C.CLIENTS_MANAGE, C.API_TOKENS_USE, C.CHECKLIST_VIEW}
    | {C.AUDIT_VIEW, C.AUDIT_EXPORT, C.AUDIT_VIEW_PATIENT_IDS, C.AUDIT_REVIEW}
    | {C.BILLING_VIEW_PHI, C.BILLING_EXPORT, C.INCIDENTS_MANAGE}
    | {C.BILLING_APPROVE_EXPORTS, C.BILLING_RECORD_RESTRICTIONS}
    | {C.PARTNERS_VIEW, C.PARTNERS_MANAGE}
)

ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    # The owner runs the business but does not approve large PHI exports: that second
    # pair of eyes is the privacy or security officer's (two-person control).
    Role.OWNER: frozenset((_OFFICER - {C.BILLING_APPROVE_EXPORTS}) | {C.BILLING_IMPORT}),
    Role.PRIVACY_OFFICER: frozenset(_OFFICER),
    Role.SECURITY_OFFICER: frozenset(_OFFICER),
    Role.BILLING_MANAGER: frozenset(
        _BILLING_STAFF
        | {C.MEMBERS_VIEW, C.CHECKLIST_VIEW, C.BILLING_IMPORT, C.BILLING_WORK_CLAIMS}
        | {C.BILLING_POST_PAYMENTS, C.PARTNERS_VIEW, C.BILLING_RECORD_RESTRICTIONS}
    ),
    Role.ELIGIBILITY_SPECIALIST: frozenset(_BILLING_STAFF),
    Role.CODER: frozenset(_BILLING_STAFF),
    Role.CLAIMS_SPECIALIST: frozenset(_BILLING_STAFF | {C.BILLING_WORK_CLAIMS}),
    Role.PAYMENT_POSTER: frozenset(_BILLING_STAFF | {C.BILLING_POST_PAYMENTS}),
    Role.AR_SPECIALIST: frozenset(_BILLING_STAFF | {C.BILLING_WORK_CLAIMS}),
    # Evidence only: the checklist, the audit trail without patient ids, the partner register.
    Role.AUDITOR: frozenset(
        _EVERY_MEMBER
        | {C.MEMBERS_VIEW, C.CHECKLIST_VIEW, C.AUDIT_VIEW, C.PARTNERS_VIEW}
        | {C.API_TOKENS_USE, C.CLIENTS_VIEW}
    ),
    Role.WORKFORCE_MEMBER: _EVERY_MEMBER,
}

# Roles whose members reach every client's records without a per-client assignment.
ALL_CLIENTS_ROLES = frozenset({Role.OWNER, Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER})

# Only these roles may grant the officer and owner roles.
ROLES_ONLY_OWNERS_GRANT = frozenset({Role.OWNER, Role.PRIVACY_OFFICER, Role.SECURITY_OFFICER})


def capabilities_for(role: str) -> frozenset[Capability]:
    """Unknown roles get nothing: fail closed."""
    try:
        return ROLE_CAPABILITIES[Role(role)]
    except ValueError:
        return frozenset()


def role_has(role: str, capability: Capability) -> bool:
    return capability in capabilities_for(role)
