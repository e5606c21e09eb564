"""Evidence for access control items: K2 (MFA) and A2 (MFA, session timeouts, devices).

45 CFR 164.312(a)(1) access control, 164.312(a)(2)(iii) automatic logoff,
164.312(d) person or entity authentication.
"""

from __future__ import annotations

from django.urls import reverse

from phiwarden.accounts.mfa import users_with_mfa
from phiwarden.accounts.models import Membership, Organization
from phiwarden.compliance.registry import Evidence, EvidenceLink, Status, evidence_for

# HHS guidance and common practice: an idle lock within 15 minutes on ePHI workstations.
MAX_IDLE_MINUTES = 15
MAX_SESSION_HOURS = 12


def _mfa_share(organization: Organization) -> tuple[int, int]:
    members = Membership.objects.active().for_organization(organization).count()
    return len(users_with_mfa(organization)), members


@evidence_for("K2")
def mfa_coverage(organization: Organization) -> Evidence:
    enrolled, members = _mfa_share(organization)
    members_link = EvidenceLink(
        "Members and their MFA status",
        reverse("accounts:member-list", kwargs={"org_slug": organization.slug}),
    )
    facts: dict[str, int | float | str | bool] = {
        "members": members,
        "members_with_mfa": enrolled,
        "mfa_required": organization.mfa_required,
    }
    if members == 0:
        return Evidence(Status.NOT_MET, "The organization has no active members.", facts)
    summary = f"{enrolled} of {members} active members use a second factor"
    summary += "; MFA is required" if organization.mfa_required else "; MFA is not required"
    summary += ". External systems' MFA is not in the inventory yet."
    if enrolled == members and organization.mfa_required:
        status = Status.PARTIAL  # full marks need the external-system inventory (program module)
    elif enrolled == 0 and not organization.mfa_required:
        status = Status.NOT_MET
    else:
        status = Status.PARTIAL
    return Evidence(status, summary, facts, (members_link,))


@evidence_for("A2")
def endpoint_safeguards(organization: Organization) -> Evidence:
    enrolled, members = _mfa_share(organization)
    idle_ok = organization.idle_timeout_minutes <= MAX_IDLE_MINUTES
    lifetime_ok = organization.session_max_age_hours <= MAX_SESSION_HOURS
    mfa_ok = members > 0 and enrolled == members
    facts: dict[str, int | float | str | bool] = {
        "idle_timeout_minutes": organization.idle_timeout_minutes,
        "session_max_age_hours": organization.session_max_age_hours,
        "members": members,
        "members_with_mfa": enrolled,
    }
    parts = [
        f"idle timeout {organization.idle_timeout_minutes} min"
        + ("" if idle_ok else f" (above {MAX_IDLE_MINUTES})"),
        f"session lifetime {organization.session_max_age_hours} h"
        + ("" if lifetime_ok else f" (above {MAX_SESSION_HOURS})"),
        f"MFA {enrolled}/{members}",
        "device encryption not measured yet",
    ]
    settings_link = EvidenceLink(
        "Security settings",
        reverse("accounts:security-settings", kwargs={"org_slug": organization.slug}),
    )
    status = Status.PARTIAL if (idle_ok and lifetime_ok) or mfa_ok else Status.NOT_MET
    return Evidence(status, "; ".join(parts) + ".", facts, (settings_link,))
