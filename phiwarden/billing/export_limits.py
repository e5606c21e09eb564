"""How many rows each role may export without a second person's approval.

The one reviewed place for the per-role row limits of work-queue exports (45 CFR
164.312(b) audit controls, 164.502(b) minimum necessary; issue 4, export controls). A
larger export becomes an ExportRequest that a privacy officer other than the requester
approves or denies (billing.services). A role without `billing.export` has no limit at
all: it cannot export, so asking for approval is not offered either.
"""

from __future__ import annotations

from django.conf import settings

from phiwarden.accounts.models import Membership
from phiwarden.accounts.roles import Capability, Role

DEFAULT_ROW_LIMIT = 500

# Roles not named here that hold billing.export get the default (or the operator's
# BILLING_EXPORT_ROW_LIMIT, which can only lower it).
ROW_LIMITS: dict[Role, int] = {
    Role.OWNER: 500,
    Role.PRIVACY_OFFICER: 500,
    Role.SECURITY_OFFICER: 500,
    # Takes effect only if the role is granted billing.export in accounts/roles.py.
    Role.BILLING_MANAGER: 500,
}

# An approved export may be downloaded (once) within this many hours of the approval.
APPROVAL_WINDOW_HOURS = 24


def row_limit_for(membership: Membership) -> int:
    """Rows the member may export at once; 0 when the role may not export at all."""
    if not membership.can(Capability.BILLING_EXPORT):
        return 0
    try:
        limit = ROW_LIMITS.get(Role(membership.role), DEFAULT_ROW_LIMIT)
    except ValueError:
        return 0
    ceiling = int(getattr(settings, "BILLING_EXPORT_ROW_LIMIT", DEFAULT_ROW_LIMIT))
    return max(0, min(limit, ceiling))
