"""Every audit event code, namespaced by the app that records it.

One list so that reviewers, filters and the sealed log agree on the vocabulary.
"""

from __future__ import annotations

from django.db import models


class EventCode(models.TextChoices):
    # Authentication (45 CFR 164.312(d), 164.308(a)(5)(ii)(C) log-in monitoring)
    LOGIN_SUCCEEDED = "accounts.login.succeeded", "Logged in"
    LOGIN_FAILED = "accounts.login.failed", "Log-in failed"
    LOGIN_LOCKED = "accounts.login.locked", "Account locked after repeated failures"
    LOGIN_REFUSED_LOCKED = "accounts.login.refused_locked", "Log-in refused: account locked"
    LOGGED_OUT = "accounts.logout", "Logged out"
    PASSWORD_CHANGED = "accounts.password.changed", "Password changed"
    PASSWORD_RESET = "accounts.password.reset", "Password reset"
    # Sessions (164.312(a)(2)(iii) automatic logoff)
    SESSION_IDLE_EXPIRED = "accounts.session.idle_expired", "Session ended: idle timeout"
    SESSION_LIFETIME_EXPIRED = "accounts.session.lifetime_expired", "Session ended: lifetime"
    SESSIONS_ENDED = "accounts.sessions.ended", "All sessions ended"
    # MFA
    MFA_ENABLED = "accounts.mfa.enabled", "MFA method added"
    MFA_REMOVED = "accounts.mfa.removed", "MFA method removed"
    MFA_RECOVERY_CODES_RESET = "accounts.mfa.recovery_reset", "Recovery codes regenerated"
    MFA_ENROLLMENT_REQUIRED = "accounts.mfa.enrollment_required", "Blocked until MFA enrolled"
    # Membership and roles (164.308(a)(4) access authorization and modification)
    INVITATION_SENT = "accounts.invitation.sent", "Invitation sent"
    INVITATION_ACCEPTED = "accounts.invitation.accepted", "Invitation accepted"
    INVITATION_REVOKED = "accounts.invitation.revoked", "Invitation revoked"
    MEMBER_ROLE_CHANGED = "accounts.membership.role_changed", "Member role changed"
    MEMBER_CLIENTS_CHANGED = "accounts.membership.clients_changed", "Member client access changed"
    MEMBER_DEACTIVATED = "accounts.membership.deactivated", "Member deactivated"
    MEMBER_REACTIVATED = "accounts.membership.reactivated", "Member reactivated"
    ORG_SECURITY_CHANGED = "accounts.organization.security_changed", "Security settings changed"
    CLIENT_CREATED = "accounts.client.created", "Client created"
    # API tokens
    API_TOKEN_CREATED = "accounts.api_token.created", "API token created"
    API_TOKEN_REVOKED = "accounts.api_token.revoked", "API token revoked"
    API_TOKEN_REFUSED = "accounts.api_token.refused", "API token refused"
    # Access control decisions
    ACCESS_DENIED = "core.access.denied", "Access denied"
    # The audit trail itself
    AUDIT_EXPORTED = "audit.log.exported", "Audit log exported"
    AUDIT_SEARCHED = "audit.log.searched", "Audit log searched"
    AUDIT_REVIEW_SIGNED = "audit.review.signed", "Audit review signed off"
    AUDIT_PURGED = "audit.log.purged", "Audit events past retention purged"
    # Demo data
    DEMO_SEEDED = "core.demo.seeded", "Synthetic demo data created"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"
