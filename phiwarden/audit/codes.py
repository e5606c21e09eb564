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
    AUDIT_REVIEW_SCHEDULE_CHANGED = "audit.review.schedule_changed", "Audit review cadence changed"
    # Vault: keys and encrypted files (45 CFR 164.312(a)(2)(iv) encryption and decryption)
    VAULT_DATA_KEY_CREATED = "vault.data_key.created", "Data key created"
    VAULT_KEYS_REWRAPPED = "vault.keys.rewrapped", "Keys re-wrapped under the master key"
    VAULT_MFA_SECRETS_REWRAPPED = "vault.mfa_secrets.rewrapped", "MFA secrets re-encrypted"
    VAULT_ROTATION_STARTED = "vault.rotation.started", "Data key rotation started"
    VAULT_ROTATION_BATCH = "vault.rotation.batch", "Rows re-encrypted under the new data key"
    VAULT_ROTATION_FINISHED = "vault.rotation.finished", "Data key rotation finished"
    VAULT_BLOB_STORED = "vault.blob.stored", "Encrypted file stored"
    VAULT_BLOB_REFUSED = "vault.blob.refused", "Encrypted file refused"
    VAULT_ORPHANS_SWEPT = "vault.blob.orphans_swept", "Orphaned encrypted files deleted"
    # Partners: clients, vendors, BAAs and the PHI flow map (164.502(e), 164.504(e), 164.308(b))
    CLIENT_PROFILE_UPDATED = "partners.client_profile.updated", "Client compliance profile updated"
    VENDOR_CREATED = "partners.vendor.created", "Vendor created"
    VENDOR_UPDATED = "partners.vendor.updated", "Vendor updated"
    VENDOR_STATUS_CHANGED = "partners.vendor.status_changed", "Vendor status changed"
    DILIGENCE_RECORDED = "partners.diligence.recorded", "Vendor due diligence recorded"
    ATTESTATION_RECORDED = "partners.attestation.recorded", "Vendor attestation recorded"
    BAA_CREATED = "partners.baa.created", "BAA recorded"
    BAA_UPDATED = "partners.baa.updated", "BAA updated"
    BAA_TERMINATED = "partners.baa.terminated", "BAA terminated"
    BAA_EXPIRY_WARNED = "partners.baa.expiry_warned", "BAA expiry warning sent"
    PARTNER_DOCUMENT_STORED = "partners.document.stored", "Partner document stored (encrypted)"
    PARTNER_DOCUMENT_DOWNLOADED = "partners.document.downloaded", "Partner document downloaded"
    ATTESTATION_DOCUMENT_ATTACHED = (
        "partners.attestation.document_attached",
        "Vendor attestation report attached",
    )
    FLOW_CREATED = "partners.flow.created", "PHI flow mapped"
    FLOW_UPDATED = "partners.flow.updated", "PHI flow updated"
    FLOW_OBSERVED = "partners.flow.observed", "PHI flow observed by an import"
    FLOW_CONFIRMED = "partners.flow.confirmed", "Suggested PHI flow confirmed"
    FLOW_RETIRED = "partners.flow.retired", "PHI flow retired"
    CHANNELS_CHANGED = "partners.channels.changed", "Approved channels changed"
    FLOW_MAP_REVIEWED = "partners.flow_map.reviewed", "PHI flow map review signed off"
    PARTNERS_IMPORTED = "partners.import.applied", "Vendors or clients imported from CSV"
    PARTNERS_EXPORTED = "partners.export.downloaded", "Partner register exported"
    # Billing records (45 CFR 164.312(b); reads name the patients and fields disclosed)
    BILLING_FILE_IMPORTED = "billing.file.imported", "X12 file imported"
    BILLING_FILE_REFUSED = "billing.file.refused", "X12 file refused"
    BILLING_CLAIM_IMPORTED = "billing.claim.imported", "Claim imported"
    BILLING_PAYMENT_IMPORTED = "billing.payment.imported", "Claim payment imported"
    BILLING_PHI_VIEWED = "billing.phi.viewed", "Billing PHI viewed"
    BILLING_PATIENT_LOOKUP = "billing.patient.lookup", "Patient looked up"
    BILLING_QUEUE_VIEWED = "billing.queue.viewed", "Work queue viewed"
    BILLING_EXPORTED = "billing.export.downloaded", "Work queue exported"
    BILLING_EXPORT_REQUESTED = "billing.export.requested", "Large export requested"
    BILLING_EXPORT_APPROVED = "billing.export.approved", "Large export approved"
    BILLING_EXPORT_DENIED = "billing.export.denied", "Large export denied"
    BILLING_EXPORT_EXPIRED = "billing.export.expired", "Approved export expired unused"
    BILLING_RESTRICTION_LIFTED = "billing.restriction.lifted", "Self-pay restriction ended"
    BILLING_RESTRICTION_RECORDED = "billing.restriction.recorded", "Self-pay restriction recorded"
    # Incidents and breach notification (45 CFR 164.400-164.414)
    INCIDENT_SCOPED = "incidents.breach.scoped", "Breach scope computed"
    INCIDENT_REPORTED = "incidents.incident.reported", "Incident reported"
    INCIDENT_OFFICERS_NOTIFIED = "incidents.officers.notified", "Officers notified of an incident"
    INCIDENT_UPDATED = "incidents.incident.updated", "Incident facts changed"
    INCIDENT_VIEWED = "incidents.incident.viewed", "Incident narrative read"
    INCIDENT_STEP_DONE = "incidents.containment.done", "Containment step recorded"
    INCIDENT_EVIDENCE_SEALED = "incidents.evidence.sealed", "Evidence snapshot sealed"
    INCIDENT_ASSESSMENT_SAVED = "incidents.assessment.saved", "Risk assessment saved"
    INCIDENT_ASSESSMENT_SIGNED = "incidents.assessment.signed", "Risk assessment signed"
    INCIDENT_NOTICE_GENERATED = "incidents.notice.generated", "Breach notice generated"
    INCIDENT_NOTICE_DOWNLOADED = "incidents.notice.downloaded", "Breach notice downloaded"
    INCIDENT_NOTICE_SENT = "incidents.notice.sent", "Breach notice sent"
    INCIDENT_NOTICE_ACKNOWLEDGED = "incidents.notice.acknowledged", "Breach notice acknowledged"
    INCIDENT_ACTION_CHANGED = "incidents.action.changed", "Corrective action recorded"
    INCIDENT_CLOSED = "incidents.incident.closed", "Incident closed"
    INCIDENT_EXPORTED = "incidents.export.downloaded", "Breach log or timeline exported"
    # Demo data
    DEMO_SEEDED = "core.demo.seeded", "Synthetic demo data created"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


# Codes whose events take data out of the system: counted as exports in reviews.
def is_export(code: str) -> bool:
    return ".export" in code or code.endswith((".exported", ".downloaded"))


LOGIN_FAILURE_CODES = (
    EventCode.LOGIN_FAILED,
    EventCode.LOGIN_LOCKED,
    EventCode.LOGIN_REFUSED_LOCKED,
)
