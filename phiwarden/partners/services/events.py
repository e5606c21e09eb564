"""The partners app's one way to audit its changes (through the one audit writer)."""

from __future__ import annotations

from django.db import models

from phiwarden.accounts.models import Membership, Organization
from phiwarden.accounts.roles import Capability
from phiwarden.accounts.selectors import capability_require
from phiwarden.audit.codes import EventCode
from phiwarden.audit.services import AuditData, audit_event_record


def manager_require(actor: Membership) -> None:
    """Every change here needs partners.manage (officers and the owner)."""
    capability_require(actor, Capability.PARTNERS_MANAGE)


def record(
    actor: Membership | None,
    organization: Organization,
    event_code: EventCode,
    target: models.Model | None,
    data: AuditData | None = None,
) -> None:
    """Audit one change inside the caller's transaction (identifiers only, never PHI).
    `actor` is None for changes the system makes itself (an import's observation)."""
    audit_event_record(
        actor=actor.user if actor is not None else None,
        organization=organization,
        event_code=event_code,
        target=target,
        data=data,
    )


def changed_fields(instance: models.Model, values: dict[str, object]) -> list[str]:
    """Set `values` on `instance` and return the names that changed (for update_fields)."""
    changed = []
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed
